/**
 * Tokenization inside `npm run bench`: the paired measurement of bench/tokenizer (its README says
 * how to read it), cut down to one pass over a few windows so the whole bench stays within its
 * time budget. Per one-second window, in this order: the bare model on the pre-decoded frames
 * (the baseline, in process), the service's own stage functions (in process, every other window),
 * and the same window POSTed to the real service over keep-alive mTLS, whose CPU comes from
 * /proc/<pid>/stat. Interleaving puts baseline and service under the same background load; CPU
 * time, not wall time, is compared. `npm run bench:tokenizer` remains the deeper version
 * (latency under load, transport, recognition windows).
 */
import type { Agent } from "node:https";
import { clientTls, keepAliveAgent, post, type Tls } from "./tokenizer/client.ts";
import { InProcessBench, type StageSample } from "./tokenizer/inprocess.ts";
import { processCpuMs, sleep, waitIdle } from "./tokenizer/measure.ts";
import { type BenchMedia, FRAMES_PER_WINDOW, windowBody } from "./tokenizer/media.ts";

export interface TokenizationFigures {
  windows: number;
  frames: number;
  bareCpuMsPerFrame: number;
  serviceCpuMsPerFrame: number;
  overhead: number;
  /** per-window service ÷ bare ratios: the spread */
  windowRatios: number[];
  stagesCpuMsPerFrame: {
    parse: number;
    decode: number;
    image: number;
    faceEngine: number;
    audio: number;
    tokenize: number;
  };
  replyBytes: number;
}

const sum = (values: readonly number[]): number => values.reduce((a, b) => a + b, 0);

async function ok(pending: ReturnType<typeof post>): Promise<Buffer> {
  const reply = await pending;
  if (reply.status !== 200) throw new Error(`tokenizer answered ${reply.status}`);
  return reply.body;
}

export async function measureTokenization(
  media: BenchMedia,
  serviceUrl: string,
  servicePid: number,
  tls: Tls,
  windows: number,
  log: (line: string) => void,
): Promise<TokenizationFigures> {
  const inproc = await InProcessBench.create(media);
  const url = new URL("/v1/tokenize", serviceUrl);
  const agent: Agent = keepAliveAgent(tls);
  const count = Math.min(windows, inproc.windows);
  try {
    // warm-up: WASM kernels, graphs, JIT, the TLS connection
    await inproc.bare(0);
    await inproc.stages(0);
    for (let w = 0; w < 2; w++)
      await ok(
        post(url, windowBody(media.windows[w % media.windows.length] ?? fail(), w, "warm"), tls, agent),
      );
    await waitIdle(servicePid, 10_000);
    let bareCpu = 0;
    let serviceCpu = 0;
    const ratios: number[] = [];
    const stages: StageSample[] = [];
    const replyBytes: number[] = [];
    for (let w = 0; w < count; w++) {
      const bare = await inproc.bare(w);
      if (w % 2 === 0) stages.push(await inproc.stages(w));
      // let a socket the server closed meanwhile be seen closed before it is reused
      await sleep(20);
      const before = processCpuMs(servicePid);
      const body = await ok(post(url, windowBody(media.windows[w] ?? fail(), w, "s-bench"), tls, agent));
      const service = processCpuMs(servicePid) - before;
      bareCpu += bare.cpuMs;
      serviceCpu += service;
      ratios.push(service / bare.cpuMs);
      replyBytes.push(body.byteLength);
      log(
        `  window ${w + 1}/${count}: bare ${(bare.cpuMs / FRAMES_PER_WINDOW).toFixed(1)}, service ${(service / FRAMES_PER_WINDOW).toFixed(1)} ms CPU/frame`,
      );
    }
    const frames = count * FRAMES_PER_WINDOW;
    const stageFrames = stages.length * FRAMES_PER_WINDOW;
    const stage = (key: keyof StageSample): number => sum(stages.map((s) => s[key])) / stageFrames;
    return {
      windows: count,
      frames,
      bareCpuMsPerFrame: bareCpu / frames,
      serviceCpuMsPerFrame: serviceCpu / frames,
      overhead: serviceCpu / bareCpu,
      windowRatios: ratios,
      stagesCpuMsPerFrame: {
        parse: stage("parse"),
        decode: stage("decode"),
        image: stage("image"),
        faceEngine: stage("faceEngine"),
        audio: stage("audio"),
        tokenize: stage("tokenize"),
      },
      replyBytes: Math.round(sum(replyBytes) / replyBytes.length),
    };
  } finally {
    agent.destroy();
    inproc.dispose();
  }
}

export { clientTls };

function fail(): never {
  throw new Error("benchmark input missing");
}
