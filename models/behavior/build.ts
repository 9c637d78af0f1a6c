/**
 * The shipped behavior model: the trained, calibrated parameters committed in trained.json
 * (written by `node models/behavior/train.ts` from the scenario corpus). `node
 * models/behavior/build.ts` (or models/build-all.ts) rewrites model.onnx from them and checks
 * the sha256 line of card.md, so the bytes can be rebuilt without the corpus. Feature order comes
 * from workers/analyzer-behavior/vector.ts and must equal the trained one.
 */
import { BEHAVIOR_VECTOR } from "../../workers/analyzer-behavior/vector.ts";
import { loadTrained, writeTrainedModel } from "../train-run.ts";

export const BEHAVIOR_TRAINED = loadTrained(import.meta.dirname);
export const BEHAVIOR_MODEL = BEHAVIOR_TRAINED.model;
if (BEHAVIOR_MODEL.features.join(",") !== BEHAVIOR_VECTOR.features.map((f) => f.name).join(",")) {
  throw new Error("models/behavior/trained.json was trained on another feature order than vector.ts");
}

if (import.meta.main) writeTrainedModel(BEHAVIOR_TRAINED, import.meta.dirname);
