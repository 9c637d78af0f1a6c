/**
 * Behaviour model parameters. Automation evidence: uniform pointer and typing, no interaction,
 * focus losses, inhuman or extreme response times on a fixed clock, trembling or frozen head.
 * First version: hand-set, domain-reasoned weights on standardised features (see card.md); the
 * evaluation issue replaces them with a trained model. Feature order comes from
 * workers/analyzer-behavior/vector.ts. Run `node models/behavior/build.ts` to rewrite model.onnx.
 */

import { BEHAVIOR_VECTOR } from "../../workers/analyzer-behavior/vector.ts";
import { defineModel, writeModel } from "../build-lib.ts";

// mean defaults to each feature's neutral value; weight is logit per standard deviation.
export const BEHAVIOR_MODEL = defineModel(BEHAVIOR_VECTOR, "behavior-handset-1.0.0", -2.2, {
  pointer_speed_cv: { std: 0.35, weight: -0.8 },
  key_interval_cv: { std: 0.25, weight: -0.6 },
  interaction_rate_log: { std: 0.8, weight: -0.6 },
  focus_losses_per_min: { std: 0.5, weight: 0.5 },
  extreme_latency_ratio: { std: 0.15, weight: 0.8 },
  response_latency_cv: { std: 0.2, weight: -0.5 },
  landmark_jitter_mean: { std: 0.02, weight: 0.4 },
  yaw_range_mean_deg: { std: 5, weight: -0.4 },
});

if (import.meta.main) writeModel(BEHAVIOR_MODEL, import.meta.dirname);
