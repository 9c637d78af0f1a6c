/**
 * Results of one benchmark run: the JSON shape, the verdicts, and the Markdown report
 * (bench/results/tokenizer.json and tokenizer.md). Every figure is set beside the baseline it
 * is compared with and, where the issue sets one, its target; a missed target says why, using
 * the stage breakdown measured in the same run.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { REPO } from "../../scripts/lib/platform.ts";
import type { Machine } from "./measure.ts";

/** Issue "Regional HSM tokenization service", item 7: service CPU per frame ≤ 1.15 × bare inference. */
export const OVERHEAD_TARGET = 1.15;
/** A window holds one second of media: a batch slower than that means the service falls behind. */
export const WINDOW_MS = 1000;

export interface LatencyRow {
  sessions: number;
  seconds: number;
  sent: number;
  ok: number;
  shed: number;
  failed: number;
  p50Ms: number;
  p95Ms: number;
  maxMs: number;
  /** service CPU seconds per wall second during the run (1 = one core busy) */
  serviceCoreUtilisation: number;
  loadAverage: number;
}

export interface TransportMode {
  mode: "keep-alive" | "fresh handshake" | "request per frame";
  windows: number;
  serverCpuMsPerWindow: number;
  clientCpuMsPerWindow: number;
  wallMsP50: number;
}

export interface Results {
  machine: Machine;
  media: { source: "real" | "synthetic"; description: string };
  paired: {
    rounds: number;
    frames: number;
    bare: { cpuMsPerFrame: number; wallMsPerFrame: number; faceFoundRatio: number };
    service: { cpuMsPerFrame: number; batchWallMsP50: number; replyBytes: number; facePresentRatio: number };
    roundRatios: number[];
    /** CPU ms per frame, except audio (per one-second window) */
    stages: {
      parse: number;
      decode: number;
      image: number;
      faceEngine: number;
      audioPerWindow: number;
      tokenize: number;
    };
    fingerprintWindow: {
      windows: number;
      bareCpuMsPerWindow: number;
      serviceCpuMsPerWindow: number;
      templatesReturned: number;
    };
  };
  latency: LatencyRow[];
  transport: { batchBytes: number; replyBytes: number; modes: TransportMode[] };
  durationS: number;
}

const f1 = (v: number): string => (Number.isFinite(v) ? v.toFixed(1) : "–");
const f2 = (v: number): string => (Number.isFinite(v) ? v.toFixed(2) : "–");
const f0 = (v: number): string => (Number.isFinite(v) ? v.toFixed(0) : "–");

/** Why the overhead ratio is what it is: the non-model costs, largest first. */
function overheadBreakdown(r: Results): string {
  const { bare, service, stages } = r.paired;
  const parts: [string, number][] = [
    ["JPEG decode + luma", stages.decode],
    ["image statistics", stages.image],
    ["face engine glue (tensor copy, mesh geometry)", stages.faceEngine - bare.cpuMsPerFrame],
    ["audio (per frame)", stages.audioPerWindow / 5],
    ["service residual (service − in-process tokenize)", service.cpuMsPerFrame - stages.tokenize],
  ];
  const transport = r.transport.modes.find((m) => m.mode === "keep-alive");
  parts.sort((a, b) => b[1] - a[1]);
  const budget = (OVERHEAD_TARGET - 1) * bare.cpuMsPerFrame;
  return (
    `the target leaves ${f1(budget)} ms/frame for everything but the models; measured: ` +
    parts.map(([name, ms]) => `${name} ${f1(ms)}`).join(", ") +
    (transport
      ? ` (HTTP + mTLS + body measured alone on the transport twin: ${f2(transport.serverCpuMsPerWindow / 5)} ms/frame; ` +
        "a residual far above that is the same pipeline costing more CPU in one process than the other — noise)"
      : "")
  );
}

export interface TableRow {
  figure: string;
  value: string;
  baseline: string;
  ratio: string;
  verdict: string;
}

