/**
 * The shipped environment model: the trained, calibrated parameters committed in trained.json
 * (written by `node models/environment/train.ts` from the scenario corpus). `node
 * models/environment/build.ts` (or models/build-all.ts) rewrites model.onnx from them and checks
 * the sha256 line of card.md, so the bytes can be rebuilt without the corpus. Feature order comes
 * from workers/analyzer-environment/vector.ts and must equal the trained one.
 */
import { ENVIRONMENT_VECTOR } from "../../workers/analyzer-environment/vector.ts";
import { loadTrained, writeTrainedModel } from "../train-run.ts";

export const ENVIRONMENT_TRAINED = loadTrained(import.meta.dirname);
export const ENVIRONMENT_MODEL = ENVIRONMENT_TRAINED.model;
if (ENVIRONMENT_MODEL.features.join(",") !== ENVIRONMENT_VECTOR.features.map((f) => f.name).join(",")) {
  throw new Error("models/environment/trained.json was trained on another feature order than vector.ts");
}

if (import.meta.main) writeTrainedModel(ENVIRONMENT_TRAINED, import.meta.dirname);
