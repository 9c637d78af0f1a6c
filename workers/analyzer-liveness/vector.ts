/**
 * Liveness features: is a live, three-dimensional person in front of the camera, or a print,
 * screen replay, mask or injected stream (ISO/IEC 30107-3 presentation attacks)? Each feature
 * aggregates the tokenized windows (lib/features.ts) into one number; this ordered list is the
 * single source of truth for the model input (models/liveness/build.ts imports it).
 */
import type { AnalyzerInput } from "../../lib/analyzer-contract.ts";
import { type AnalyzerVector, max, mean } from "../../lib/analyzer-runtime.ts";

export type LivenessSlice = AnalyzerInput<"liveness">;
type Window = LivenessSlice["windows"][number];
type Face = NonNullable<Window["face"]>;
type Image = NonNullable<Window["image"]>;

/** A window counts when the face model saw exactly one face in at least half its frames. */
function faces(s: LivenessSlice): Face[] {
  return s.windows
    .map((w) => w.face)
    .filter((f): f is Face => f !== null && f.framesAnalyzed > 0 && f.facePresentRatio >= 0.5);
}

function images(s: LivenessSlice): Image[] {
  return s.windows.map((w) => w.image).filter((i): i is Image => i !== null);
}

export const LIVENESS_VECTOR: AnalyzerVector<LivenessSlice> = {
  analyzer: "liveness",
  features: [
    {
      name: "planarity_mean",
      reasonCode: "LIVENESS_PLANAR_MOTION",
      unit: "ratio 0..1",
      description: "mean share of landmark motion one homography explains (1 = flat print or screen)",
      neutral: 0.35,
      extract: (s) => mean(faces(s).map((f) => f.planarity)),
    },
    {
      name: "depth_variation_mean",
      reasonCode: "LIVENESS_FLAT_DEPTH",
      unit: "ratio 0..1",
      description: "mean nose-versus-contour parallax normalised by face size (3D cue)",
      neutral: 0.3,
      extract: (s) => mean(faces(s).map((f) => f.depthVariation)),
    },
    {
      name: "yaw_range_max_deg",
      reasonCode: "LIVENESS_STATIC_POSE",
      unit: "degrees",
      description: "largest head-yaw range in any window (a held photo barely turns)",
      neutral: 15,
      extract: (s) => max(faces(s).map((f) => f.yawRangeDeg)),
    },
    {
      name: "blinks_per_window",
      reasonCode: "LIVENESS_NO_BLINK",
      unit: "blinks per window",
      description: "mean eye closures per usable window (people blink every 2-10 s)",
      neutral: 0.3,
      extract: (s) => mean(faces(s).map((f) => f.blinkCount)),
    },
    {
      name: "landmark_jitter_mean",
      reasonCode: "LIVENESS_WARP_JITTER",
      unit: "ratio 0..1",
      description: "mean pose-compensated landmark jitter (face swaps and warps tremble)",
      neutral: 0.02,
      extract: (s) => mean(faces(s).map((f) => f.landmarkJitter)),
    },
    {
      name: "moire_energy_mean",
      reasonCode: "LIVENESS_SCREEN_MOIRE",
      unit: "ratio 0..1",
      description: "mean share of spectral energy in the top spatial-frequency band (screen moire)",
      neutral: 0.05,
      extract: (s) => mean(images(s).map((i) => i.moireEnergy)),
    },
    {
      name: "clipped_ratio_mean",
      reasonCode: "LIVENESS_GLARE",
      unit: "ratio 0..1",
      description: "mean share of clipped pixels (glare on glossy prints and screens)",
      neutral: 0.02,
      extract: (s) => mean(images(s).map((i) => i.clippedRatio)),
    },
    {
      name: "sharpness_mean",
      reasonCode: "LIVENESS_SOFT_RECAPTURE",
      unit: "ratio 0..1",
      description: "mean normalised Laplacian variance (recaptured images are soft)",
      neutral: 0.45,
      extract: (s) => mean(images(s).map((i) => i.sharpness)),
    },
    {
      name: "noise_mismatch_mean",
      reasonCode: "LIVENESS_NOISE_MISMATCH",
      unit: "|log ratio|",
      description: "mean face-versus-background noise mismatch (pasted or generated faces)",
      neutral: 0.2,
      extract: (s) => mean(images(s).map((i) => i.noiseMismatch)),
    },
    {
      name: "frame_interval_cv_mean",
      reasonCode: "LIVENESS_REGULAR_TIMING",
      unit: "coefficient of variation, capped at 1",
      description: "mean frame-interval variability (injected streams are too regular)",
      neutral: 0.15,
      extract: (s) => mean(images(s).map((i) => Math.min(1, i.frameIntervalCv))),
    },
    {
      name: "challenge_fail_ratio",
      reasonCode: "LIVENESS_CHALLENGE_FAILED",
      unit: "ratio 0..1",
      description: "share of issued liveness challenges the face geometry did not confirm",
      neutral: 0,
      extract: (s) =>
        s.challenges.issued === 0
          ? null
          : Math.max(0, s.challenges.issued - s.challenges.passed) / s.challenges.issued,
    },
  ],
  // Five usable face windows (about five seconds) make a full picture.
  evidence: (s) => ({ usable: faces(s).length, target: 5 }),
};
