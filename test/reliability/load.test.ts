/**
 * Load and soak on loopback (docs/reliability.md): LOAD_SESSIONS concurrent scripted widgets,
 * each streaming frames + audio at 5 fps in real time through the fixed tokenizer double over
 * mTLS, one liveness session after another, for LOAD_SECONDS; then every session's terminal
 * webhook must arrive (zero lost), once. Prints p50/p95 session duration and decision latency
 * (last frame sent → terminal webhook received) and the RSS of this process and of workerd
 * before and after. Cheap in `npm test` (8 × 10 s); `npm run test:security` runs 50 × 60 s.
 * Bounded: no new session starts after the deadline, and each session stops by itself.
 */
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ScriptedClient } from "../../scripts/lib/scripted-client.ts";
import {
  LIVE_FRAME,
  type ReliabilityHarness,
  rssMiB,
  startReliabilityHarness,
  TONE,
  terminalEvents,
  workerdPids,
} from "./support.ts";

const SESSIONS = Math.min(200, Math.max(1, Number(process.env.LOAD_SESSIONS ?? 8)));
const SECONDS = Math.min(600, Math.max(1, Number(process.env.LOAD_SECONDS ?? 10)));
/**
 * Rounds of the timed load on one platform (LOAD_ROUNDS, default 1), each checked like the first.
 * What a leak leaves rises round after round; allocator slack is taken once and then reused
 * (docs/reliability.md "Load").
 */
const ROUNDS = Math.min(10, Math.max(1, Math.floor(Number(process.env.LOAD_ROUNDS ?? 1)) || 1));
/** measured here: see docs/reliability.md; the bound leaves room for allocator slack */
const RSS_GROWTH_BOUND_MIB = 150;

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Run {
  sessionId: string;
  startedAt: number;
  lastFrameAt: number;
  /** the server's `complete` message: outcome recorded in D1 and the event enqueued */
  completeAt: number;
  closedAt: number;
  closeCode: number;
}

let h: ReliabilityHarness;
beforeAll(async () => {
  h = await startReliabilityHarness({
    vars: { RATE_LIMIT_PER_MINUTE: "1000000", IDLE_TIMEOUT_SECONDS: "15" },
  });
});
afterAll(async () => {
  await h?.dispose();
});

async function oneSession(): Promise<Run> {
  const startedAt = performance.now();
  const { sessionId, secret } = await h.createSession();
  const client = await ScriptedClient.connect(h.platform.url, secret);
  let lastFrameAt = startedAt;
  const send = client.sendFrame.bind(client);
  client.sendFrame = (tsMs, jpeg) => {
    lastFrameAt = performance.now();
    return send(tsMs, jpeg);
  };
  let completeAt = Number.NaN;
  void client
    .waitFor((m) => m.type === "complete", 120_000)
    .then(() => {
      completeAt = performance.now();
    })
    .catch(() => undefined);
  const closed = await client.stream({ frames: [LIVE_FRAME], audio: TONE, msPerCaptureSecond: 1000 }, 30);
  return {
    sessionId,
    startedAt,
    lastFrameAt,
    completeAt,
    closedAt: performance.now(),
    closeCode: closed.code,
  };
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? NaN;
}

function memory() {
  const pids = workerdPids();
  const workerd = pids.reduce((sum, pid) => sum + (rssMiB(pid) ?? 0), 0);
  return { test: process.memoryUsage().rss / 2 ** 20, workerd, pids: pids.length };
}

async function settle() {
  for (let i = 0; i < 3; i++) {
    gc();
    await sleep(1000);
  }
}

