/**
 * The hand-set first-version environment model (domain-reasoned weights on standardised features,
 * never fitted to data), kept only as the baseline the trained model is compared with in
 * card.md (models/environment/train.ts). The Worker ships the trained model.
 */
import { ENVIRONMENT_VECTOR } from "../../workers/analyzer-environment/vector.ts";
import { defineModel } from "../build-lib.ts";

// mean defaults to each feature's neutral value; weight is logit per standard deviation.
export const ENVIRONMENT_HANDSET = defineModel(ENVIRONMENT_VECTOR, "environment-handset-1.0.0", -2.2, {
  background_motion_mean: { std: 0.015, weight: -0.4 },
  frozen_background_ratio: { std: 0.25, weight: 0.8 },
  noise_mismatch_mean: { std: 0.2, weight: 0.6 },
  colour_temperature_kk: { std: 1.5, weight: 0.3 },
  noise_floor_db_mean: { std: 12, weight: -0.6 },
  spectral_flatness_mean: { std: 0.15, weight: 0.3 },
  background_voice_band_share: { std: 0.15, weight: 0.6 },
  timezone_skew_h: { std: 2, weight: 0.7 },
});
