/**
 * One face-model worker thread of the pool (face-pool.ts): its own Human and TFJS WASM instance,
 * since TFJS keeps its backend and models per thread. It receives one frame at a time — pixels in
 * an ArrayBuffer transferred from the main thread, so no copy is left there — runs the models
 * through the same `createFaceObserver` the in-process engine uses, zeroizes the pixels, and
 * sends back only derived features: the face geometry and, when asked, the descriptor (its buffer
 * transferred, zeroized by the main thread once folded into the window's mean). Keys never come
 * here: the BioHash and the HSM session stay in the main thread. Errors go back as a bare code,
 * never with frame data or model messages, which could echo input.
 */
import { parentPort } from "node:worker_threads";
import { createFaceObserver } from "./face-human.ts";

/** What the main thread sends: one frame (`rgb` transferred) and whether to run the descriptor. */
export interface FaceJob {
  id: number;
  width: number;
  height: number;
  rgb: Uint8Array;
  embed: boolean;
}

const port = parentPort;
if (!port) throw new Error("face-worker.ts runs only as a worker thread");

try {
  const observer = await createFaceObserver();
  port.on("message", (job: FaceJob) => {
    observer.observe({ width: job.width, height: job.height, rgb: job.rgb }, job.embed).then(
      (result) => {
        const embedding = result.sample?.embedding;
        port.postMessage({ id: job.id, result }, embedding ? [embedding.buffer as ArrayBuffer] : []);
      },
      () => {
        job.rgb.fill(0);
        port.postMessage({ id: job.id, error: "ERR_FACE_MODEL" });
      },
    );
  });
  port.postMessage({ ready: true, backend: observer.backend });
} catch {
  port.postMessage({ ready: false });
}
