/**
 * Analyzer inference inside workerd against onnxruntime in Node, on the same six models
 * (models/<name>/model.onnx) and the same inputs (test/analyzers/inputs.ts, the "genuine" slice of
 * each analyzer).
 *
 * workerd side: the real analyzer Worker bundles (scripts/lib/analyzer-workers.ts) in their own
 * Miniflare, plus a driver Worker that calls `analyze()` over the service binding N times per
 * request. workerd freezes timers during pure CPU work (lib/onnx/analyze.ts), so times are taken
 * outside: the workerd process's CPU (/proc/<pid>/stat) over the batch ÷ N, and Node's wall time.
 * "Cold" is the first call into a fresh isolate: wasm instantiation, session creation and the
 * first run. The figure includes the RPC hop and the contract's zod validation, which a real call
 * from the session DO pays too.
 *
 * Node side: onnxruntime-web (the same package and wasm; onnxruntime-node is not installed), one
 * thread, on the same vector (buildVector with the Worker's own vector.ts) after the same zod
 * validation. Cold = session creation + first run; the one-time wasm instantiation of the
 * process is reported apart, since Node pays it once for all six models.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { convertV4MiniflareOptions, Miniflare, type V4WorkerOptions } from "miniflare";
import * as ort from "onnxruntime-web";
import { ANALYZERS, AnalyzerInputSchemas, type AnalyzerName } from "../lib/analyzer-contract.ts";
import { type AnalyzerVector, buildVector } from "../lib/analyzer-runtime.ts";
import { ANALYZER_WORKERS, analyzerWorkerOptions } from "../scripts/lib/analyzer-workers.ts";
import { REPO } from "../scripts/lib/platform.ts";
import { CASES } from "../test/analyzers/inputs.ts";
import { BEHAVIOR_VECTOR } from "../workers/analyzer-behavior/vector.ts";
import { COERCION_VECTOR } from "../workers/analyzer-coercion/vector.ts";
import { CONVERSATION_VECTOR } from "../workers/analyzer-conversation/vector.ts";
import { DEVICE_RISK_VECTOR } from "../workers/analyzer-device-risk/vector.ts";
import { ENVIRONMENT_VECTOR } from "../workers/analyzer-environment/vector.ts";
import { LIVENESS_VECTOR } from "../workers/analyzer-liveness/vector.ts";
import { newWorkerd, workerdPids } from "./machine.ts";
import { processCpuMs, selfCpuMs } from "./tokenizer/measure.ts";

const VECTORS: Record<AnalyzerName, AnalyzerVector<never>> = {
  liveness: LIVENESS_VECTOR as AnalyzerVector<never>,
  coercion: COERCION_VECTOR as AnalyzerVector<never>,
  environment: ENVIRONMENT_VECTOR as AnalyzerVector<never>,
  behavior: BEHAVIOR_VECTOR as AnalyzerVector<never>,
  device_risk: DEVICE_RISK_VECTOR as AnalyzerVector<never>,
  conversation: CONVERSATION_VECTOR as AnalyzerVector<never>,
};

export interface AnalyzerRow {
  analyzer: AnalyzerName;
  workerd: { coldCpuMs: number; coldWallMs: number; warmCpuMs: number; warmWallMs: number };
  node: { coldCpuMs: number; warmCpuMs: number; warmWallMs: number };
}

export interface AnalyzerFigures {
  calls: number;
  /** workerd CPU per call of a no-op analyze() with the liveness slice: the RPC hop alone */
  rpcHopCpuMs: number;
  nodeWasmInitCpuMs: number;
  rows: AnalyzerRow[];
}

const DRIVER = `
export default {
  async fetch(request, env) {
    const { binding, input, calls } = await request.json();
    for (let i = 0; i < calls; i++) await env[binding].analyze(input);
    return new Response("ok");
  },
};`;

/** The same RPC hop with the same argument and no work: what a call costs before any inference. */
const ECHO = `
import { WorkerEntrypoint } from "cloudflare:workers";
export default class extends WorkerEntrypoint {
  async analyze() { return null; }
  async fetch() { return new Response(null, { status: 404 }); }
}`;

function modelPath(name: AnalyzerName): string {
  return join(REPO, "models", name.replace("_", "-"), "model.onnx");
}

