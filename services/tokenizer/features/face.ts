/**
 * Face geometry slot of the pipeline (lib/features.ts `FaceWindowSchema`). The face mesh
 * (@vladmandic/human, platform-notes "Regional tokenization service") arrives in a later step as
 * another `FrameFeatureEngine<FaceWindow>`; until then the pipeline runs this engine, which
 * reports `face: null` ("no face model ran"), never a made-up zero that analyzers would trust.
 * The same engine slot will produce the embedding for the keyed fingerprint, which stays inside
 * the tokenizer.
 */
import type { FaceWindow } from "../../../lib/features.ts";
import type { FrameFeatureEngine } from "./module.ts";

export const noFaceEngine: FrameFeatureEngine<FaceWindow> = {
  name: "face:none",
  newWindow: () => ({
    addFrame: () => {},
    finish: () => null,
    dispose: () => {},
  }),
};
