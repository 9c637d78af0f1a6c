/**
 * The plug-in shape every per-frame feature module follows, so that a new extractor (the face
 * mesh next) joins the pipeline without touching the others. A module sees each decoded frame
 * once, in capture order, keeps only derived aggregates between frames, and hands back its slice
 * of `WindowFeatures` at the end. Frames are zeroized right after every module has seen them
 * (product-spec §7), so a module must never keep a reference to pixel buffers; whatever small
 * derived state it does keep (e.g. the previous frame's border luma) it wipes in `dispose`.
 */
import type { DecodedFrame } from "./frame-decode.ts";

export interface FrameFeatureModule<T> {
  /** consumes one frame; may be async (model inference) */
  addFrame(frame: DecodedFrame): void | Promise<void>;
  /** the window aggregate, or null when the module has nothing to say (no frames, no model) */
  finish(): T | null;
  /** wipes retained derived state; called in a `finally`, also after errors */
  dispose(): void;
}

/** A factory the server holds for its lifetime; one module instance per batch (window). */
export interface FrameFeatureEngine<T> {
  readonly name: string;
  /** `frameCount`: frames the batch holds, so a costly module can pick an evenly spaced subset */
  newWindow(frameCount: number): FrameFeatureModule<T>;
  close?(): Promise<void>;
}
