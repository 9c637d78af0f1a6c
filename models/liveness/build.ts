/**
 * Liveness model parameters. Spoof evidence: flat, planar motion, a still head, no blinks, screen
 * moiré and glare, soft recapture, noise mismatch, too-regular frame timing, failed challenges.
 * First version: hand-set, domain-reasoned weights on standardised features (see card.md); the
 * evaluation issue replaces them with a trained model. Feature order comes from
 * workers/analyzer-liveness/vector.ts. Run `node models/liveness/build.ts` to rewrite model.onnx.
 */

import { LIVENESS_VECTOR } from "../../workers/analyzer-liveness/vector.ts";
import { defineModel, writeModel } from "../build-lib.ts";

// mean defaults to each feature's neutral value; weight is logit per standard deviation.
export const LIVENESS_MODEL = defineModel(LIVENESS_VECTOR, "liveness-handset-1.0.0", -2.2, {
  planarity_mean: { std: 0.15, weight: 1.2 },
  depth_variation_mean: { std: 0.1, weight: -0.9 },
  yaw_range_max_deg: { std: 8, weight: -0.6 },
  blinks_per_window: { std: 0.25, weight: -0.5 },
  landmark_jitter_mean: { std: 0.02, weight: 0.6 },
  moire_energy_mean: { std: 0.05, weight: 0.9 },
  clipped_ratio_mean: { std: 0.03, weight: 0.4 },
  sharpness_mean: { std: 0.15, weight: -0.5 },
  noise_mismatch_mean: { std: 0.2, weight: 0.6 },
  frame_interval_cv_mean: { std: 0.08, weight: -0.7 },
  challenge_fail_ratio: { std: 0.34, weight: 1.0 },
});

if (import.meta.main) writeModel(LIVENESS_MODEL, import.meta.dirname);
