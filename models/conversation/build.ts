/**
 * The shipped conversation model: the trained, calibrated parameters committed in trained.json
 * (written by `node models/conversation/train.ts` from the scenario corpus). `node
 * models/conversation/build.ts` (or models/build-all.ts) rewrites model.onnx from them and checks
 * the sha256 line of card.md, so the bytes can be rebuilt without the corpus. Feature order comes
 * from workers/analyzer-conversation/vector.ts and must equal the trained one.
 */
import { CONVERSATION_VECTOR } from "../../workers/analyzer-conversation/vector.ts";
import { loadTrained, writeTrainedModel } from "../train-run.ts";

export const CONVERSATION_TRAINED = loadTrained(import.meta.dirname);
export const CONVERSATION_MODEL = CONVERSATION_TRAINED.model;
if (CONVERSATION_MODEL.features.join(",") !== CONVERSATION_VECTOR.features.map((f) => f.name).join(",")) {
  throw new Error("models/conversation/trained.json was trained on another feature order than vector.ts");
}

if (import.meta.main) writeTrainedModel(CONVERSATION_TRAINED, import.meta.dirname);
