/**
 * The in-process half of the benchmark, no HTTP and no TLS:
 *
 * - the baseline, "bare model inference": @vladmandic/human with the service's configuration
 *   (services/tokenizer/features/face-human.ts, mirrored below) run on frames decoded beforehand,
 *   one input tensor per frame — the least CPU any process can spend to get the same face result;
 * - the service's own stage functions on the same frames, each timed alone: batch parse
 *   (`decodeBatch`), JPEG decode + luma (`decodeFrame`), image statistics (`imageEngine`), the face
 *   engine as the service builds it (`createHumanFaceEngine`: tensor copy, models, mesh geometry),
 *   audio features (`extractAudio`, per one-second window), and the whole `tokenize()` pipeline.
 *
 * All figures are CPU time of this process (every thread), after a warm-up, so they compare with
 * the service process's CPU time measured over HTTPS (run.ts).
 */
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { decodeBatch } from "../../lib/tokenizer-batch.ts";
import { extractAudio } from "../../services/tokenizer/features/audio.ts";
import type { FaceEngine } from "../../services/tokenizer/features/face-engine.ts";
import {
  createHumanFaceEngine,
  DEFAULT_FACE_MAX_FRAMES,
  DEFAULT_FINGERPRINT_MAX_FRAMES,
  humanConfig,
} from "../../services/tokenizer/features/face-human.ts";
import {
  type DecodedFrame,
  decodeFrame,
  zeroizeFrame,
} from "../../services/tokenizer/features/frame-decode.ts";
import { imageEngine } from "../../services/tokenizer/features/image.ts";
import { defaultEngines, tokenize } from "../../services/tokenizer/tokenize.ts";
import { selfCpuMs } from "./measure.ts";
import { type BenchMedia, windowBody } from "./media.ts";

interface HumanTensor {
  dispose(): void;
}
interface HumanInstance {
  load(): Promise<void>;
  detect(input: HumanTensor, config?: Record<string, unknown>): Promise<{ face: unknown[] }>;
  tf: { tensor3d(values: Int32Array, shape: [number, number, number], dtype: "int32"): HumanTensor };
}
type HumanConstructor = new (config: Record<string, unknown>) => HumanInstance;

const FACE_MAX_FRAMES = DEFAULT_FACE_MAX_FRAMES;
const FINGERPRINT_MAX_FRAMES = DEFAULT_FINGERPRINT_MAX_FRAMES;
/** Frames of a 5-frame window that run the descriptor: face-human.ts `evenlySpaced(k, 5, 3)`. */
const DESCRIPTOR_FRAMES = new Set([0, 2, 4]);

/** CPU ms each in-process stage spent on one window. */
export interface StageSample {
  parse: number;
  decode: number;
  image: number;
  faceEngine: number;
  audio: number;
  /** the whole `tokenize()` in process: everything but HTTP, TLS and the request log */
  tokenize: number;
}

export interface BareSample {
  cpuMs: number;
  wallMs: number;
  frames: number;
  withFace: number;
}

async function cpuOf(task: () => unknown): Promise<number> {
  const start = selfCpuMs();
  await task();
  return selfCpuMs() - start;
}

/**
 * The in-process measurements, one window at a time so that run.ts can interleave them with the
 * service's: on a shared machine both then see the same background load.
 */
export class InProcessBench {
  readonly #engine: FaceEngine;
  readonly #human: HumanInstance;
  readonly #media: BenchMedia;
  /** per window: the frames decoded once, as the model's int32 input (the bare baseline's input) */
  readonly #inputs: { shape: [number, number, number]; data: Int32Array }[][];
  readonly #bodies: Uint8Array[];

