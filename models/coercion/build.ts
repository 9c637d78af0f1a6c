/**
 * The shipped coercion model: the trained, calibrated parameters committed in trained.json
 * (written by `node models/coercion/train.ts` from the scenario corpus). `node
 * models/coercion/build.ts` (or models/build-all.ts) rewrites model.onnx from them and checks
 * the sha256 line of card.md, so the bytes can be rebuilt without the corpus. Feature order comes
 * from workers/analyzer-coercion/vector.ts and must equal the trained one.
 */
import { COERCION_VECTOR } from "../../workers/analyzer-coercion/vector.ts";
import { loadTrained, writeTrainedModel } from "../train-run.ts";

export const COERCION_TRAINED = loadTrained(import.meta.dirname);
export const COERCION_MODEL = COERCION_TRAINED.model;
if (COERCION_MODEL.features.join(",") !== COERCION_VECTOR.features.map((f) => f.name).join(",")) {
  throw new Error("models/coercion/trained.json was trained on another feature order than vector.ts");
}

if (import.meta.main) writeTrainedModel(COERCION_TRAINED, import.meta.dirname);
