/**
 * Environment model parameters. Evidence of a staged scene: static or frozen background,
 * composited face, screen lighting, digitally clean or white-noise audio, call-centre babble, time
 * zone skew.
 * First version: hand-set, domain-reasoned weights on standardised features (see card.md); the
 * evaluation issue replaces them with a trained model. Feature order comes from
 * workers/analyzer-environment/vector.ts. Run `node models/environment/build.ts` to rewrite model.onnx.
 */

import { ENVIRONMENT_VECTOR } from "../../workers/analyzer-environment/vector.ts";
import { defineModel, writeModel } from "../build-lib.ts";

// mean defaults to each feature's neutral value; weight is logit per standard deviation.
export const ENVIRONMENT_MODEL = defineModel(ENVIRONMENT_VECTOR, "environment-handset-1.0.0", -2.2, {
  background_motion_mean: { std: 0.015, weight: -0.4 },
  frozen_background_ratio: { std: 0.25, weight: 0.8 },
  noise_mismatch_mean: { std: 0.2, weight: 0.6 },
  colour_temperature_kk: { std: 1.5, weight: 0.3 },
  noise_floor_db_mean: { std: 12, weight: -0.6 },
  spectral_flatness_mean: { std: 0.15, weight: 0.3 },
  background_voice_band_share: { std: 0.15, weight: 0.6 },
  timezone_skew_h: { std: 2, weight: 0.7 },
});

if (import.meta.main) writeModel(ENVIRONMENT_MODEL, import.meta.dirname);
