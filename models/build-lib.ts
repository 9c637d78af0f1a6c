/**
 * Writes the analyzer models (hand-set first versions and the trained ones): a standardised
 * logistic regression expressed as an ONNX graph (ONNX IR 8, opset 13). Graph (operator semantics per the ONNX
 * operator spec, opset 13):
 *
 *   x [1,D] → Sub(mean) → Div(std) → Mul(weight) = contributions [1,D]
 *   contributions → ReduceSum(axes=[1], keepdims=1) → Add(bias) → Sigmoid = score [1,1]
 *
 * A model may log-transform some features first (`logOffset`, trained models: heavy-tailed
 * ratios such as moiré energy span four decades): x′ = m·log(max(x, 0) + c) + (1 − m)·x, per feature,
 * with m = 1 and c = the offset where an offset is given, m = 0 and c = 1 elsewhere (the Log
 * branch is then computed but discarded, and stays finite for the non-negative features here).
 *
 * A trained model may also carry the training split's range per feature (`lower`, `upper`): x is
 * then first clamped into it (Max(lower), Min(upper)), so a value beyond anything seen in training
 * contributes like the training extreme instead of extrapolating the linear term without bound.
 * Clamping comes before the log transform when a model has both. Models without a range (the hand-set ones) encode exactly as before.
 *
 * Feature order comes from the Worker's vector.ts and is written into the model metadata
 * (`facet.features`) so the Worker refuses a model built for another order. Output is
 * deterministic: rebuilding unchanged parameters gives the same bytes and sha256.
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import onnxProto, { type onnx as proto } from "onnx-proto";
import type { AnalyzerVector } from "../lib/analyzer-runtime.ts";
import { META_FEATURES, META_VERSION } from "../lib/onnx/metadata.ts";

const { onnx } = onnxProto;

export interface FeatureParams {
  /** standardisation centre, in the feature's unit */
  mean: number;
  /** standardisation spread, in the feature's unit (> 0) */
  std: number;
  /** logit change per standard deviation; positive = more risk */
  weight: number;
}

export interface LogisticModel {
  analyzer: string;
  /** written to metadata; AnalyzerResult.modelVersion */
  version: string;
  features: string[];
  mean: number[];
  std: number[];
  weight: number[];
  bias: number;
  /** per feature: > 0 → the model sees log(x + offset) instead of x; absent or 0 → x */
  logOffset?: number[];
  /** ONNX doc string (default: the first-version hand-set description) */
  doc?: string;
  /** training-split range per feature; when present, x is clamped into it first */
  lower?: number[];
  upper?: number[];
}

/** The model's view of one raw feature value (the `logOffset` transform). */
export function transformed(model: LogisticModel, i: number, x: number): number {
  const c = model.logOffset?.[i] ?? 0;
  return c > 0 ? Math.log(Math.max(0, x) + c) : x;
}

/**
 * Orders hand-set parameters by the vector's feature list. Every feature needs parameters and no
 * parameter may name an unknown feature, so a renamed feature fails the build, not production.
 * `mean` defaults to the feature's `neutral` value: then missing evidence contributes zero.
 */
export function defineModel<S>(
  vector: AnalyzerVector<S>,
  version: string,
  bias: number,
  params: Record<string, Omit<FeatureParams, "mean"> & { mean?: number }>,
): LogisticModel {
  const names = vector.features.map((f) => f.name);
  const unknown = Object.keys(params).filter((k) => !names.includes(k));
  if (unknown.length > 0) throw new Error(`${vector.analyzer}: parameters for unknown features ${unknown}`);
  const model: LogisticModel = {
    analyzer: vector.analyzer,
    version,
    features: names,
    mean: [],
    std: [],
    weight: [],
    bias,
  };
  for (const f of vector.features) {
    const p = params[f.name];
    if (p === undefined) throw new Error(`${vector.analyzer}: no parameters for feature ${f.name}`);
    if (!(p.std > 0)) throw new Error(`${vector.analyzer}: std of ${f.name} must be > 0`);
    model.mean.push(p.mean ?? f.neutral);
    model.std.push(p.std);
    model.weight.push(p.weight);
  }
  return model;
}

/** The same computation in float64, for reference checks against ONNX Runtime. */
export function referenceScore(model: LogisticModel, x: ArrayLike<number>): number {
  let logit = model.bias;
  for (let i = 0; i < model.features.length; i++) {
    const v = transformed(
      model,
      i,
      Math.min(model.upper?.[i] ?? Infinity, Math.max(model.lower?.[i] ?? -Infinity, x[i] ?? 0)),
    );
    logit += ((v - (model.mean[i] ?? 0)) / (model.std[i] ?? 1)) * (model.weight[i] ?? 0);
  }
  return 1 / (1 + Math.exp(-logit));
}

const FLOAT = onnx.TensorProto.DataType.FLOAT;
const INT64 = onnx.TensorProto.DataType.INT64;

function floatTensor(name: string, dims: number[], values: number[]): proto.ITensorProto {
  return { name, dataType: FLOAT, dims, floatData: values };
}

function valueInfo(name: string, dims: number[]): proto.IValueInfoProto {
  return {
    name,
    type: { tensorType: { elemType: FLOAT, shape: { dim: dims.map((d) => ({ dimValue: d })) } } },
  };
}

