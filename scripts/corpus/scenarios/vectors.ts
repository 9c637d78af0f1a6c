/**
 * The five non-liveness analyzers' feature vectors, keyed by analyzer name: the single list the
 * scenario corpus, the trainers (models/train-lib.ts) and the evaluation section share, so every
 * model is trained on exactly the layout its Worker builds (workers/analyzer-<name>/vector.ts).
 */
import type { AnalyzerVector } from "../../../lib/analyzer-runtime.ts";
import { BEHAVIOR_VECTOR } from "../../../workers/analyzer-behavior/vector.ts";
import { COERCION_VECTOR } from "../../../workers/analyzer-coercion/vector.ts";
import { CONVERSATION_VECTOR } from "../../../workers/analyzer-conversation/vector.ts";
import { DEVICE_RISK_VECTOR } from "../../../workers/analyzer-device-risk/vector.ts";
import { ENVIRONMENT_VECTOR } from "../../../workers/analyzer-environment/vector.ts";
import type { ScenarioAnalyzer } from "./plan.ts";

export const SCENARIO_VECTORS: Record<ScenarioAnalyzer, AnalyzerVector<never>> = {
  coercion: COERCION_VECTOR as AnalyzerVector<never>,
  environment: ENVIRONMENT_VECTOR as AnalyzerVector<never>,
  behavior: BEHAVIOR_VECTOR as AnalyzerVector<never>,
  device_risk: DEVICE_RISK_VECTOR as AnalyzerVector<never>,
  conversation: CONVERSATION_VECTOR as AnalyzerVector<never>,
};
