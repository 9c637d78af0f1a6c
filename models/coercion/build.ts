/**
 * Coercion model parameters. Duress evidence: gaze off screen, a second face, vocal stress (pitch
 * variability, jitter, shimmer), a subdued voice, slow replies.
 * First version: hand-set, domain-reasoned weights on standardised features (see card.md); the
 * evaluation issue replaces them with a trained model. Feature order comes from
 * workers/analyzer-coercion/vector.ts. Run `node models/coercion/build.ts` to rewrite model.onnx.
 */

import { COERCION_VECTOR } from "../../workers/analyzer-coercion/vector.ts";
import { defineModel, writeModel } from "../build-lib.ts";

// mean defaults to each feature's neutral value; weight is logit per standard deviation.
export const COERCION_MODEL = defineModel(COERCION_VECTOR, "coercion-handset-1.0.0", -2.5, {
  gaze_off_screen_mean: { std: 0.12, weight: 0.9 },
  multi_face_mean: { std: 0.1, weight: 1.0 },
  f0_cv_mean: { std: 0.05, weight: 0.5 },
  jitter_mean: { std: 0.008, weight: 0.4 },
  shimmer_mean: { std: 0.03, weight: 0.3 },
  speech_level_db_mean: { std: 8, weight: -0.3 },
  reply_latency_median_s: { std: 1.0, weight: 0.7 },
});

if (import.meta.main) writeModel(COERCION_MODEL, import.meta.dirname);
