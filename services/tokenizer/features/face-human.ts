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
 */
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import { EmbeddingAccumulator } from "../fingerprint/embedding.ts";
import type { FaceEngine, FaceFrameModule, FaceWindowOptions } from "./face-engine.ts";
import type { Point } from "./face-geometry.ts";
import { type FaceObservation, FaceWindowAccumulator } from "./face-window.ts";
import type { DecodedFrame } from "./frame-decode.ts";

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

/**
 * `maxFrames`: frames per window through detector + mesh; `embedMaxFrames`: of those, how many
 * also run the descriptor when the window wants a fingerprint.
 */
export async function createHumanFaceEngine(
  maxFrames = DEFAULT_FACE_MAX_FRAMES,
  embedMaxFrames = DEFAULT_FINGERPRINT_MAX_FRAMES,
): Promise<FaceEngine> {
  const require = createRequire(import.meta.url);
  // The exports map's subpaths lack "./" (invalid), and its "node" entry is the tfjs-node build:
  // resolve that entry only to find dist/, then load the WASM build beside it by path.
  const humanPath = join(dirname(require.resolve("@vladmandic/human")), "human.node-wasm.js");
  const wasmDir = dirname(require.resolve("@tensorflow/tfjs-backend-wasm"));
  installFileFetch();
  const { Human } = require(humanPath) as { Human: HumanConstructor };
  const human = new Human(humanConfig(humanPath, wasmDir));
  await human.load();
  const exclusive = serial();

  /**
   * One frame through the models. With `embeddings`, the largest face's descriptor is folded into
   * that running mean; then Human's descriptor and mesh arrays are wiped in place (Human keeps a
   * reference to its last result).
   */
  async function observe(
    frame: DecodedFrame,
    embeddings: EmbeddingAccumulator | null,
  ): Promise<FaceObservation> {
    const input = new Int32Array(frame.rgb.length);
    let faces: HumanFace[] = [];
    try {
      input.set(frame.rgb);
      const tensor = human.tf.tensor3d(input, [frame.height, frame.width, 3], "int32");
      try {
        // Human merges this into its config for good, so the flag is passed on every call.
        faces = (await human.detect(tensor, { face: { description: { enabled: embeddings !== null } } }))
          .face;
      } finally {
        tensor.dispose();
      }
      const sorted = [...faces].sort((a, b) => b.box[2] * b.box[3] - a.box[2] * a.box[3]);
      const [largest] = sorted;
      if (embeddings && largest) {
        embeddings.add({
          faceCount: faces.length,
          faceWidthPx: largest.box[2],
          yawRad: largest.rotation?.angle.yaw ?? 0,
          pitchRad: largest.rotation?.angle.pitch ?? 0,
          embedding: largest.embedding ?? null,
        });
      }
      return {
        frameWidth: frame.width,
        frameHeight: frame.height,
        faces: sorted.map((f) => ({
          box: f.box,
          yawRad: f.rotation?.angle.yaw ?? 0,
          pitchRad: f.rotation?.angle.pitch ?? 0,
          // a copy: Human's own arrays are wiped below
          mesh: f.mesh.map((p) => [p[0], p[1], p[2]] as Point),
        })),
      };
    } finally {
      input.fill(0);
      for (const f of faces) {
        f.embedding?.fill(0);
        for (const p of f.mesh) p.fill(0);
      }
    }
  }

  return {
    name: `face:human(${human.tf.getBackend()})`,
    newWindow(frameCount: number, options?: FaceWindowOptions): FaceFrameModule {
      const accumulator = new FaceWindowAccumulator();
      const embeddings = options?.embeddings ? new EmbeddingAccumulator() : null;
      const analysed = Math.min(frameCount, maxFrames);
      let index = 0;
      let analysedIndex = 0;
      return {
        async addFrame(frame) {
          const i = index++;
          if (!evenlySpaced(i, frameCount, maxFrames)) return;
          // the descriptor runs on an evenly spaced subset of the analysed frames
          const k = analysedIndex++;
          const sink = embeddings && evenlySpaced(k, analysed, embedMaxFrames) ? embeddings : null;
          accumulator.add(await exclusive(() => observe(frame, sink)));
        },
        finish: () => accumulator.finish(),
        embedding: () => embeddings?.finish() ?? null,
        dispose: () => {
          accumulator.dispose();
          embeddings?.dispose();
        },
      };
    },
  };
}
