/**
 * The hand-set first-version behavior model (domain-reasoned weights on standardised features,
 * never fitted to data), kept only as the baseline the trained model is compared with in
 * card.md (models/behavior/train.ts). The Worker ships the trained model.
 */
import { BEHAVIOR_VECTOR } from "../../workers/analyzer-behavior/vector.ts";
import { defineModel } from "../build-lib.ts";

// mean defaults to each feature's neutral value; weight is logit per standard deviation.
export const BEHAVIOR_HANDSET = defineModel(BEHAVIOR_VECTOR, "behavior-handset-1.0.0", -2.2, {
  pointer_speed_cv: { std: 0.35, weight: -0.8 },
  key_interval_cv: { std: 0.25, weight: -0.6 },
  interaction_rate_log: { std: 0.8, weight: -0.6 },
  focus_losses_per_min: { std: 0.5, weight: 0.5 },
  extreme_latency_ratio: { std: 0.15, weight: 0.8 },
  response_latency_cv: { std: 0.2, weight: -0.5 },
  landmark_jitter_mean: { std: 0.02, weight: 0.4 },
  yaw_range_mean_deg: { std: 5, weight: -0.4 },
});