async function workerdSide(
  distDir: string,
  calls: number,
  log: (line: string) => void,
): Promise<{ rpcHopCpuMs: number; rows: Record<AnalyzerName, AnalyzerRow["workerd"]> }> {
  const analyzers = await analyzerWorkerOptions(distDir);
  const before = workerdPids();
  const serviceBindings = Object.fromEntries(
    Object.values(ANALYZER_WORKERS).map((w) => [w.binding, w.workerName]),
  );
  const driver: V4WorkerOptions = {
    name: "bench-driver",
    modules: true,
    script: DRIVER,
    compatibilityDate: "2026-07-01",
    serviceBindings: { ...serviceBindings, ECHO: "bench-echo" },
  };
  const echo: V4WorkerOptions = {
    name: "bench-echo",
    modules: true,
    script: ECHO,
    compatibilityDate: "2026-07-01",
  };
  const mf = new Miniflare(
    convertV4MiniflareOptions({ workers: [driver, echo, ...analyzers] } as Parameters<
      typeof convertV4MiniflareOptions
    >[0]),
  );
  try {
    await mf.ready;
    const pid = newWorkerd(before);
    const call = async (
      name: AnalyzerName,
      n: number,
      binding: string = ANALYZER_WORKERS[name].binding,
    ): Promise<{ cpuMs: number; wallMs: number }> => {
      const cpu0 = processCpuMs(pid);
      const t0 = performance.now();
      const res = await mf.dispatchFetch("http://driver/", {
        method: "POST",
        body: JSON.stringify({ binding, input: CASES[name].genuine, calls: n }),
      });
      if (res.status !== 200) throw new Error(`${name} in workerd: ${res.status} ${await res.text()}`);
      await res.text();
      return { cpuMs: (processCpuMs(pid) - cpu0) / n, wallMs: (performance.now() - t0) / n };
    };
    await call("liveness", 0); // the driver's own isolate starts here, not in the first cold call
    await call("liveness", 10, "ECHO");
    const rpcHopCpuMs = (await call("liveness", calls, "ECHO")).cpuMs;
    log(`  workerd RPC hop alone: ${rpcHopCpuMs.toFixed(2)} ms CPU/call`);
    const out = {} as Record<AnalyzerName, AnalyzerRow["workerd"]>;
    for (const name of ANALYZERS) {
      const cold = await call(name, 1);
      await call(name, 10); // JIT warm-up
      const warm = await call(name, calls);
      out[name] = {
        coldCpuMs: cold.cpuMs,
        coldWallMs: cold.wallMs,
        warmCpuMs: warm.cpuMs,
        warmWallMs: warm.wallMs,
      };
      log(
        `  workerd ${name}: cold ${cold.cpuMs.toFixed(0)} ms CPU, warm ${warm.cpuMs.toFixed(2)} ms CPU/call`,
      );
    }
    return { rpcHopCpuMs, rows: out };
  } finally {
    await mf.dispose();
  }
}

async function nodeSide(
  calls: number,
): Promise<{ wasmInitCpuMs: number; rows: Record<AnalyzerName, AnalyzerRow["node"]> }> {
  ort.env.wasm.numThreads = 1;
  // The wasm module is instantiated once per process, on the first session: measure it apart
  // with a throwaway session of the first model.
  const init0 = selfCpuMs();
  await ort.InferenceSession.create(readFileSync(modelPath("liveness")));
  const wasmInitCpuMs = selfCpuMs() - init0;
  const rows = {} as Record<AnalyzerName, AnalyzerRow["node"]>;
  for (const name of ANALYZERS) {
    const vector = VECTORS[name];
    const once = async (session: ort.InferenceSession): Promise<void> => {
      const slice = AnalyzerInputSchemas[name].parse(CASES[name].genuine) as never;
      const built = buildVector(vector, slice);
      await session.run({ x: new ort.Tensor("float32", built.values, [1, built.values.length]) });
    };
    const c0 = selfCpuMs();
    const session = await ort.InferenceSession.create(readFileSync(modelPath(name)));
    await once(session);
    const coldCpuMs = selfCpuMs() - c0;
    for (let i = 0; i < 10; i++) await once(session);
    const w0 = selfCpuMs();
    const t0 = performance.now();
    for (let i = 0; i < calls; i++) await once(session);
    rows[name] = {
      coldCpuMs,
      warmCpuMs: (selfCpuMs() - w0) / calls,
      warmWallMs: (performance.now() - t0) / calls,
    };
    await session.release();
  }
  return { wasmInitCpuMs, rows };
}

export async function measureAnalyzers(
  distDir: string,
  calls: number,
  log: (line: string) => void,
): Promise<AnalyzerFigures> {
  const node = await nodeSide(calls);
  log(`  Node (onnxruntime-web): wasm init ${node.wasmInitCpuMs.toFixed(0)} ms CPU once per process`);
  const workerd = await workerdSide(distDir, calls, log);
  return {
    calls,
    rpcHopCpuMs: workerd.rpcHopCpuMs,
    nodeWasmInitCpuMs: node.wasmInitCpuMs,
    rows: ANALYZERS.map((analyzer) => ({
      analyzer,
      workerd: workerd.rows[analyzer],
      node: node.rows[analyzer],
    })),
  };
}
