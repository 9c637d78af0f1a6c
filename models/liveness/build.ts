/**
 * Liveness model parameters. `HANDSET_LIVENESS_MODEL` is the first version: hand-set,
 * domain-reasoned weights on standardised features (spoof evidence: flat, planar motion, a still
 * head, no blinks, screen moiré and glare, soft recapture, noise mismatch, too-regular frame
 * timing, failed challenges), kept as the baseline every trained model must beat.
 * `LIVENESS_MODEL` is what the Worker ships: the trained parameters in weights.json when
 * models/liveness/train.ts found they beat the baseline on the test split, else the hand-set ones.
 * Feature order comes from workers/analyzer-liveness/vector.ts. `node models/liveness/build.ts`
 * rewrites model.onnx (and the sha256 line of card.md) from LIVENESS_MODEL.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { LIVENESS_VECTOR } from "../../workers/analyzer-liveness/vector.ts";
import { defineModel, type LogisticModel, writeModel } from "../build-lib.ts";

// mean defaults to each feature's neutral value; weight is logit per standard deviation.
export const HANDSET_LIVENESS_MODEL = defineModel(LIVENESS_VECTOR, "liveness-handset-1.0.0", -2.2, {
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

function shipped(): LogisticModel {
  const file = join(import.meta.dirname, "weights.json");
  if (!existsSync(file)) return HANDSET_LIVENESS_MODEL;
  const model = JSON.parse(readFileSync(file, "utf8")) as LogisticModel;
  const expected = LIVENESS_VECTOR.features.map((f) => f.name).join(",");
  if (model.features.join(",") !== expected)
    throw new Error("weights.json feature order differs from vector.ts");
  return model;
}

export const LIVENESS_MODEL: LogisticModel = shipped();

if (import.meta.main) writeModel(LIVENESS_MODEL, import.meta.dirname);