describe(`load: ${SESSIONS} concurrent sessions for ${SECONDS} s`, () => {
  it(
    "loses no result and returns to its memory baseline",
    async () => {
      // Warm-up at full concurrency (isolates, analyzer heaps, TLS and key caches reach their
      // working size), then the baseline: growth after this point is what a leak would show.
      await settle();
      const cold = memory();
      const warm = await Promise.all(Array.from({ length: SESSIONS }, oneSession));
      for (const w of warm)
        await h.receiver.waitFor(
          (a) => a.sessionId === w.sessionId && a.type.startsWith("session.c"),
          60_000,
        );
      await settle();
      const before = memory();
      expect(before.pids, "one workerd child of this process").toBeGreaterThan(0);

      const workerdAfter: number[] = [];
      for (let round = 1; round <= ROUNDS; round++) {
        const deadline = performance.now() + SECONDS * 1000;
        const runs: Run[] = [];
        const failures: string[] = [];
        const worker = async () => {
          while (performance.now() < deadline) {
            try {
              runs.push(await oneSession());
            } catch (error) {
              failures.push(error instanceof Error ? error.message : String(error));
            }
          }
        };
        const t0 = performance.now();
        await Promise.all(Array.from({ length: SESSIONS }, worker));
        const wall = (performance.now() - t0) / 1000;

        // Every session's terminal event, bounded wait.
        const waitUntil = performance.now() + 120_000;
        const pending = () => runs.filter((r) => terminalEvents(h.receiver, r.sessionId).length === 0);
        while (pending().length > 0 && performance.now() < waitUntil) await sleep(250);
        await sleep(1000);

        const latencies: number[] = [];
        const decisions: number[] = [];
        const deliveries: number[] = [];
        const durations: number[] = [];
        const statuses = new Map<string, number>();
        const degradedCodes = new Map<string, number>();
        let degraded = 0;
        for (const r of runs) {
          const events = terminalEvents(h.receiver, r.sessionId);
          const event = events[0];
          if (!event) continue;
          latencies.push(event.at - r.lastFrameAt);
          if (Number.isFinite(r.completeAt)) {
            decisions.push(r.completeAt - r.lastFrameAt);
            deliveries.push(event.at - r.completeAt);
          }
          durations.push(r.closedAt - r.startedAt);
          const view = (
            JSON.parse(event.body) as {
              data: {
                session: { status: string; report: { degraded: { component: string; code: string }[] } };
              };
            }
          ).data.session;
          statuses.set(view.status, (statuses.get(view.status) ?? 0) + 1);
          if (view.report.degraded.length > 0) degraded += 1;
          for (const d of view.report.degraded) {
            const key = `${d.component}/${d.code}`;
            degradedCodes.set(key, (degradedCodes.get(key) ?? 0) + 1);
          }
        }
        const lost = pending().length;
        const duplicated = runs.filter((r) => terminalEvents(h.receiver, r.sessionId).length > 1).length;

        await settle();
        const after = memory();
        const fmt = (n: number) => n.toFixed(0);
        const summary = {
          round: `${round}/${ROUNDS}`,
          concurrency: SESSIONS,
          seconds: SECONDS,
          wallSeconds: Number(wall.toFixed(1)),
          sessions: runs.length,
          clientErrors: failures.length,
          lost,
          duplicated,
          statuses: Object.fromEntries(statuses),
          degradedSessions: degraded,
          degraded: Object.fromEntries(degradedCodes),
          sessionMs: { p50: fmt(percentile(durations, 50)), p95: fmt(percentile(durations, 95)) },
          // last frame sent → terminal webhook received, and its two halves
          decisionLatencyMs: { p50: fmt(percentile(latencies, 50)), p95: fmt(percentile(latencies, 95)) },
          lastFrameToCompleteMs: { p50: fmt(percentile(decisions, 50)), p95: fmt(percentile(decisions, 95)) },
          completeToWebhookMs: { p50: fmt(percentile(deliveries, 50)), p95: fmt(percentile(deliveries, 95)) },
          rssMiB: {
            test: { cold: fmt(cold.test), baseline: fmt(before.test), after: fmt(after.test) },
            workerd: { cold: fmt(cold.workerd), baseline: fmt(before.workerd), after: fmt(after.workerd) },
          },
        };
        console.log(`LOAD ${JSON.stringify(summary)}`);
        workerdAfter.push(after.workerd);

        expect(failures).toEqual([]);
        expect(runs.length).toBeGreaterThanOrEqual(SESSIONS);
        expect(lost, "sessions without a terminal webhook").toBe(0);
        expect(duplicated, "sessions with two terminal webhook-ids").toBe(0);
        expect(after.test).toBeLessThan(before.test + RSS_GROWTH_BOUND_MIB);
        expect(after.workerd).toBeLessThan(before.workerd + RSS_GROWTH_BOUND_MIB);
      }
      if (ROUNDS > 1)
        console.log(
          `LOAD workerd RSS MiB: baseline ${before.workerd.toFixed(0)}, after each round ${workerdAfter.map((m) => m.toFixed(0)).join(", ")}`,
        );
    },
    (ROUNDS * (SECONDS + 180) + 60) * 1000,
  );
});
