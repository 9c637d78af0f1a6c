/**
 * The six analyzer Workers, bundled as deploy bundles them and run in workerd with real
 * onnxruntime-web inference, called over RPC from a tiny driver Worker (house-style 9: real
 * runtime, no mocks). One Miniflare instance serves the whole file. For each analyzer the Worker
 * must reproduce the float64 TypeScript forward pass of the model it actually ships to 1e-4 on
 * two different slices and score them differently, return contract-valid results whose
 * contributions sum to the logit, report low confidence without evidence, and reject contract
 * violations with ERR_ANALYZER_INPUT across RPC.
 *
 * Which reference: the five scenario analyzers ship trained models, and the reference is the
 * trainer's own parameters (models/<name>/trained.json, the output of models/<name>/train.ts);
 * the shipped bytes must be exactly what those parameters encode to. Liveness may be hand-set or
 * trained (another change owns it), so its reference is decoded from the shipped model.onnx
 * itself (onnx-proto), with the card's sha256 checked against the file either way.
 */
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { convertV4MiniflareOptions, Miniflare } from "miniflare";
import onnxProto from "onnx-proto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ANALYZERS,
  AnalyzerInputSchemas,
  type AnalyzerName,
  type AnalyzerResult,
  AnalyzerResultSchema,
} from "../../lib/analyzer-contract.ts";
import { type AnalyzerVector, analyzerErrorCode, buildVector } from "../../lib/analyzer-runtime.ts";
import { META_FEATURES, META_VERSION } from "../../lib/onnx/metadata.ts";
import { BEHAVIOR_TRAINED } from "../../models/behavior/build.ts";
import {
  CARD_SHA_PATTERN,
  encodeModel,
  type LogisticModel,
  referenceScore,
  sha256Hex,
} from "../../models/build-lib.ts";
import { COERCION_TRAINED } from "../../models/coercion/build.ts";
import { CONVERSATION_TRAINED } from "../../models/conversation/build.ts";
import { DEVICE_RISK_TRAINED } from "../../models/device-risk/build.ts";
import { ENVIRONMENT_TRAINED } from "../../models/environment/build.ts";
import type { Trained } from "../../models/train-run.ts";
import { ANALYZER_WORKERS, analyzerWorkerBuild } from "../../scripts/lib/analyzer-workers.ts";
import { BEHAVIOR_VECTOR } from "../../workers/analyzer-behavior/vector.ts";
import { COERCION_VECTOR } from "../../workers/analyzer-coercion/vector.ts";
import { CONVERSATION_VECTOR } from "../../workers/analyzer-conversation/vector.ts";
import { DEVICE_RISK_VECTOR } from "../../workers/analyzer-device-risk/vector.ts";
import { ENVIRONMENT_VECTOR } from "../../workers/analyzer-environment/vector.ts";
import { LIVENESS_VECTOR } from "../../workers/analyzer-liveness/vector.ts";
import { CASES } from "./inputs.ts";

const REPO = resolve(import.meta.dirname, "..", "..");

interface Subject {
  modelDir: string;
  vector: AnalyzerVector<never>;
  /** the trainer's output for trained analyzers; null = decode the shipped ONNX (liveness) */
  trained: Trained | null;
}

// `never` slices: the vectors are only fed inputs the contract schema has parsed.
const SUBJECTS: Record<AnalyzerName, Subject> = {
  liveness: { modelDir: "models/liveness", vector: LIVENESS_VECTOR, trained: null },
  coercion: { modelDir: "models/coercion", vector: COERCION_VECTOR, trained: COERCION_TRAINED },
  environment: { modelDir: "models/environment", vector: ENVIRONMENT_VECTOR, trained: ENVIRONMENT_TRAINED },
  behavior: { modelDir: "models/behavior", vector: BEHAVIOR_VECTOR, trained: BEHAVIOR_TRAINED },
  device_risk: { modelDir: "models/device-risk", vector: DEVICE_RISK_VECTOR, trained: DEVICE_RISK_TRAINED },
  conversation: {
    modelDir: "models/conversation",
    vector: CONVERSATION_VECTOR,
    trained: CONVERSATION_TRAINED,
  },
};

const shippedBytes = (name: AnalyzerName): Buffer =>
  readFileSync(join(REPO, SUBJECTS[name].modelDir, "model.onnx"));

/**
 * The logistic parameters inside a shipped model.onnx (the graph models/build-lib.ts writes):
 * initializers mean, std, weight, bias (and lower, upper when the model clamps its input; log_offset,
 * log_mask when it log-transforms some features) and the metadata; float32 values widened to float64.
 */
function decodeShipped(bytes: Uint8Array): LogisticModel {
  const m = onnxProto.onnx.ModelProto.decode(bytes);
  const has = (name: string): boolean => Boolean(m.graph?.initializer?.some((i) => i.name === name));
  const init = (name: string): number[] => {
    const t = m.graph?.initializer?.find((i) => i.name === name);
    if (!t) throw new Error(`model.onnx has no initializer ${name}`);
    if (t.floatData && t.floatData.length > 0) return Array.from(t.floatData);
    const raw = t.rawData ?? new Uint8Array();
    return Array.from(new Float32Array(raw.slice().buffer));
  };
  const meta = Object.fromEntries((m.metadataProps ?? []).map((p) => [p.key ?? "", p.value ?? ""]));
  return {
    analyzer: "shipped",
    version: meta[META_VERSION] ?? "",
    features: (meta[META_FEATURES] ?? "").split(","),
    mean: init("mean"),
    std: init("std"),
    weight: init("weight"),
    bias: init("bias")[0] ?? 0,
    // trained models clamp x into the training range first (models/build-lib.ts)
    ...(has("lower") && has("upper") ? { lower: init("lower"), upper: init("upper") } : {}),
    // and may log-transform some features: log_mask picks them, log_offset holds their offsets
    ...(has("log_offset") && has("log_mask")
      ? { logOffset: init("log_offset").map((c, i) => ((init("log_mask")[i] ?? 0) > 0 ? c : 0)) }
      : {}),
  };
}

