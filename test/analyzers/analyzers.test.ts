/**
 * The six analyzer Workers, bundled as deploy bundles them and run in workerd with real
 * onnxruntime-web inference, called over RPC from a tiny driver Worker (house-style 9: real
 * runtime, no mocks). One Miniflare instance serves the whole file. Each analyzer must separate
 * a genuine from a risky slice, return contract-valid results whose score matches the logistic
 * model recomputed in TypeScript from models/<name>/build.ts, report low confidence without
 * evidence, and reject contract violations with ERR_ANALYZER_INPUT across RPC.
 */
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { convertV4MiniflareOptions, Miniflare } from "miniflare";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ANALYZERS,
  AnalyzerInputSchemas,
  type AnalyzerName,
  type AnalyzerResult,
  AnalyzerResultSchema,
} from "../../lib/analyzer-contract.ts";
import { type AnalyzerVector, analyzerErrorCode, buildVector } from "../../lib/analyzer-runtime.ts";
import { BEHAVIOR_MODEL } from "../../models/behavior/build.ts";
import {
  CARD_SHA_PATTERN,
  encodeModel,
  type LogisticModel,
  referenceScore,
  sha256Hex,
} from "../../models/build-lib.ts";
import { COERCION_MODEL } from "../../models/coercion/build.ts";
import { CONVERSATION_MODEL } from "../../models/conversation/build.ts";
import { DEVICE_RISK_MODEL } from "../../models/device-risk/build.ts";
import { ENVIRONMENT_MODEL } from "../../models/environment/build.ts";
import { LIVENESS_MODEL } from "../../models/liveness/build.ts";
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
  model: LogisticModel;
  modelDir: string;
  vector: AnalyzerVector<never>;
}

// `never` slices: the vectors are only fed inputs the contract schema has parsed.
const SUBJECTS: Record<AnalyzerName, Subject> = {
  liveness: { model: LIVENESS_MODEL, modelDir: "models/liveness", vector: LIVENESS_VECTOR },
  coercion: { model: COERCION_MODEL, modelDir: "models/coercion", vector: COERCION_VECTOR },
  environment: { model: ENVIRONMENT_MODEL, modelDir: "models/environment", vector: ENVIRONMENT_VECTOR },
  behavior: { model: BEHAVIOR_MODEL, modelDir: "models/behavior", vector: BEHAVIOR_VECTOR },
  device_risk: { model: DEVICE_RISK_MODEL, modelDir: "models/device-risk", vector: DEVICE_RISK_VECTOR },
  conversation: { model: CONVERSATION_MODEL, modelDir: "models/conversation", vector: CONVERSATION_VECTOR },
};

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

/** The score the model should produce, recomputed in float64 from build.ts's constants. */
function expectedScore(name: AnalyzerName, body: unknown): number {
  const { model, vector } = SUBJECTS[name];
  const slice = AnalyzerInputSchemas[name].parse(body) as never;
  return referenceScore(model, buildVector(vector, slice).values);
}

describe.each(ANALYZERS)("analyzer %s", (name) => {
  const cases = CASES[name];
  const { model, vector } = SUBJECTS[name];

  it("scores a risky slice above a genuine one, matching the TS reference to 1e-4", async () => {
    const genuine = await analyzeOk(name, cases.genuine);
    const risky = await analyzeOk(name, cases.risky);
    expect(genuine.analyzer).toBe(name);
    expect(genuine.modelVersion).toBe(model.version);
    expect(risky.score - genuine.score).toBeGreaterThan(0.3);
    expect(Math.abs(genuine.score - expectedScore(name, cases.genuine))).toBeLessThan(1e-4);
    expect(Math.abs(risky.score - expectedScore(name, cases.risky))).toBeLessThan(1e-4);
    // one signal per feature, keyed by reason code, contributions summing to the logit
    expect(Object.keys(risky.signals)).toEqual(vector.features.map((f) => f.reasonCode));
    const logit = Object.values(risky.signals).reduce((a, s) => a + s.contribution, model.bias);
    expect(1 / (1 + Math.exp(-logit))).toBeCloseTo(risky.score, 4);
    expect(genuine.confidence).toBeGreaterThan(0.5);
  });

  it("reports low confidence and a base-rate score without evidence", async () => {
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

  it("ships the model.onnx that build.ts produces, with its sha256 in card.md", () => {
    const dir = join(REPO, SUBJECTS[name].modelDir);
    const sha = sha256Hex(readFileSync(join(dir, "model.onnx")));
    expect(readFileSync(join(dir, "card.md"), "utf8").match(CARD_SHA_PATTERN)?.[1]).toBe(sha);
    expect(sha256Hex(encodeModel(model))).toBe(sha);
  });
});
