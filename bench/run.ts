/**
 * `npm run bench`: the whole platform measured against its targets (issue 8), every figure beside
 * a baseline measured in the same run. Self-contained and bounded (under 10 minutes on a 2-core
 * machine): dev certificates, real webcam frames when scripts/lib/test-media.ts can fetch them
 * (else synthetic JPEGs, said loudly), the real tokenization service with its face engine, the
 * real Workers in workerd through Miniflare, a local webhook receiver; everything on loopback and
 * stopped at the end. Phases, in order, each printing progress:
 *
 * 1. tokenization — service vs bare model, CPU per frame by stage (tokenization.ts);
 * 2. analyzers — workerd vs onnxruntime in Node, warm and cold (analyzers.ts);
 * 3. decision latency — streaming vs analyse-after-the-end, alternating sessions (decision.ts);
 * 4. capacity and memory — stepped concurrent sessions (capacity.ts);
 * 5. bandwidth — the widget's encoding and the bench's own wire (bandwidth.ts).
 *
 * Writes bench/results.md and bench/results.json (report.ts). Knobs, all optional:
 * BENCH_SESSIONS, BENCH_SESSION_SECONDS, BENCH_TOKENIZER_WINDOWS, BENCH_ANALYZER_CALLS,
 * BENCH_CAPACITY_SECONDS, BENCH_CAPACITY_BUDGET_S; FACET_DIST_DIR for the bundles.
 */
import { join } from "node:path";
import { ensureDevCerts } from "../scripts/lib/dev-certs.ts";
import { REPO } from "../scripts/lib/platform.ts";
import { startTokenizer } from "../scripts/lib/tokenizer-process.ts";
import { startWebhookReceiver } from "../test/support/webhook-receiver.ts";
import { measureAnalyzers } from "./analyzers.ts";
import { bandwidthFigures, fitToWidgetBudget } from "./bandwidth.ts";
import { measureCapacity } from "./capacity.ts";
import { type DecisionSample, decisionSession } from "./decision.ts";
import { benchMachine, notePhase } from "./machine.ts";
import { type BenchPlatform, startBenchPlatform } from "./platform.ts";
import { writeResults } from "./report.ts";
import type { StreamMedia } from "./session-client.ts";
import { clientTls, measureTokenization } from "./tokenization.ts";
import { currentLoad, waitIdle } from "./tokenizer/measure.ts";
import { FRAMES_PER_WINDOW, loadMedia } from "./tokenizer/media.ts";

const started = performance.now();
const knob = (name: string, fallback: number): number => Number(process.env[name] ?? fallback);
const SETTINGS = {
  sessionsPerMode: knob("BENCH_SESSIONS", 5),
  sessionSeconds: knob("BENCH_SESSION_SECONDS", 5),
  tokenizerWindows: knob("BENCH_TOKENIZER_WINDOWS", 6),
  analyzerCalls: knob("BENCH_ANALYZER_CALLS", 200),
  capacitySeconds: knob("BENCH_CAPACITY_SECONDS", 8),
  capacityBudgetS: knob("BENCH_CAPACITY_BUDGET_S", 90),
  /** the whole run's budget: later phases shrink (never below their minimum) to stay inside it */
  totalBudgetS: knob("BENCH_BUDGET_S", 540),
};
/** Decision sessions per mode that always run, whatever the budget says. */
const MIN_DECISION_SESSIONS = 3;
const elapsedS = (): number => (performance.now() - started) / 1000;
/** The service as production runs it (docs/deploy.md): face engine on, every frame of a window. */
const FACE_ENV = {
  TOKENIZER_FACE: "human",
  TOKENIZER_FACE_MAX_FRAMES: "8",
  TOKENIZER_FINGERPRINT_MAX_FRAMES: "3",
};

const log = (line: string): void => {
  process.stdout.write(`[${((performance.now() - started) / 1000).toFixed(0).padStart(3)} s] ${line}\n`);
};

