/**
 * The face engine on @vladmandic/human (TFJS face detector + Face Mesh with iris, and the
 * `faceres` descriptor for the fingerprint), on by default (TOKENIZER_FACE=human; `none` opts
 * out, face.ts). Per platform-notes: the package's exports map points Node at a tfjs-node build
 * that cannot install offline, so the WASM build is loaded by its own export path, with the WASM
 * backend, and `fetch` answers `file://` model URLs from the installed package (read-only;
 * nothing is written).
 *
 * Raw-data discipline: each frame is copied once into an Int32Array for the input tensor; the
 * tensor is disposed and the copy zeroized right after detection. Human's frame cache is off
 * (`cacheSensitivity: 0`, no skipped frames) because requests of different sessions interleave and
 * a cache would carry one session's frame into another's result. The descriptor runs only for
 * windows that want a fingerprint (`newWindow(n, { embeddings: true })`); each descriptor is folded
 * into the window's running mean (fingerprint/embedding.ts) and Human's own copy of it, like the
 * mesh, is overwritten with zeros before the next frame, since Human keeps its last result. TFJS's
 * WASM heap is released on dispose but not overwritten — a known gap until the HSM step moves this
 * into a worker that exits per session. CPU: see `docs/deploy.md`; at most
 * TOKENIZER_FACE_MAX_FRAMES (default 8) evenly spaced frames per window run through the models.
 * The service runs `createFaceObserver` in a pool of worker threads (face-pool.ts) so a window's
 * frames use every core; `createHumanFaceEngine` is the same code in the calling thread.
 */
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import { EmbeddingAccumulator, type EmbeddingFrame } from "../fingerprint/embedding.ts";
import type { FaceEngine, FaceFrameModule, FaceWindowOptions } from "./face-engine.ts";
import type { Point } from "./face-geometry.ts";
import { type FaceObservation, FaceWindowAccumulator } from "./face-window.ts";

interface HumanTensor {
  dispose(): void;
}
interface HumanFace {
  score: number;
  box: [number, number, number, number];
  mesh: [number, number, number][];
  embedding?: number[];
  rotation?: { angle: { yaw: number; pitch: number; roll: number } } | null;
}
interface HumanInstance {
  load(): Promise<void>;
  warmup(): Promise<unknown>;
  detect(input: HumanTensor, config?: Record<string, unknown>): Promise<{ face: HumanFace[] }>;
  tf: {
    tensor3d(values: Int32Array, shape: [number, number, number], dtype: "int32"): HumanTensor;
    getBackend(): string;
  };
}
type HumanConstructor = new (config: Record<string, unknown>) => HumanInstance;

export const DEFAULT_FACE_MAX_FRAMES = 8;
/** The descriptor adds ~110–150 ms CPU per frame; a second's frames barely differ in identity. */
export const DEFAULT_FINGERPRINT_MAX_FRAMES = 3;

/** Serves `file://` URLs from disk; everything else goes to the real fetch. Installed once. */
function installFileFetch(): void {
  const marker = Symbol.for("facet.tokenizer.fileFetch");
  const holder = globalThis as unknown as Record<symbol, boolean>;
  if (holder[marker]) return;
  holder[marker] = true;
  const realFetch = globalThis.fetch;
  globalThis.fetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
    if (!url.startsWith("file://")) return realFetch(input, init);
    const bytes = await readFile(new URL(url));
    return new Response(bytes, {
      headers: { "content-type": url.endsWith(".json") ? "application/json" : "application/octet-stream" },
    });
  };
}

/** Runs `task` after every earlier one: Human and TFJS are shared by all requests. */
function serial(): <T>(task: () => Promise<T>) => Promise<T> {
  let tail: Promise<unknown> = Promise.resolve();
  return <T>(task: () => Promise<T>): Promise<T> => {
    const run = tail.then(task, task);
    tail = run.catch(() => {});
    return run;
  };
}

/** Whether item i of n is one of m evenly spaced picks: it is when floor(i·m/n) steps. */
function evenlySpaced(i: number, n: number, m: number): boolean {
  return n <= m || i === 0 || Math.floor((i * m) / n) !== Math.floor(((i - 1) * m) / n);
}

/**
 * Human's configuration for the tokenizer: face detector, mesh, iris and the descriptor model;
 * every cache off so sessions cannot bleed into each other. Exported so the benchmark's bare
 * baseline runs exactly the same models (bench/tokenizer).
 */