export function tableRows(r: Results): TableRow[] {
  const { bare, service, stages, fingerprintWindow: fp } = r.paired;
  const ratio = service.cpuMsPerFrame / bare.cpuMsPerFrame;
  const met = ratio <= OVERHEAD_TARGET;
  const rows: TableRow[] = [
    {
      figure: "bare model inference, CPU ms/frame",
      value: f1(bare.cpuMsPerFrame),
      baseline: "(baseline)",
      ratio: "1.00",
      verdict: `${f1(1000 / bare.cpuMsPerFrame)} frames/s per core`,
    },
    {
      figure: "service over mTLS, CPU ms/frame",
      value: f1(service.cpuMsPerFrame),
      baseline: `bare ${f1(bare.cpuMsPerFrame)}`,
      ratio: f2(ratio),
      verdict: `target ≤ ${OVERHEAD_TARGET}: ${met ? "MET" : "NOT MET"} (rounds ${r.paired.roundRatios.map(f2).join(", ")})`,
    },
    {
      figure: "service throughput, frames/s per core",
      value: f1(1000 / service.cpuMsPerFrame),
      baseline: `bare ${f1(1000 / bare.cpuMsPerFrame)}`,
      ratio: f2(bare.cpuMsPerFrame / service.cpuMsPerFrame),
      verdict: `≈ ${f1(1000 / service.cpuMsPerFrame / 5)} sessions per core at 5 fps (all 5 frames through the models)`,
    },
    ...(
      [
        ["stage: batch parse (decodeBatch)", stages.parse],
        ["stage: JPEG decode + luma (decodeFrame)", stages.decode],
        ["stage: image statistics", stages.image],
        ["stage: face engine (service module)", stages.faceEngine],
        ["stage: audio, per frame (window ÷ 5)", stages.audioPerWindow / 5],
        ["stage: whole tokenize() in process", stages.tokenize],
        ["service residual (service − in-process tokenize)", service.cpuMsPerFrame - stages.tokenize],
      ] as [string, number][]
    ).map(([figure, ms]) => ({
      figure: `${figure}, CPU ms/frame`,
      value: f2(ms),
      baseline: `bare ${f1(bare.cpuMsPerFrame)}`,
      ratio: f2(ms / bare.cpuMsPerFrame),
      verdict: "share of the model's cost",
    })),
    {
      figure: "stage: audio, CPU ms per 1 s window",
      value: f2(stages.audioPerWindow),
      baseline: `window ${WINDOW_MS} ms`,
      ratio: f2(stages.audioPerWindow / WINDOW_MS),
      verdict: "CPU share of real time",
    },
    {
      figure: "recognition window (descriptor on 3 of 5), CPU ms/window",
      value: f0(fp.serviceCpuMsPerWindow),
      baseline: `bare ${f0(fp.bareCpuMsPerWindow)}`,
      ratio: f2(fp.serviceCpuMsPerWindow / fp.bareCpuMsPerWindow),
      verdict: `reference (templates ${fp.templatesReturned}/${fp.windows})`,
    },
  ];
  const unloaded = r.latency[0]?.p50Ms ?? Number.NaN;
  for (const row of r.latency) {
    const keepsUp = row.p95Ms < WINDOW_MS && row.shed === 0 && row.failed === 0;
    rows.push({
      figure: `batch latency, ${row.sessions} session(s), p50 / p95 ms`,
      value: `${f0(row.p50Ms)} / ${f0(row.p95Ms)}`,
      baseline: row.sessions === 1 ? `window ${WINDOW_MS} ms` : `1-session p50 ${f0(unloaded)}`,
      ratio: row.sessions === 1 ? f2(row.p95Ms / WINDOW_MS) : f2(row.p50Ms / unloaded),
      verdict: keepsUp
        ? `keeps up (service ${f0(row.serviceCoreUtilisation * 100)} % of a core)`
        : `falls behind: shed ${row.shed}, timed out ${row.failed} of ${row.sent + row.shed}; service ${f0(row.serviceCoreUtilisation * 100)} % of a core — ${
            row.serviceCoreUtilisation >= 0.9
              ? "busy (each face worker, TOKENIZER_FACE_WORKERS, can use one core)"
              : `CPU-starved by other work (load ${row.loadAverage}); on an idle core it needs ${f0(row.sessions * service.cpuMsPerFrame * 5)} ms CPU per second`
          }`,
    });
  }
  const [keep, fresh, perFrame] = r.transport.modes;
  if (keep && fresh && perFrame) {
    const serviceWindow = service.cpuMsPerFrame * 5;
    rows.push(
      {
        figure: `transport, keep-alive, server CPU ms/batch (${f0(r.transport.batchBytes / 1024)} KiB)`,
        value: f2(keep.serverCpuMsPerWindow),
        baseline: `service ${f0(serviceWindow)} ms/window`,
        ratio: f2(keep.serverCpuMsPerWindow / serviceWindow),
        verdict: `wall p50 ${f2(keep.wallMsP50)} ms, client ${f2(keep.clientCpuMsPerWindow)} ms`,
      },
      {
        figure: "transport, fresh mTLS handshake per batch, server CPU ms",
        value: f2(fresh.serverCpuMsPerWindow),
        baseline: `keep-alive ${f2(keep.serverCpuMsPerWindow)}`,
        ratio: f2(fresh.serverCpuMsPerWindow / keep.serverCpuMsPerWindow),
        verdict: `+${f2(fresh.serverCpuMsPerWindow - keep.serverCpuMsPerWindow)} ms server (${f1(((fresh.serverCpuMsPerWindow - keep.serverCpuMsPerWindow) / serviceWindow) * 100)} % of a window), wall p50 ${f2(fresh.wallMsP50)} ms, client ${f2(fresh.clientCpuMsPerWindow)} ms`,
      },
      {
        figure: "transport, 5 requests (one per frame) instead of 1 batch, server CPU ms/window",
        value: f2(perFrame.serverCpuMsPerWindow),
        baseline: `one batch ${f2(keep.serverCpuMsPerWindow)}`,
        ratio: f2(perFrame.serverCpuMsPerWindow / keep.serverCpuMsPerWindow),
        verdict: `wall p50 ${f2(perFrame.wallMsP50)} ms per window`,
      },
    );
  }
  return rows;
}