function streamMediaOf(media: ReturnType<typeof loadMedia>): StreamMedia {
  const frames = media.windows.flatMap((w) => w.frames);
  const bytes = media.windows.reduce((a, w) => a + w.pcm.byteLength, 0);
  const pcm = new Int16Array(bytes / 2);
  let at = 0;
  for (const w of media.windows) {
    pcm.set(new Int16Array(w.pcm.slice().buffer), at);
    at += w.pcm.byteLength / 2;
  }
  return { frames, pcm };
}

async function main(): Promise<void> {
  const machine = benchMachine();
  log(
    `npm run bench — ${machine.cpuModel}, ${machine.logicalCores} cores, ${machine.memoryGiB} GiB, Node ${machine.node}, workerd ${machine.workerd}`,
  );
  log(`load average at start: ${machine.loadAverage.start}; settings ${JSON.stringify(SETTINGS)}`);
  const distDir = process.env.FACET_DIST_DIR ?? join(REPO, "dist");
  const certs = ensureDevCerts(join(REPO, ".dev", "certs"));
  const source = loadMedia();
  // What the widget would send: the same pictures under its video bit budget (bandwidth.ts).
  const fitted = fitToWidgetBudget(source.windows.flatMap((w) => w.frames));
  const media = {
    ...source,
    windows: source.windows.map((w, i) => ({
      ...w,
      frames: fitted.frames.slice(i * FRAMES_PER_WINDOW, (i + 1) * FRAMES_PER_WINDOW),
    })),
  };
  const stream = streamMediaOf(media);
  const meanJpegBytes = stream.frames.reduce((a, fr) => a + fr.byteLength, 0) / stream.frames.length;
  log(`frames: ${media.source.toUpperCase()} — ${media.description}`);
  log(
    `${stream.frames.length} frames ${media.width}×${media.height}, mean JPEG ${meanJpegBytes.toFixed(0)} bytes (jpeg-js quality ${fitted.quality}, the widget's budget)`,
  );

  const service = await startTokenizer(certs, FACE_ENV);
  const pid = service.child.pid ?? 0;
  log(`tokenization service ${service.url} (pid ${pid}), ${JSON.stringify(FACE_ENV)}`);
  const receiver = await startWebhookReceiver();
  const platforms: BenchPlatform[] = [];
  const stop = async (): Promise<void> => {
    for (const p of platforms.splice(0)) await p.platform.dispose().catch(() => undefined);
    await receiver.close().catch(() => undefined);
    await service.stop();
  };
  process.once("SIGINT", () => void stop().finally(() => process.exit(130)));
  try {
    notePhase(machine, "start");
    log("phase 1/5 tokenization: service vs bare model, CPU per frame");
    const tokenization = await measureTokenization(
      media,
      service.url,
      pid,
      clientTls(certs),
      SETTINGS.tokenizerWindows,
      log,
    );
    log(
      `  overhead ${tokenization.overhead.toFixed(2)}× (service ${tokenization.serviceCpuMsPerFrame.toFixed(1)} vs bare ${tokenization.bareCpuMsPerFrame.toFixed(1)} ms/frame)`,
    );

    notePhase(machine, "analyzers");
    log("phase 2/5 analyzers: workerd vs onnxruntime-web in Node");
    const analyzers = await measureAnalyzers(distDir, SETTINGS.analyzerCalls, log);

    notePhase(machine, "decision");
    log("phase 3/5 decision latency: streaming analysis vs analysed after the end");
    const streaming = await startBenchPlatform("streaming", service.url, certs, receiver);
    platforms.push(streaming);
    const deferred = await startBenchPlatform("deferred", service.url, certs, receiver);
    platforms.push(deferred);
    log(
      `  platforms up (workerd pids ${streaming.workerdPid}, ${deferred.workerdPid}); one warm-up session each`,
    );
    // Warm-up, not recorded: analyzer isolates' cold start, the DO class, D1, the mTLS connection.
    await decisionSession(streaming, receiver, stream, 2, 0);
    await decisionSession(deferred, receiver, stream, 2, 0);
    const samples: DecisionSample[] = [];
    // The decision phase may use the budget up to where capacity still gets its minimum.
    const decisionUntilS = SETTINGS.totalBudgetS - 150;
    for (let i = 0; i < SETTINGS.sessionsPerMode; i++) {
      if (i >= MIN_DECISION_SESSIONS && elapsedS() > decisionUntilS) {
        log(`  time budget: stopping after ${i} sessions per mode`);
        break;
      }
      for (const bp of i % 2 === 0 ? [streaming, deferred] : [deferred, streaming]) {
        await waitIdle(pid, 5_000);
        const s = await decisionSession(bp, receiver, stream, SETTINGS.sessionSeconds, i * 3);
        samples.push(s);
        log(
          `  ${bp.mode} ${i + 1}/${SETTINGS.sessionsPerMode}: last frame → webhook ${s.webhookMs.toFixed(0)} ms (DO done ${s.completeMs.toFixed(0)} ms, ${s.status})`,
        );
      }
    }
    await deferred.platform.dispose();
    platforms.splice(platforms.indexOf(deferred), 1);

    notePhase(machine, "capacity");
    log("phase 4/5 capacity: concurrent sessions until frame → features p95 passes the bound");
    await waitIdle(pid, 10_000);
    const capacity = await measureCapacity(
      streaming,
      pid,
      stream,
      {
        seconds: SETTINGS.capacitySeconds,
        minSteps: 3,
        budgetMs: Math.min(SETTINGS.capacityBudgetS, SETTINGS.totalBudgetS - 60 - elapsedS()) * 1000,
        graceMs: 4_000,
      },
      log,
    );

    notePhase(machine, "end");
    log("phase 5/5 bandwidth and memory");
    const measured = samples.map((s) => s.kbps);
    const bandwidth = bandwidthFigures(
      meanJpegBytes,
      measured.length ? measured.reduce((a, b) => a + b, 0) / measured.length : null,
    );
    const biggest = capacity.steps.at(-1);
    const perSession = (peak: number | undefined, idle: number): number | null =>
      biggest && peak !== undefined && Number.isFinite(peak) ? (peak - idle) / biggest.sessions : null;
    // One window assembling plus two in flight, each also copied once into its batch body.
    const windowBytes = FRAMES_PER_WINDOW * meanJpegBytes + 32_000;
    machine.loadAverage.end = currentLoad();
    const md = writeResults({
      machine,
      media: {
        source: media.source,
        description: `${media.description}; re-encoded with jpeg-js at quality ${fitted.quality} to fit the widget's video budget`,
        meanJpegBytes,
      },
      settings: SETTINGS,
      durationS: (performance.now() - started) / 1000,
      tokenization,
      analyzers,
      decision: { seconds: SETTINGS.sessionSeconds, samples },
      capacity,
      bandwidth,
      memory: {
        doMiBPerSession: perSession(biggest?.workerdPeakMiB, capacity.idle.workerdMiB),
        tokenizerMiBPerSession: perSession(biggest?.tokenizerPeakMiB, capacity.idle.tokenizerMiB),
        doHeldKiB: ((1 + 2 * 2) * windowBytes) / 1024,
      },
    });
    log(
      `done in ${((performance.now() - started) / 1000).toFixed(0)} s: bench/results.md, bench/results.json\n`,
    );
    process.stdout.write(md);
  } catch (error) {
    process.stderr.write(`tokenization service output (tail):\n${service.output().slice(-2000)}\n`);
    throw error;
  } finally {
    await stop();
  }
}

await main();
// TFJS's WASM backend keeps the event loop alive; every child has been stopped above.
process.exit(0);