/** The model the TypeScript reference computes: the trainer's parameters, or the decoded ONNX. */
function referenceModel(name: AnalyzerName): LogisticModel {
  return SUBJECTS[name].trained?.model ?? decodeShipped(shippedBytes(name));
}

/** Calls `env[binding].analyze(body)` and reports the result or the error as it crossed RPC. */
const DRIVER = `
export default {
  async fetch(request, env) {
    const service = env[new URL(request.url).pathname.slice(1)];
    if (!service) return new Response("unknown binding", { status: 404 });
    try {
      return Response.json({ ok: true, result: await service.analyze(await request.json()) });
    } catch (err) {
      return Response.json({ ok: false, message: String(err && err.message) });
    }
  },
};`;

type Reply = { ok: true; result: AnalyzerResult } | { ok: false; message: string };

let mf: Miniflare;

beforeAll(async () => {
  const build = await analyzerWorkerBuild(join(REPO, ".dev", "test-bundles"));
  const serviceBindings = Object.fromEntries(
    Object.values(ANALYZER_WORKERS).map((w) => [w.binding, { name: w.workerName }]),
  );
  mf = new Miniflare(
    convertV4MiniflareOptions({
      workers: [
        { name: "driver", modules: true, script: DRIVER, compatibilityDate: "2026-07-01", serviceBindings },
        ...build.options,
      ],
    }),
  );
  await mf.ready;
});

afterAll(async () => {
  await mf?.dispose();
});

async function analyze(name: AnalyzerName, body: unknown): Promise<Reply> {
  const res = await mf.dispatchFetch(`http://driver/${ANALYZER_WORKERS[name].binding}`, {
    method: "POST",
    body: JSON.stringify(body),
  });
  expect(res.status).toBe(200);
  return (await res.json()) as Reply;
}

async function analyzeOk(name: AnalyzerName, body: unknown): Promise<AnalyzerResult> {
  const reply = await analyze(name, body);
  if (!reply.ok) throw new Error(`analyze(${name}) failed: ${reply.message}`);
  return AnalyzerResultSchema.parse(reply.result);
}

/** The score the model should produce, recomputed in float64 from the reference parameters. */
function expectedScore(name: AnalyzerName, body: unknown): number {
  const slice = AnalyzerInputSchemas[name].parse(body) as never;
  return referenceScore(referenceModel(name), buildVector(SUBJECTS[name].vector, slice).values);
}

describe.each(ANALYZERS)("analyzer %s", (name) => {
  const cases = CASES[name];
  const { vector } = SUBJECTS[name];

  it("reproduces the TS forward pass to 1e-4 on two slices and scores them apart", async () => {
    const model = referenceModel(name);
    const genuine = await analyzeOk(name, cases.genuine);
    const risky = await analyzeOk(name, cases.risky);
    expect(genuine.analyzer).toBe(name);
    expect(genuine.modelVersion).toBe(model.version);
    expect(Math.abs(genuine.score - expectedScore(name, cases.genuine))).toBeLessThan(1e-4);
    expect(Math.abs(risky.score - expectedScore(name, cases.risky))).toBeLessThan(1e-4);
    // the hand-written risky slice is risky along this analyzer's dimension by construction
    expect(risky.score - genuine.score).toBeGreaterThan(0.3);
    // one signal per feature, keyed by reason code, contributions summing to the logit
    expect(Object.keys(risky.signals)).toEqual(vector.features.map((f) => f.reasonCode));
    const logit = Object.values(risky.signals).reduce((a, s) => a + s.contribution, model.bias);
    expect(1 / (1 + Math.exp(-logit))).toBeCloseTo(risky.score, 4);
    expect(genuine.confidence).toBeGreaterThan(0.5);
  });

  it("reports low confidence and the reference score without evidence", async () => {
    const empty = await analyzeOk(name, cases.empty);
    expect(empty.confidence).toBeLessThan(0.2);
    expect(Math.abs(empty.score - expectedScore(name, cases.empty))).toBeLessThan(1e-4);
  });

  it("rejects a contract violation with ERR_ANALYZER_INPUT across RPC", async () => {
    const reply = await analyze(name, cases.invalid);
    expect(reply.ok).toBe(false);
    if (reply.ok) return;
    expect(reply.message).toMatch(/^ERR_ANALYZER_INPUT: /);
    expect(analyzerErrorCode(new Error(reply.message))).toBe("ERR_ANALYZER_INPUT");
  });

  it("ships a model.onnx whose sha256 is in card.md and whose order is vector.ts's", () => {
    const bytes = shippedBytes(name);
    const sha = sha256Hex(bytes);
    const card = readFileSync(join(REPO, SUBJECTS[name].modelDir, "card.md"), "utf8");
    expect(card.match(CARD_SHA_PATTERN)?.[1]).toBe(sha);
    expect(decodeShipped(bytes).features).toEqual(vector.features.map((f) => f.name));
    const trained = SUBJECTS[name].trained;
    if (trained) {
      // exactly the bytes the trainer's parameters encode to (models/build-all.ts rebuilds them)
      expect(sha256Hex(encodeModel(trained.model, trained.doc))).toBe(sha);
      expect(trained.model.version).toMatch(/-trained-/);
    }
  });
});
