/**
 * Capacity: how many concurrent sessions (5 fps JPEG + 16 kHz audio, real time) the machine
 * sustains while frame → features stays within FEATURES_P95_BOUND_MS at the 95th percentile and
 * no analysis window is dropped. Steps of 1, 2, 4, 6, 8, 10, 12, … sessions, `seconds` each.
 *
 * Frame → features is timed from outside the DO: a window closes when the first sample of the
 * next one arrives (window-assembler.ts), and during a liveness step the DO sends one `progress`
 * message per window it has processed, tokenized or shed, in order (window-pipeline.ts, liveness-node.ts). So for
 * window w: progress[w].at − (time the next window's first sample was sent). The last 200 ms
 * frame interval of the window is not counted: no design can analyse a window before it ends.
 * A window is dropped when the DO sheds it or a frame (`slow_down`), or when its features have
 * not arrived `graceMs` after the stream stopped.
 *
 * Memory: the workerd and tokenizer RSS are sampled every 250 ms; per-session memory is the peak
 * in a step above the idle figure measured before the first step, ÷ sessions.
 */

import { rssMiB } from "./machine.ts";
import { type BenchPlatform, CAPACITY_FLOW } from "./platform.ts";
import { BenchClient, type StreamMedia } from "./session-client.ts";
import { percentile, processCpuMs, sleep, waitIdle } from "./tokenizer/measure.ts";

export const FEATURES_P95_BOUND_MS = 250;
export const CAPACITY_TARGET = 10;

export interface CapacityStep {
  sessions: number;
  windows: number;
  p50Ms: number;
  p95Ms: number;
  dropped: number;
  slowDowns: number;
  pass: boolean;
  workerdPeakMiB: number;
  tokenizerPeakMiB: number;
  /** tokenizer CPU over the step, as a share of one core */
  tokenizerCores: number;
}

export interface CapacityFigures {
  boundMs: number;
  secondsPerStep: number;
  idle: { workerdMiB: number; tokenizerMiB: number };
  steps: CapacityStep[];
  sustained: number;
  stoppedBecause: string;
}

async function capacitySession(
  bp: BenchPlatform,
  media: StreamMedia,
  seconds: number,
  offset: number,
  delayMs: number,
  graceMs: number,
): Promise<{ latencies: number[]; dropped: number; slowDowns: number }> {
  await sleep(delayMs);
  const { secret } = await bp.createSession(CAPACITY_FLOW);
  const client = await BenchClient.connect(bp.platform.url, secret);
  try {
    await client.waitFor((m) => m.type === "node" && m.nodeType === "liveness");
    const streamed = await client.stream(media, seconds, offset);
    const closedWindows = streamed.windowClosedAt.length;
    const progress = () => client.received.filter((t) => t.message.type === "progress");
    const until = performance.now() + graceMs;
    while (progress().length < closedWindows && performance.now() < until) await sleep(50);
    const arrived = progress();
    const latencies = streamed.windowClosedAt
      .map((closedAt, w) => {
        const p = arrived[w];
        return p ? p.at - closedAt : null;
      })
      .filter((v): v is number => v !== null);
    const slowDowns = client.received.filter((t) => t.message.type === "slow_down").length;
    return { latencies, dropped: closedWindows - latencies.length + slowDowns, slowDowns };
  } finally {
    client.close();
  }
}

export async function measureCapacity(
  bp: BenchPlatform,
  tokenizerPid: number,
  media: StreamMedia,
  opts: { seconds: number; minSteps: number; budgetMs: number; graceMs: number },
  log: (line: string) => void,
): Promise<CapacityFigures> {
  const idle = { workerdMiB: rssMiB(bp.workerdPid), tokenizerMiB: rssMiB(tokenizerPid) };
  const steps: CapacityStep[] = [];
  const started = performance.now();
  let stoppedBecause = "";
  const ladder = [1, 2, 4, 6, 8, 10, 12, 14, 16, 20, 24];
  for (const [i, sessions] of ladder.entries()) {
    const elapsed = performance.now() - started;
    const lastPassed = steps.at(-1)?.pass ?? true;
    if (i >= opts.minSteps && !lastPassed) {
      stoppedBecause = `the ${steps.at(-1)?.sessions}-session step missed the bound`;
      break;
    }
    if (i >= opts.minSteps && elapsed > opts.budgetMs) {
      stoppedBecause = `time budget (${Math.round(opts.budgetMs / 1000)} s) spent`;
      break;
    }
    let workerdPeak = 0;
    let tokenizerPeak = 0;
    const sampler = setInterval(() => {
      workerdPeak = Math.max(workerdPeak, rssMiB(bp.workerdPid));
      tokenizerPeak = Math.max(tokenizerPeak, rssMiB(tokenizerPid));
    }, 250);
    const cpu0 = processCpuMs(tokenizerPid);
    const t0 = performance.now();
    const results = await Promise.all(
      Array.from({ length: sessions }, (_, s) =>
        capacitySession(bp, media, opts.seconds, s * 7, (s * 1000) / sessions, opts.graceMs),
      ),
    );
    const wallS = (performance.now() - t0) / 1000;
    clearInterval(sampler);
    const latencies = results.flatMap((r) => r.latencies);
    const dropped = results.reduce((a, r) => a + r.dropped, 0);
    const p95 = percentile(latencies, 95);
    const step: CapacityStep = {
      sessions,
      windows: latencies.length + results.reduce((a, r) => a + r.dropped - r.slowDowns, 0),
      p50Ms: percentile(latencies, 50),
      p95Ms: p95,
      dropped,
      slowDowns: results.reduce((a, r) => a + r.slowDowns, 0),
      pass: dropped === 0 && p95 <= FEATURES_P95_BOUND_MS,
      workerdPeakMiB: workerdPeak,
      tokenizerPeakMiB: tokenizerPeak,
      tokenizerCores: (processCpuMs(tokenizerPid) - cpu0) / 1000 / wallS,
    };
    steps.push(step);
    log(
      `  ${sessions} session(s): frame→features p50 ${step.p50Ms.toFixed(0)} / p95 ${p95.toFixed(0)} ms, dropped ${dropped}, tokenizer ${(step.tokenizerCores * 100).toFixed(0)} % of a core — ${step.pass ? "within" : "OVER"} the bound`,
    );
    // the next step must not inherit this one's queue
    await waitIdle(tokenizerPid, 15_000);
  }
  if (!stoppedBecause) stoppedBecause = "the ladder ended";
  let sustained = 0;
  for (const s of steps) {
    if (!s.pass) break;
    sustained = s.sessions;
  }
  return {
    boundMs: FEATURES_P95_BOUND_MS,
    secondsPerStep: opts.seconds,
    idle,
    steps,
    sustained,
    stoppedBecause,
  };
}
