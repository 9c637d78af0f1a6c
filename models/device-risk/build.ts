/**
 * The shipped device_risk model: the trained, calibrated parameters committed in trained.json
 * (written by `node models/device-risk/train.ts` from the scenario corpus). `node
 * models/device-risk/build.ts` (or models/build-all.ts) rewrites model.onnx from them and checks
 * the sha256 line of card.md, so the bytes can be rebuilt without the corpus. Feature order comes
 * from workers/analyzer-device-risk/vector.ts and must equal the trained one.
 */
import { DEVICE_RISK_VECTOR } from "../../workers/analyzer-device-risk/vector.ts";
import { loadTrained, writeTrainedModel } from "../train-run.ts";

export const DEVICE_RISK_TRAINED = loadTrained(import.meta.dirname);
export const DEVICE_RISK_MODEL = DEVICE_RISK_TRAINED.model;
if (DEVICE_RISK_MODEL.features.join(",") !== DEVICE_RISK_VECTOR.features.map((f) => f.name).join(",")) {
  throw new Error("models/device-risk/trained.json was trained on another feature order than vector.ts");
}

if (import.meta.main) writeTrainedModel(DEVICE_RISK_TRAINED, import.meta.dirname);
