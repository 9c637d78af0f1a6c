/**
 * Writes the first-version analyzer models: a standardised logistic regression expressed as an
 * ONNX graph (ONNX IR 8, opset 13), so the Workers already run the real inference path that the
 * trained models of the evaluation issue will replace. Graph (operator semantics per the ONNX
 * operator spec, opset 13):
 *
 *   x [1,D] → Sub(mean) → Div(std) → Mul(weight) = contributions [1,D]
 *   contributions → ReduceSum(axes=[1], keepdims=1) → Add(bias) → Sigmoid = score [1,1]
 *
 * A trained model may also carry the training split's range per feature (`lower`, `upper`): x is
 * then first clamped into it (Max(lower), Min(upper)), so a value beyond anything seen in training
 * contributes like the training extreme instead of extrapolating the linear term without bound.
 * Models without a range (the hand-set ones) encode exactly as before.
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
  /** training-split range per feature; when present, x is clamped into it first */
  lower?: number[];
  upper?: number[];
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
    const v = Math.min(model.upper?.[i] ?? Infinity, Math.max(model.lower?.[i] ?? -Infinity, x[i] ?? 0));
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
    ],
    node: [
      ...clampNodes,
      { opType: "Sub", input: [clamped, "mean"], output: ["centred"], name: "centre" },
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
