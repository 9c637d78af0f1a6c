/**
 * Rebuilds all six first-version analyzer models (`node models/build-all.ts`). Each
 * models/<name>/build.ts defines its own parameters; this only runs them in one go so the
 * committed model.onnx files and their card.md hashes stay in step.
 */
import { join } from "node:path";
import { BEHAVIOR_MODEL } from "./behavior/build.ts";
import { writeModel } from "./build-lib.ts";
import { COERCION_MODEL } from "./coercion/build.ts";
import { CONVERSATION_MODEL } from "./conversation/build.ts";
import { DEVICE_RISK_MODEL } from "./device-risk/build.ts";
import { ENVIRONMENT_MODEL } from "./environment/build.ts";
import { LIVENESS_MODEL } from "./liveness/build.ts";

const MODELS = {
  liveness: LIVENESS_MODEL,
  coercion: COERCION_MODEL,
  environment: ENVIRONMENT_MODEL,
  behavior: BEHAVIOR_MODEL,
  "device-risk": DEVICE_RISK_MODEL,
  conversation: CONVERSATION_MODEL,
} as const;

for (const [folder, model] of Object.entries(MODELS)) writeModel(model, join(import.meta.dirname, folder));
