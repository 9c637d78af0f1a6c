/**
 * The hand-set first-version coercion model (domain-reasoned weights on standardised features,
 * never fitted to data), kept only as the baseline the trained model is compared with in
 * card.md (models/coercion/train.ts). The Worker ships the trained model.
 */
import { COERCION_VECTOR } from "../../workers/analyzer-coercion/vector.ts";
import { defineModel } from "../build-lib.ts";

// mean defaults to each feature's neutral value; weight is logit per standard deviation.
export const COERCION_HANDSET = defineModel(COERCION_VECTOR, "coercion-handset-1.0.0", -2.5, {
  gaze_off_screen_mean: { std: 0.12, weight: 0.9 },
  multi_face_mean: { std: 0.1, weight: 1.0 },
  f0_cv_mean: { std: 0.05, weight: 0.5 },
  jitter_mean: { std: 0.008, weight: 0.4 },
  shimmer_mean: { std: 0.03, weight: 0.3 },
  speech_level_db_mean: { std: 8, weight: -0.3 },
  reply_latency_median_s: { std: 1.0, weight: 0.7 },
});