export function renderTable(rows: TableRow[]): string {
  const header = ["figure", "value", "baseline", "ratio", "target / note"];
  const lines = [
    header,
    header.map(() => "---"),
    ...rows.map((r) => [r.figure, r.value, r.baseline, r.ratio, r.verdict]),
  ];
  return lines.map((cells) => `| ${cells.join(" | ")} |`).join("\n");
}

/** One paragraph: the verdict on the overhead target and why. */
export function summarize(r: Results): string {
  const { bare, service } = r.paired;
  const ratio = service.cpuMsPerFrame / bare.cpuMsPerFrame;
  const verdict = ratio <= OVERHEAD_TARGET ? "met" : "NOT met";
  return (
    `Overhead ratio ${f2(ratio)} (service ${f1(service.cpuMsPerFrame)} vs bare ${f1(bare.cpuMsPerFrame)} CPU ms/frame): ` +
    `target ≤ ${OVERHEAD_TARGET} ${verdict}; ${overheadBreakdown(r)}. ` +
    `Frames: ${r.media.source}; faces found in ${f0(bare.faceFoundRatio * 100)} % of frames (bare), ` +
    `mean facePresentRatio ${f2(service.facePresentRatio)} (service). ` +
    `Load average ${r.machine.loadAverage.start} → ${r.machine.loadAverage.end ?? "?"}; bare CPU/wall ` +
    `${f0((bare.cpuMsPerFrame / bare.wallMsPerFrame) * 100)} % (below 100 %: other work shared the cores).`
  );
}

function markdown(r: Results, table: string): string {
  const m = r.machine;
  return [
    "# Tokenizer benchmark — latest run",
    "",
    `Generated by \`npm run bench:tokenizer\` (bench/tokenizer/run.ts) on ${m.date}; how to read it: bench/README.md.`,
    "",
    `- Machine: ${m.cpuModel}, ${m.logicalCores} logical cores, ${m.memoryGiB} GiB, Node ${m.node}`,
    `- Load average (1 min) at start / end: ${m.loadAverage.start} / ${m.loadAverage.end ?? "?"}`,
    `- Frames: ${r.media.description}`,
    `- Face engine on (TOKENIZER_FACE=human, TOKENIZER_FACE_MAX_FRAMES=8, TOKENIZER_FINGERPRINT_MAX_FRAMES=3); windows of 5 frames + 1 s of 16 kHz PCM`,
    `- Paired rounds: ${r.paired.rounds} × ${r.paired.frames / r.paired.rounds} frames; load runs ${r.latency[0]?.seconds ?? "?"} s each; whole run ${f0(r.durationS)} s`,
    "",
    table,
    "",
    summarize(r),
    "",
  ].join("\n");
}

/** Writes bench/results/tokenizer.{json,md}, both through the repo's formatter (biome). */
export function writeResults(r: Results): { table: string } {
  const dir = join(REPO, "bench", "results");
  mkdirSync(dir, { recursive: true });
  const table = renderTable(tableRows(r));
  const jsonPath = join(dir, "tokenizer.json");
  const mdPath = join(dir, "tokenizer.md");
  writeFileSync(jsonPath, `${JSON.stringify(r, null, 2)}\n`);
  writeFileSync(mdPath, markdown(r, table));
  try {
    const biome = join(REPO, "node_modules", ".bin", "biome");
    execFileSync(biome, ["format", "--write", jsonPath, mdPath], { stdio: "ignore" });
  } catch {
    // formatting is cosmetic (keeps `npm run check` quiet); the numbers are written either way
  }
  return { table };
}