export function humanConfig(humanPath: string, wasmDir: string): Record<string, unknown> {
  return {
    backend: "wasm",
    wasmPath: `${pathToFileURL(wasmDir).href}/`,
    modelBasePath: `${pathToFileURL(join(dirname(humanPath), "..", "models")).href}/`,
    debug: false,
    async: false,
    warmup: "none",
    cacheSensitivity: 0,
    filter: { enabled: false },
    face: {
      enabled: true,
      detector: { rotation: true, maxDetected: 3, minConfidence: 0.5, skipFrames: 0, skipTime: 0 },
      mesh: { enabled: true },
      iris: { enabled: true, skipFrames: 0, skipTime: 0 },
      // loaded at start (so the first fingerprint is not slow), run per window on request
      description: { enabled: true, minConfidence: 0.5, skipFrames: 0, skipTime: 0 },
      emotion: { enabled: false },
      antispoof: { enabled: false },
      liveness: { enabled: false },
    },
    body: { enabled: false },
    hand: { enabled: false },
    object: { enabled: false },
    gesture: { enabled: false },
    segmentation: { enabled: false },
  };
}

/** One frame's pixels as the face models take them; `rgb` is owned (and zeroized) by the observer. */
export interface FaceInput {
  width: number;
  height: number;
  /** interleaved 8-bit RGB, width*height*3 bytes */
  rgb: Uint8Array;
}

/** What one frame yields: the geometry for the window, and the descriptor sample when asked. */
export interface FaceFrameResult {
  observation: FaceObservation;
  /** present only when the descriptor ran; its `embedding` is a fresh copy the caller zeroizes */
  sample: (EmbeddingFrame & { embedding: Float32Array | null }) | null;
}

export interface FaceObserver {
  readonly backend: string;
  /** Runs the models on one frame; zeroizes `input.rgb` and every pixel copy before it returns. */
  observe(input: FaceInput, embed: boolean): Promise<FaceFrameResult>;
}

/**
 * Loads Human with the tokenizer's configuration in the calling thread. The in-process engine
 * below holds one; each worker of the pool (face-pool.ts) holds its own, since TFJS state is
 * per thread.
 */
export async function createFaceObserver(): Promise<FaceObserver> {
  const require = createRequire(import.meta.url);
  // The exports map's subpaths lack "./" (invalid), and its "node" entry is the tfjs-node build:
  // resolve that entry only to find dist/, then load the WASM build beside it by path.
  const humanPath = join(dirname(require.resolve("@vladmandic/human")), "human.node-wasm.js");
  const wasmDir = dirname(require.resolve("@tensorflow/tfjs-backend-wasm"));
  installFileFetch();
  const { Human } = require(humanPath) as { Human: HumanConstructor };
  const human = new Human(humanConfig(humanPath, wasmDir));
  await human.load();

  /**
   * One frame through the models. The largest face's descriptor (when asked) is copied out; then
   * Human's descriptor and mesh arrays are wiped in place (Human keeps a reference to its last
   * result), as are the caller's pixels and the int32 tensor input.
   */
  async function observe(frame: FaceInput, embed: boolean): Promise<FaceFrameResult> {
    const input = new Int32Array(frame.rgb.length);
    let faces: HumanFace[] = [];
    try {
      input.set(frame.rgb);
      frame.rgb.fill(0);
      const tensor = human.tf.tensor3d(input, [frame.height, frame.width, 3], "int32");
      try {
        // Human merges this into its config for good, so the flag is passed on every call.
        faces = (await human.detect(tensor, { face: { description: { enabled: embed } } })).face;
      } finally {
        tensor.dispose();
      }
      const sorted = [...faces].sort((a, b) => b.box[2] * b.box[3] - a.box[2] * a.box[3]);
      const [largest] = sorted;
      const sample =
        embed && largest
          ? {
              faceCount: faces.length,
              faceWidthPx: largest.box[2],
              yawRad: largest.rotation?.angle.yaw ?? 0,
              pitchRad: largest.rotation?.angle.pitch ?? 0,
              embedding: largest.embedding ? Float32Array.from(largest.embedding) : null,
            }
          : null;
      return {
        observation: {
          frameWidth: frame.width,
          frameHeight: frame.height,
          faces: sorted.map((f) => ({
            box: [f.box[0], f.box[1], f.box[2], f.box[3]] as [number, number, number, number],
            yawRad: f.rotation?.angle.yaw ?? 0,
            pitchRad: f.rotation?.angle.pitch ?? 0,
            // a copy: Human's own arrays are wiped below
            mesh: f.mesh.map((p) => [p[0], p[1], p[2]] as Point),
          })),
        },
        sample,
      };
    } finally {
      input.fill(0);
      frame.rgb.fill(0);
      for (const f of faces) {
        f.embedding?.fill(0);
        for (const p of f.mesh) p.fill(0);
      }
    }
  }

  return { backend: human.tf.getBackend(), observe };
}

