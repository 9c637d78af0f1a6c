/**
 * Optional face engine on @vladmandic/human (TFJS face detector + Face Mesh with iris), enabled
 * with TOKENIZER_FACE=human; the default pipeline keeps `face: null` (face.ts). Per
 * platform-notes: the package's exports map points Node at a tfjs-node build that cannot install
 * offline, so the WASM build is loaded by its own export path, with the WASM backend, and `fetch`
 * answers `file://` model URLs from the installed package (read-only; nothing is written).
 *
 * Raw-data discipline: each frame is copied once into an Int32Array for the input tensor; the
 * tensor is disposed and the copy zeroized right after detection. Human's frame cache is off
 * (`cacheSensitivity: 0`, no skipped frames) because requests of different sessions interleave and
 * a cache would carry one session's frame into another's result. TFJS's WASM heap is released on
 * dispose but not overwritten — a known gap until the HSM step moves this into a worker that
 * exits per session. CPU: ~140 ms per frame here, so at most TOKENIZER_FACE_MAX_FRAMES (default
 * 8) evenly spaced frames per window run through the model.
 */
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import type { FaceWindow } from "../../../lib/features.ts";
import type { Point } from "./face-geometry.ts";
import { type FaceObservation, FaceWindowAccumulator } from "./face-window.ts";
import type { DecodedFrame } from "./frame-decode.ts";
import type { FrameFeatureEngine, FrameFeatureModule } from "./module.ts";

interface HumanTensor {
  dispose(): void;
}
interface HumanFace {
  score: number;
  box: [number, number, number, number];
  mesh: [number, number, number][];
  rotation?: { angle: { yaw: number; pitch: number; roll: number } } | null;
}
interface HumanInstance {
  load(): Promise<void>;
  warmup(): Promise<unknown>;
  detect(input: HumanTensor): Promise<{ face: HumanFace[] }>;
  tf: {
    tensor3d(values: Int32Array, shape: [number, number, number], dtype: "int32"): HumanTensor;
    getBackend(): string;
  };
}
type HumanConstructor = new (config: Record<string, unknown>) => HumanInstance;

export const DEFAULT_FACE_MAX_FRAMES = 8;

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

export async function createHumanFaceEngine(
  maxFrames = DEFAULT_FACE_MAX_FRAMES,
): Promise<FrameFeatureEngine<FaceWindow>> {
  const require = createRequire(import.meta.url);
  // The exports map's subpaths lack "./" (invalid), and its "node" entry is the tfjs-node build:
  // resolve that entry only to find dist/, then load the WASM build beside it by path.
  const humanPath = join(dirname(require.resolve("@vladmandic/human")), "human.node-wasm.js");
  const wasmDir = dirname(require.resolve("@tensorflow/tfjs-backend-wasm"));
  installFileFetch();
  const { Human } = require(humanPath) as { Human: HumanConstructor };
  const human = new Human({
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
      description: { enabled: false },
      emotion: { enabled: false },
      antispoof: { enabled: false },
      liveness: { enabled: false },
    },
    body: { enabled: false },
    hand: { enabled: false },
    object: { enabled: false },
    gesture: { enabled: false },
    segmentation: { enabled: false },
  });
  await human.load();
  const exclusive = serial();

  async function observe(frame: DecodedFrame): Promise<FaceObservation> {
    const input = new Int32Array(frame.rgb.length);
    try {
      input.set(frame.rgb);
      const tensor = human.tf.tensor3d(input, [frame.height, frame.width, 3], "int32");
      let faces: HumanFace[];
      try {
        faces = (await human.detect(tensor)).face;
      } finally {
        tensor.dispose();
      }
      return {
        frameWidth: frame.width,
        frameHeight: frame.height,
        faces: faces
          .map((f) => ({
            box: f.box,
            yawRad: f.rotation?.angle.yaw ?? 0,
            pitchRad: f.rotation?.angle.pitch ?? 0,
            mesh: f.mesh as Point[],
          }))
          .sort((a, b) => b.box[2] * b.box[3] - a.box[2] * a.box[3]),
      };
    } finally {
      input.fill(0);
    }
  }

  return {
    name: `face:human(${human.tf.getBackend()})`,
    newWindow(frameCount: number): FrameFeatureModule<FaceWindow> {
      const accumulator = new FaceWindowAccumulator();
      let index = 0;
      // frame i runs when floor(i·M/N) steps: M evenly spaced frames out of N
      const picked = (i: number): boolean =>
        frameCount <= maxFrames ||
        i === 0 ||
        Math.floor((i * maxFrames) / frameCount) !== Math.floor(((i - 1) * maxFrames) / frameCount);
      return {
        async addFrame(frame) {
          const i = index++;
          if (!picked(i)) return;
          accumulator.add(await exclusive(() => observe(frame)));
        },
        finish: () => accumulator.finish(),
        dispose: () => accumulator.dispose(),
      };
    },
  };
}