  private constructor(engine: FaceEngine, human: HumanInstance, media: BenchMedia) {
    this.#engine = engine;
    this.#human = human;
    this.#media = media;
    this.#inputs = media.windows.map((w) =>
      decodeWindow(w.frames).map((f) => {
        const input = {
          shape: [f.height, f.width, 3] as [number, number, number],
          data: Int32Array.from(f.rgb),
        };
        zeroizeFrame(f);
        return input;
      }),
    );
    this.#bodies = media.windows.map((w, i) => windowBody(w, i, "session-bench"));
  }

  /** Loads the service's face engine, then a bare Human beside it (same module, same TFJS backend). */
  static async create(media: BenchMedia): Promise<InProcessBench> {
    // The engine installs the process-wide `file://` fetch the models load through; the bare
    // instance below relies on it, so the engine is created first.
    const engine = await createHumanFaceEngine(FACE_MAX_FRAMES, FINGERPRINT_MAX_FRAMES);
    const require = createRequire(import.meta.url);
    const humanPath = join(dirname(require.resolve("@vladmandic/human")), "human.node-wasm.js");
    const wasmDir = dirname(require.resolve("@tensorflow/tfjs-backend-wasm"));
    const { Human } = require(humanPath) as { Human: HumanConstructor };
    const human = new Human(humanConfig(humanPath, wasmDir));
    await human.load();
    return new InProcessBench(engine, human, media);
  }

  get windows(): number {
    return this.#media.windows.length;
  }

  async #detect(
    input: { shape: [number, number, number]; data: Int32Array },
    description: boolean,
  ): Promise<number> {
    const tensor = this.#human.tf.tensor3d(input.data, input.shape, "int32");
    try {
      return (await this.#human.detect(tensor, { face: { description: { enabled: description } } })).face
        .length;
    } finally {
      tensor.dispose();
    }
  }

  /**
   * The baseline: window `w`'s frames through the models and nothing else. With `fingerprint`,
   * the descriptor also runs on the frames the service would pick for it.
   */
  async bare(w: number, fingerprint = false): Promise<BareSample> {
    const inputs = this.#inputs[w] ?? [];
    let cpuMs = 0;
    let withFace = 0;
    const wall0 = performance.now();
    for (const [i, input] of inputs.entries()) {
      const start = selfCpuMs();
      const faces = await this.#detect(input, fingerprint && DESCRIPTOR_FRAMES.has(i));
      cpuMs += selfCpuMs() - start;
      if (faces > 0) withFace++;
    }
    return { cpuMs, wallMs: performance.now() - wall0, frames: inputs.length, withFace };
  }

  /** Window `w` through each of the service's stage functions, each timed alone. */
  async stages(w: number): Promise<StageSample> {
    const window = this.#media.windows[w];
    const body = this.#bodies[w];
    if (!window || !body) throw new Error(`no window ${w}`);
    const parse = await cpuOf(() => decodeBatch(body));
    let decoded: DecodedFrame[] = [];
    const decode = await cpuOf(() => {
      decoded = decodeWindow(window.frames);
    });
    const image = await cpuOf(() => {
      const module = imageEngine.newWindow(decoded.length);
      try {
        for (const f of decoded) void module.addFrame(f);
        module.finish();
      } finally {
        module.dispose();
      }
    });
    const faceEngine = await cpuOf(async () => {
      const module = this.#engine.newWindow(decoded.length, { embeddings: false });
      try {
        for (const f of decoded) await module.addFrame(f);
        module.finish();
      } finally {
        module.dispose();
      }
    });
    for (const f of decoded) zeroizeFrame(f);
    const audio = await cpuOf(() => extractAudio(window.pcm, 0));
    const engines = { ...defaultEngines, face: this.#engine };
    const whole = await cpuOf(() => tokenize(body, engines));
    return { parse, decode, image, faceEngine, audio, tokenize: whole };
  }

  dispose(): void {
    for (const window of this.#inputs) for (const input of window) input.data.fill(0);
  }
}

function decodeWindow(frames: Uint8Array[]): DecodedFrame[] {
  return frames.map((bytes, i) =>
    decodeFrame({ tsMs: i * 200, format: "jpeg", offset: 0, length: bytes.length }, bytes),
  );
}
