/**
 * Rebuilds all six shipped analyzer models (`node models/build-all.ts`) and keeps the card.md
 * hashes in step. Liveness is built from its committed weights.json (models/liveness/train.ts on the
 * liveness corpus; models/liveness/build.ts falls back to the hand-set baseline without it); the five
 * scenario analyzers are trained (models/<name>/train.ts on the scenario corpus) and
 * rebuilt here from their committed trained.json, which gives the same bytes as the training run
 * did — so this needs no corpus and a changed sha256 means the parameters or the encoder changed.
 * To retrain instead: `npm run corpus`, then `npm run eval` (it runs every models/<name>/train.ts).
 */
import { join } from "node:path";
import { BEHAVIOR_TRAINED } from "./behavior/build.ts";
import { writeModel } from "./build-lib.ts";
import { COERCION_TRAINED } from "./coercion/build.ts";
import { CONVERSATION_TRAINED } from "./conversation/build.ts";
import { DEVICE_RISK_TRAINED } from "./device-risk/build.ts";
import { ENVIRONMENT_TRAINED } from "./environment/build.ts";
import { LIVENESS_MODEL } from "./liveness/build.ts";
import { writeTrainedModel } from "./train-run.ts";

writeModel(LIVENESS_MODEL, join(import.meta.dirname, "liveness"));

const TRAINED = {
  coercion: COERCION_TRAINED,
  environment: ENVIRONMENT_TRAINED,
  behavior: BEHAVIOR_TRAINED,
  "device-risk": DEVICE_RISK_TRAINED,
  conversation: CONVERSATION_TRAINED,
} as const;

for (const [folder, trained] of Object.entries(TRAINED))
  writeTrainedModel(trained, join(import.meta.dirname, folder));