/** Serialises the model to ONNX protobuf bytes. */
export function encodeModel(model: LogisticModel, docString?: string): Uint8Array {
  const d = model.features.length;
  const ranged = model.lower !== undefined && model.upper !== undefined;
  const clamped = ranged ? "x_clamped" : "x";
  const clampNodes: proto.INodeProto[] = ranged
    ? [
        { opType: "Max", input: ["x", "lower"], output: ["x_low"], name: "floor" },
        { opType: "Min", input: ["x_low", "upper"], output: ["x_clamped"], name: "ceil" },
      ]
    : [];
  const range = ranged
    ? [floatTensor("lower", [d], model.lower ?? []), floatTensor("upper", [d], model.upper ?? [])]
    : [];
  const logs = model.logOffset?.some((c) => c > 0) === true;
  const mask = model.features.map((_, i) => ((model.logOffset?.[i] ?? 0) > 0 ? 1 : 0));
  const offset = model.features.map((_, i) =>
    (model.logOffset?.[i] ?? 0) > 0 ? (model.logOffset?.[i] ?? 1) : 1,
  );
  const transform: proto.INodeProto[] = logs
    ? [
        { opType: "Relu", input: [clamped], output: ["x_pos"], name: "non_negative" },
        { opType: "Add", input: ["x_pos", "log_offset"], output: ["shifted"], name: "shift" },
        { opType: "Log", input: ["shifted"], output: ["logged"], name: "log" },
        { opType: "Mul", input: ["logged", "log_mask"], output: ["logged_part"], name: "pick_log" },
        { opType: "Mul", input: [clamped, "raw_mask"], output: ["raw_part"], name: "pick_raw" },
        { opType: "Add", input: ["logged_part", "raw_part"], output: ["xt"], name: "blend" },
      ]
    : [];
  const transformInit: proto.ITensorProto[] = logs
    ? [
        floatTensor("log_offset", [d], offset),
        floatTensor("log_mask", [d], mask),
        floatTensor(
          "raw_mask",
          [d],
          mask.map((m) => 1 - m),
        ),
      ]
    : [];
  const graph: proto.IGraphProto = {
    name: `facet_${model.analyzer}_logistic`,
    input: [valueInfo("x", [1, d])],
    output: [valueInfo("score", [1, 1]), valueInfo("contributions", [1, d])],
    initializer: [
      floatTensor("mean", [d], model.mean),
      floatTensor("std", [d], model.std),
      floatTensor("weight", [d], model.weight),
      floatTensor("bias", [1, 1], [model.bias]),
      { name: "axes", dataType: INT64, dims: [1], int64Data: [1] },
      ...range,
      ...transformInit,
    ],
    node: [
      ...clampNodes,
      ...transform,
      { opType: "Sub", input: [logs ? "xt" : clamped, "mean"], output: ["centred"], name: "centre" },
      { opType: "Div", input: ["centred", "std"], output: ["z"], name: "scale" },
      { opType: "Mul", input: ["z", "weight"], output: ["contributions"], name: "weigh" },
      {
        opType: "ReduceSum",
        input: ["contributions", "axes"],
        output: ["logit_raw"],
        name: "sum",
        attribute: [{ name: "keepdims", type: onnx.AttributeProto.AttributeType.INT, i: 1 }],
      },
      { opType: "Add", input: ["logit_raw", "bias"], output: ["logit"], name: "offset" },
      { opType: "Sigmoid", input: ["logit"], output: ["score"], name: "squash" },
    ],
  };
  const proto = onnx.ModelProto.create({
    irVersion: 8,
    opsetImport: [{ domain: "", version: 13 }],
    producerName: "facet models/build-lib.ts",
    producerVersion: "1",
    modelVersion: 1,
    docString:
      docString ??
      model.doc ??
      `Facet ${model.analyzer} analyzer, first version: hand-set standardised logistic regression.`,
    graph,
    metadataProps: [
      { key: META_VERSION, value: model.version },
      { key: META_FEATURES, value: model.features.join(",") },
    ],
  });
  return onnx.ModelProto.encode(proto).finish();
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** `sha256(model.onnx): \`<hex>\`` — the line card.md carries and the tests compare. */
export const CARD_SHA_PATTERN = /sha256\(model\.onnx\): `([0-9a-f]{64})`/;

/** Writes `<dir>/model.onnx`, refreshes the sha256 line of `<dir>/card.md`, returns the hash. */
export function writeModel(model: LogisticModel, dir: string): string {
  const bytes = encodeModel(model);
  const sha = sha256Hex(bytes);
  writeFileSync(join(dir, "model.onnx"), bytes);
  const card = join(dir, "card.md");
  if (existsSync(card)) {
    const text = readFileSync(card, "utf8");
    if (!CARD_SHA_PATTERN.test(text)) throw new Error(`${card} has no "sha256(model.onnx): \`…\`" line`);
    writeFileSync(card, text.replace(CARD_SHA_PATTERN, `sha256(model.onnx): \`${sha}\``));
  }
  console.log(`${model.analyzer}: ${join(dir, "model.onnx")} ${bytes.length} bytes sha256 ${sha}`);
  return sha;
}
