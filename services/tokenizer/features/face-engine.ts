/**
 * The face engine's slot in the pipeline: a `FrameFeatureEngine<FaceWindow>` (module.ts) that can
 * also be asked, per window, for the window's face embedding — the input of the keyed fingerprint
 * (fingerprint/biohash.ts). The embedding is requested only when the batch wants a fingerprint,
 * because the descriptor model roughly doubles the CPU per frame; it stays inside this process
 * and is zeroized by whoever takes it. Engines without an embedding model (face.ts
 * `noFaceEngine`, test spies) simply lack `embedding`, and the window gets `fingerprint: null`.
 */
import type { FaceWindow } from "../../../lib/features.ts";
import type { WindowEmbedding } from "../fingerprint/embedding.ts";
import type { FrameFeatureEngine, FrameFeatureModule } from "./module.ts";

export interface FaceWindowOptions {
  /** run the descriptor model on the window's analysed frames */
  embeddings: boolean;
}

export interface FaceFrameModule extends FrameFeatureModule<FaceWindow> {
  /**
   * The unit mean embedding over the window's usable frames, or null (none usable, or not
   * requested). Hands over ownership: the caller zeroizes `vector`. Call after the last frame.
   */
  embedding?(): WindowEmbedding | null;
  /**
   * Waits for frames `addFrame` only started (engines that run frames in parallel, face-pool.ts);
   * the pipeline calls it after the last frame, before `finish` and `embedding`.
   */
  flush?(): Promise<void>;
}

export interface FaceEngine extends FrameFeatureEngine<FaceWindow> {
  newWindow(frameCount: number, options?: FaceWindowOptions): FaceFrameModule;
}