/**
 * The per-window half of a face engine, shared by the in-process engine and the worker pool:
 * picks the evenly spaced frames, hands each to `run`, and folds the results into the window's
 * accumulators in capture order. With `parallel`, `addFrame` only starts the frame (the pixels are
 * copied out synchronously, so the caller may zeroize its frame at once) and `flush` waits for all
 * of them; otherwise `addFrame` waits, so at most one frame is in flight as before the pool.
 */
export function faceWindowModule(
  frameCount: number,
  options: FaceWindowOptions | undefined,
  limits: { maxFrames: number; embedMaxFrames: number; parallel: boolean },
  run: (input: FaceInput, embed: boolean) => Promise<FaceFrameResult>,
): FaceFrameModule {
  const accumulator = new FaceWindowAccumulator();
  const embeddings = options?.embeddings ? new EmbeddingAccumulator() : null;
  const analysed = Math.min(frameCount, limits.maxFrames);
  const pending: Promise<FaceFrameResult>[] = [];
  let index = 0;
  let analysedIndex = 0;
  let disposed = false;

  /** Folds one result in (unless the window is gone) and wipes the descriptor copy either way. */
  const fold = (result: FaceFrameResult): void => {
    try {
      if (disposed) return;
      accumulator.add(result.observation);
      if (embeddings && result.sample) embeddings.add(result.sample);
    } finally {
      result.sample?.embedding?.fill(0);
    }
  };

  async function flush(): Promise<void> {
    const all = pending.splice(0);
    // settle every frame first, so a failure leaves no descriptor copy unwiped
    const settled = await Promise.allSettled(all);
    let failure: unknown = null;
    for (const s of settled) {
      if (s.status === "fulfilled") fold(s.value);
      else failure ??= s.reason;
    }
    if (failure !== null) throw failure;
  }

  return {
    async addFrame(frame) {
      const i = index++;
      if (!evenlySpaced(i, frameCount, limits.maxFrames)) return;
      // the descriptor runs on an evenly spaced subset of the analysed frames
      const k = analysedIndex++;
      const embed = embeddings !== null && evenlySpaced(k, analysed, limits.embedMaxFrames);
      const job = run({ width: frame.width, height: frame.height, rgb: frame.rgb.slice() }, embed);
      // a window abandoned mid-way (dispose) still wipes what comes back later
      job.then(
        (r) => {
          if (disposed) r.sample?.embedding?.fill(0);
        },
        () => {},
      );
      pending.push(job);
      if (!limits.parallel) await flush();
    },
    flush,
    finish: () => accumulator.finish(),
    embedding: () => embeddings?.finish() ?? null,
    dispose: () => {
      disposed = true;
      pending.length = 0;
      accumulator.dispose();
      embeddings?.dispose();
    },
  };
}

/**
 * The in-process engine: one Human in this thread, frames run one at a time (TOKENIZER_FACE_WORKERS=0).
 * `maxFrames`: frames per window through detector + mesh; `embedMaxFrames`: of those, how many
 * also run the descriptor when the window wants a fingerprint.
 */
export async function createHumanFaceEngine(
  maxFrames = DEFAULT_FACE_MAX_FRAMES,
  embedMaxFrames = DEFAULT_FINGERPRINT_MAX_FRAMES,
): Promise<FaceEngine> {
  const observer = await createFaceObserver();
  const exclusive = serial();
  const run = (input: FaceInput, embed: boolean): Promise<FaceFrameResult> =>
    exclusive(() => observer.observe(input, embed));
  return {
    name: `face:human(${observer.backend})`,
    newWindow: (frameCount, options) =>
      faceWindowModule(frameCount, options, { maxFrames, embedMaxFrames, parallel: false }, run),
  };
}
