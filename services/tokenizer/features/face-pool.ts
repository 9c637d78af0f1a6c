/**
 * The face engine as the service runs it: a pool of worker threads (node:worker_threads), one per
 * core by default (TOKENIZER_FACE_WORKERS), each with its own Human instance (face-worker.ts).
 * A window's frames — and the windows of concurrent sessions — then run on every core at once,
 * where the single TFJS WASM thread of `createHumanFaceEngine` ran them one after another
 * (bench/README.md "Optimisations"). The per-window logic is the in-process engine's own
 * (`faceWindowModule`), so the features are the same; only where `observe` runs differs.
 *
 * Raw-data discipline: each frame's pixels are copied once (the pipeline zeroizes its frame right
 * after) into a buffer that is transferred, not copied, to a worker; the worker zeroizes it after
 * the models ran. Frames wait for a free worker in this thread's FIFO queue, and a queued copy
 * that never runs (pool closed, worker lost) is zeroized here. Only derived features come back.
 * Keys and the HSM session stay in this thread. A worker that dies fails its frame (the request
 * answers 500) and is replaced.
 */
import { Worker } from "node:worker_threads";
import type { FaceEngine } from "./face-engine.ts";
import { type FaceFrameResult, type FaceInput, faceWindowModule } from "./face-human.ts";
import type { FaceJob } from "./face-worker.ts";

/** A worker could not start or died under a frame; rendered as a 500 with no internals. */
export class FacePoolError extends Error {
  override readonly name = "FacePoolError";
  readonly code = "ERR_FACE_WORKER";
}

interface Pending {
  id: number;
  input: FaceInput;
  embed: boolean;
  resolve(result: FaceFrameResult): void;
  reject(error: Error): void;
}

interface Slot {
  worker: Worker;
  job: Pending | null;
}

type WorkerReply =
  | { ready: true; backend: string }
  | { ready: false }
  | { id: number; result: FaceFrameResult }
  | { id: number; error: string };

export interface FaceWorkerPool extends FaceEngine {
  readonly size: number;
  close(): Promise<void>;
}

const WORKER_URL = new URL("./face-worker.ts", import.meta.url);

/** Starts one worker and resolves once its models are loaded. */
function startWorker(): Promise<{ worker: Worker; backend: string }> {
  const worker = new Worker(WORKER_URL);
  return new Promise((resolve, reject) => {
    const fail = (): void => {
      void worker.terminate();
      reject(new FacePoolError("face worker failed to start"));
    };
    worker.once("error", fail);
    worker.once("exit", fail);
    worker.once("message", (reply: WorkerReply) => {
      worker.off("error", fail);
      worker.off("exit", fail);
      if ("ready" in reply && reply.ready) resolve({ worker, backend: reply.backend });
      else fail();
    });
  });
}

export async function createFaceWorkerPool(
  size: number,
  maxFrames: number,
  embedMaxFrames: number,
): Promise<FaceWorkerPool> {
  const slots: Slot[] = [];
  const queue: Pending[] = [];
  let nextId = 0;
  let closing = false;

  const dispatch = (): void => {
    for (const slot of slots) {
      if (slot.job) continue;
      const job = queue.shift();
      if (!job) return;
      slot.job = job;
      // a frame in flight keeps the process alive; an idle worker does not (see adopt)
      slot.worker.ref();
      const message: FaceJob = { id: job.id, ...job.input, embed: job.embed };
      // transferred: the buffer is detached here, the worker owns (and zeroizes) the pixels
      slot.worker.postMessage(message, [job.input.rgb.buffer as ArrayBuffer]);
    }
  };

  const failQueued = (): void => {
    for (const job of queue.splice(0)) {
      job.input.rgb.fill(0);
      job.reject(new FacePoolError("face engine closed"));
    }
  };

  const adopt = (worker: Worker): void => {
    const slot: Slot = { worker, job: null };
    slots.push(slot);
    worker.on("message", (reply: WorkerReply) => {
      const job = slot.job;
      if (!job || !("id" in reply) || reply.id !== job.id) return;
      slot.job = null;
      slot.worker.unref();
      if ("result" in reply) job.resolve(reply.result);
      else job.reject(new FacePoolError("face model failed on a frame"));
      dispatch();
    });
    const lost = (): void => {
      const index = slots.indexOf(slot);
      if (index < 0) return;
      slots.splice(index, 1);
      slot.job?.reject(new FacePoolError("face worker exited"));
      slot.job = null;
      if (closing) return;
      // Replace it; until then (or if that fails) the other workers take the queue.
      startWorker().then(
        ({ worker: fresh }) => {
          if (closing) void fresh.terminate();
          else {
            adopt(fresh);
            dispatch();
          }
        },
        () => {
          if (slots.length === 0) failQueued();
        },
      );
      if (slots.length === 0) failQueued();
    };
    worker.on("error", lost);
    worker.on("exit", lost);
    // idle workers must not keep a process alive on their own (a test runner, a script)
    worker.unref();
  };

  const started = await Promise.allSettled(Array.from({ length: size }, () => startWorker()));
  const backends: string[] = [];
  for (const s of started) {
    if (s.status === "fulfilled") {
      adopt(s.value.worker);
      backends.push(s.value.backend);
    }
  }
  if (slots.length < size) {
    closing = true;
    await Promise.all(slots.map((s) => s.worker.terminate()));
    throw new FacePoolError(`${size - slots.length} of ${size} face workers failed to start`);
  }

  const run = (input: FaceInput, embed: boolean): Promise<FaceFrameResult> =>
    new Promise((resolve, reject) => {
      if (closing || slots.length === 0) {
        input.rgb.fill(0);
        reject(new FacePoolError("face engine closed"));
        return;
      }
      queue.push({ id: nextId++, input, embed, resolve, reject });
      dispatch();
    });

  return {
    name: `face:human(${backends[0] ?? "?"}) × ${size} workers`,
    size,
    newWindow: (frameCount, options) =>
      faceWindowModule(frameCount, options, { maxFrames, embedMaxFrames, parallel: true }, run),
    async close() {
      closing = true;
      failQueued();
      await Promise.all(slots.splice(0).map((s) => s.worker.terminate()));
    },
  };
}
