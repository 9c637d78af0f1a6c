/**
 * Tokenizer benchmark: `npm run bench:tokenizer` (bench/README.md explains every number).
 *
 * Self-contained: dev certificates (.dev/certs), real webcam frames when scripts/lib/test-media.ts
 * can fetch them (else synthetic JPEGs, said loudly), the real service process with the face
 * engine on, everything on loopback, bounded and self-stopping (about 3–5 minutes). Phases:
 *
 * 1. paired rounds — per one-second window: the bare model (baseline), each in-process stage, and
 *    the same window POSTed to the service over keep-alive mTLS. Interleaving puts baseline and
 *    service under the same background load; the service's CPU comes from /proc/<pid>/stat.
 * 2. latency — 1, 4 and 8 concurrent sessions, each sending one window per second for
 *    BENCH_LOAD_SECONDS (default 20) like the session Durable Object does.
 * 3. transport — one typical batch over mTLS with keep-alive versus a fresh handshake per batch
 *    (and versus one request per frame), against a transport-only twin of the service's front.
 *
 * Writes bench/results/tokenizer.json and .md, and prints the summary table.
 * Knobs: BENCH_ROUNDS (default 2), BENCH_LOAD_SECONDS (default 20).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { TokenizeReplySchema } from "../../lib/features.ts";
import { ensureDevCerts } from "../../scripts/lib/dev-certs.ts";
import { REPO } from "../../scripts/lib/platform.ts";
import { startTokenizer } from "../../scripts/lib/tokenizer-process.ts";
import { clientTls, keepAliveAgent, post, sessionLoad, type Tls } from "./client.ts";
import { type BareSample, InProcessBench, type StageSample } from "./inprocess.ts";
import { currentLoad, describeMachine, percentile, processCpuMs, sleep, waitIdle } from "./measure.ts";
import { FRAMES_PER_WINDOW, loadMedia, windowBody } from "./media.ts";
import { type LatencyRow, type Results, summarize, type TransportMode, writeResults } from "./report.ts";

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? "2");
const LOAD_SECONDS = Number(process.env.BENCH_LOAD_SECONDS ?? "20");
const CONCURRENCY = [1, 4, 8];
const FACE_ENV = {
  TOKENIZER_FACE: "human",
  TOKENIZER_FACE_MAX_FRAMES: "8",
  TOKENIZER_FINGERPRINT_MAX_FRAMES: "3",
};

const log = (line: string): void => {
  process.stdout.write(`${line}\n`);
};

const sum = (values: readonly number[]): number => values.reduce((a, b) => a + b, 0);

async function main(): Promise<void> {
  const startedAt = performance.now();
  const machine = describeMachine();
  log(`tokenizer bench — ${machine.cpuModel}, ${machine.logicalCores} logical cores, Node ${machine.node}`);
  log(`load average at start: ${machine.loadAverage.start}`);
  const certs = ensureDevCerts(join(REPO, ".dev", "certs"));
  const media = loadMedia();
  log(`frames: ${media.source.toUpperCase()} — ${media.description}`);
  log(`${media.windows.length} windows × ${FRAMES_PER_WINDOW} frames, ${media.width}×${media.height}`);

  const inproc = await InProcessBench.create(media);
  const service = await startTokenizer(certs, FACE_ENV);
  const pid = service.child.pid;
  if (pid === undefined) throw new Error("tokenizer has no pid");
  const stopOnSignal = (): void => {
    void service.stop().finally(() => process.exit(130));
  };
  process.once("SIGINT", stopOnSignal);
  log(`service ${service.url} (pid ${pid}), face engine on: ${JSON.stringify(FACE_ENV)}`);

  const tls = clientTls(certs);
  const url = new URL("/v1/tokenize", service.url);
  const agent = keepAliveAgent(tls);
  const results: Partial<Results> = {
    machine,
    media: { source: media.source, description: media.description },
  };
  try {
    // ---- warm-up: WASM kernels, model graphs, JIT, the TLS connection ----
    await inproc.bare(0);
    await inproc.bare(1, true);
    await inproc.stages(0);
    for (let w = 0; w < 3; w++)
      await expectOk(
        post(url, windowBody(media.windows[w % media.windows.length] ?? fail(), w, "warm"), tls, agent),
      );
    await expectOk(post(url, windowBody(media.windows[0] ?? fail(), 0, "warm", true), tls, agent));
    await waitIdle(pid);

    // ---- phase 1: paired rounds ----
    const bare: BareSample[] = [];
    const stages: StageSample[] = [];
    const rounds: { bareCpuMs: number; serviceCpuMs: number }[] = [];
    const serviceWallMs: number[] = [];
    const replyBytes: number[] = [];
    const facePresent: number[] = [];
    const fingerprint: { bareCpuMs: number; serviceCpuMs: number; withFingerprint: boolean }[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      let roundBare = 0;
      let roundService = 0;
      for (let w = 0; w < inproc.windows; w++) {
        const b = await inproc.bare(w);
        bare.push(b);
        roundBare += b.cpuMs;
        // the stages on every other window (each window once over two rounds): they run the models twice
        if (w % 2 === round % 2) stages.push(await inproc.stages(w));
        // Let the event loop run before reusing the keep-alive socket: inference blocks it, and a
        // socket the server closed meanwhile (keepAliveTimeout) must be seen closed, not reused.
        await sleep(20);
        const before = processCpuMs(pid);
        const reply = await expectOk(
          post(url, windowBody(media.windows[w] ?? fail(), round * 100 + w, "s-pair"), tls, agent),
        );
        roundService += processCpuMs(pid) - before;
        serviceWallMs.push(reply.ms);
        replyBytes.push(reply.body.byteLength);
        const parsed = TokenizeReplySchema.parse(JSON.parse(reply.body.toString("utf8")));
        facePresent.push(parsed.features.face?.facePresentRatio ?? 0);
      }
      rounds.push({ bareCpuMs: roundBare, serviceCpuMs: roundService });
      // one recognition window per round: the descriptor runs on 3 of the 5 frames
      const w = round % inproc.windows;
      const fb = await inproc.bare(w, true);
      await sleep(20);
      const before = processCpuMs(pid);
      const fr = await expectOk(
        post(url, windowBody(media.windows[w] ?? fail(), 900 + round, "s-fp", true), tls, agent),
      );
      const parsed = TokenizeReplySchema.parse(JSON.parse(fr.body.toString("utf8")));
      fingerprint.push({
        bareCpuMs: fb.cpuMs,
        serviceCpuMs: processCpuMs(pid) - before,
        withFingerprint: parsed.fingerprint !== null,
      });
      log(
        `round ${round + 1}/${ROUNDS}: bare ${(roundBare / (inproc.windows * FRAMES_PER_WINDOW)).toFixed(1)} ms/frame, service ${(roundService / (inproc.windows * FRAMES_PER_WINDOW)).toFixed(1)} ms/frame`,
      );
    }
    const frames = sum(bare.map((b) => b.frames));
    const bareCpu = sum(bare.map((b) => b.cpuMs));
    const serviceCpu = sum(rounds.map((r) => r.serviceCpuMs));
    const stageFrames = stages.length * FRAMES_PER_WINDOW;
    const stageSum = (key: keyof StageSample): number => sum(stages.map((s) => s[key])) / stageFrames;
    results.paired = {
      rounds: ROUNDS,
      frames,
      bare: {
        cpuMsPerFrame: bareCpu / frames,
        wallMsPerFrame: sum(bare.map((b) => b.wallMs)) / frames,
        faceFoundRatio: sum(bare.map((b) => b.withFace)) / frames,
      },
      service: {
        cpuMsPerFrame: serviceCpu / frames,
        batchWallMsP50: percentile(serviceWallMs, 50),
        replyBytes: Math.round(sum(replyBytes) / replyBytes.length),
        facePresentRatio: sum(facePresent) / facePresent.length,
      },
      roundRatios: rounds.map((r) => r.serviceCpuMs / r.bareCpuMs),
      stages: {
        parse: stageSum("parse"),
        decode: stageSum("decode"),
        image: stageSum("image"),
        faceEngine: stageSum("faceEngine"),
        audioPerWindow: sum(stages.map((s) => s.audio)) / stages.length,
        tokenize: stageSum("tokenize"),
      },
      fingerprintWindow: {
        windows: fingerprint.length,
        bareCpuMsPerWindow: sum(fingerprint.map((f) => f.bareCpuMs)) / fingerprint.length,
        serviceCpuMsPerWindow: sum(fingerprint.map((f) => f.serviceCpuMs)) / fingerprint.length,
        templatesReturned: fingerprint.filter((f) => f.withFingerprint).length,
      },
    };
    await waitIdle(pid);

    // ---- phase 2: latency under concurrent sessions ----
    const latency: LatencyRow[] = [];
    for (const sessions of CONCURRENCY) {
      const cpu0 = processCpuMs(pid);
      const t0 = performance.now();
      const load = await sessionLoad(url, tls, sessions, LOAD_SECONDS, (s, seq) =>
        windowBody(media.windows[(s * 3 + seq) % media.windows.length] ?? fail(), seq, `s-load-${s}`),
      );
      const wallS = (performance.now() - t0) / 1000;
      const row: LatencyRow = {
        sessions,
        seconds: LOAD_SECONDS,
        sent: load.sent,
        ok: load.ok,
        shed: load.shed,
        failed: load.failed,
        p50Ms: percentile(load.latenciesMs, 50),
        p95Ms: percentile(load.latenciesMs, 95),
        maxMs: Math.max(...load.latenciesMs),
        serviceCoreUtilisation: (processCpuMs(pid) - cpu0) / 1000 / wallS,
        loadAverage: currentLoad(),
      };
      latency.push(row);
      log(
        `${sessions} session(s): p50 ${row.p50Ms.toFixed(0)} ms, p95 ${row.p95Ms.toFixed(0)} ms, ok ${row.ok}/${row.sent}, shed ${row.shed}, failed ${row.failed}, service at ${(row.serviceCoreUtilisation * 100).toFixed(0)} % of a core`,
      );
      await waitIdle(pid);
    }
    results.latency = latency;
  } catch (error) {
    process.stderr.write(`service output (tail):\n${service.output().slice(-3000)}\n`);
    throw error;
  } finally {
    agent.destroy();
    inproc.dispose();
    await service.stop();
    process.removeListener("SIGINT", stopOnSignal);
  }

  // ---- phase 3: transport ----
  results.transport = await measureTransport(
    certs.server.cert,
    certs.server.key,
    certs.ca.cert,
    tls,
    media,
    results.paired?.service.replyBytes ?? 1500,
  );
  machine.loadAverage.end = currentLoad();
  results.durationS = (performance.now() - startedAt) / 1000;
  const complete = results as Results;
  const { table } = writeResults(complete);
  log("");
  log(summarize(complete));
  log(table);
}

async function measureTransport(
  cert: string,
  key: string,
  ca: string,
  tls: Tls,
  media: ReturnType<typeof loadMedia>,
  replyBytes: number,
): Promise<Results["transport"]> {
  const child = spawn(
    process.execPath,
    [join(REPO, "bench", "tokenizer", "transport-server.ts"), cert, key, ca, String(replyBytes)],
    {
      stdio: ["ignore", "pipe", "inherit"],
    },
  );
  try {
    const base = await readyUrl(child);
    const url = new URL("/v1/tokenize", base);
    const pid = child.pid ?? fail();
    const window = media.windows[0] ?? fail();
    const batch = windowBody(window, 0, "s-transport");
    // one frame per request, the audio split across the five: what batching saves
    const perFrame = window.frames.map((frame, i) =>
      windowBody({ frames: [frame], pcm: window.pcm.subarray(i * 6400, (i + 1) * 6400) }, i, "s-transport"),
    );
    const measure = async (
      label: TransportMode["mode"],
      windows: number,
      send: () => Promise<void>,
    ): Promise<TransportMode> => {
      for (let i = 0; i < 10; i++) await send();
      const server0 = processCpuMs(pid);
      const client0 = process.cpuUsage();
      const walls: number[] = [];
      for (let i = 0; i < windows; i++) {
        const t = performance.now();
        await send();
        walls.push(performance.now() - t);
      }
      const client = process.cpuUsage(client0);
      return {
        mode: label,
        windows,
        serverCpuMsPerWindow: (processCpuMs(pid) - server0) / windows,
        clientCpuMsPerWindow: (client.user + client.system) / 1000 / windows,
        wallMsP50: percentile(walls, 50),
      };
    };
    const agent = keepAliveAgent(tls);
    try {
      const keepAlive = await measure("keep-alive", 300, async () => {
        await expectOk(post(url, batch, tls, agent));
      });
      const fresh = await measure("fresh handshake", 150, async () => {
        await expectOk(post(url, batch, tls, null));
      });
      const frames = await measure("request per frame", 150, async () => {
        for (const body of perFrame) await expectOk(post(url, body, tls, agent));
      });
      return { batchBytes: batch.byteLength, replyBytes, modes: [keepAlive, fresh, frames] };
    } finally {
      agent.destroy();
    }
  } finally {
    child.kill("SIGTERM");
  }
}

function readyUrl(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error("transport server not ready")), 20_000);
    child.stdout?.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      const line = out.split("\n").find((l) => l.startsWith('{"ready":true'));
      if (line) {
        clearTimeout(timer);
        resolve((JSON.parse(line) as { url: string }).url);
      }
    });
    child.once("exit", (code) => reject(new Error(`transport server exited ${code}`)));
  });
}

async function expectOk<T extends { status: number; body: Buffer }>(pending: Promise<T>): Promise<T> {
  const reply = await pending;
  if (reply.status !== 200)
    throw new Error(`service answered ${reply.status}: ${reply.body.toString("utf8").slice(0, 200)}`);
  return reply;
}

function fail(): never {
  throw new Error("benchmark input missing");
}

await main();
// TFJS's WASM backend keeps the event loop alive; every child has been stopped above.
process.exit(0);
