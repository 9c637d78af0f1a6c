/**
 * Coercion features: signs that someone else is steering the person (duress, a coach off
 * camera, reading prompts). Gaze, a second face, vocal stress (F0 variability, jitter, shimmer:
 * the usual acoustic stress correlates) and slow replies. Ordered list = model input order
 * (models/coercion/build.ts imports it).
 */
import type { AnalyzerInput } from "../../lib/analyzer-contract.ts";
import { type AnalyzerVector, mean, median } from "../../lib/analyzer-runtime.ts";

export type CoercionSlice = AnalyzerInput<"coercion">;
type Audio = NonNullable<CoercionSlice["windows"][number]["audio"]>;

/** Audio windows that carry voiced speech; acoustic statistics of silence are meaningless. */
function voiced(s: CoercionSlice): Audio[] {
  return s.windows
    .map((w) => w.audio)
    .filter((a): a is Audio => a !== null && a.speechRatio >= 0.2 && a.f0MeanHz > 0);
}

export const COERCION_VECTOR: AnalyzerVector<CoercionSlice> = {
  analyzer: "coercion",
  features: [
    {
      name: "gaze_off_screen_mean",
      reasonCode: "COERCION_GAZE_OFF_SCREEN",
      unit: "ratio 0..1",
      description: "mean share of frames whose gaze leaves the screen (someone else, a script)",
      neutral: 0.1,
      extract: (s) => mean(s.windows.map((w) => w.gazeOffScreenRatio)),
    },
    {
      name: "multi_face_mean",
      reasonCode: "COERCION_SECOND_FACE",
      unit: "ratio 0..1",
      description: "mean share of frames with two or more faces",
      neutral: 0,
      extract: (s) => mean(s.windows.map((w) => w.multiFaceRatio)),
    },
    {
      name: "f0_cv_mean",
      reasonCode: "COERCION_PITCH_VARIABILITY",
      unit: "F0 std / F0 mean",
      description: "mean relative pitch variability of voiced windows (stress raises it)",
      neutral: 0.12,
      extract: (s) => mean(voiced(s).map((a) => a.f0StdHz / a.f0MeanHz)),
    },
    {
      name: "jitter_mean",
      reasonCode: "COERCION_VOCAL_JITTER",
      unit: "ratio",
      description: "mean period-to-period F0 perturbation of voiced windows",
      neutral: 0.01,
      extract: (s) => mean(voiced(s).map((a) => a.jitter)),
    },
    {
      name: "shimmer_mean",
      reasonCode: "COERCION_VOCAL_SHIMMER",
      unit: "ratio",
      description: "mean cycle-to-cycle amplitude perturbation of voiced windows",
      neutral: 0.05,
      extract: (s) => mean(voiced(s).map((a) => a.shimmer)),
    },
    {
      name: "speech_level_db_mean",
      reasonCode: "COERCION_SUBDUED_VOICE",
      unit: "dBFS",
      description: "mean RMS level of voiced windows (a subdued, whispered voice)",
      neutral: -28,
      extract: (s) => mean(voiced(s).map((a) => a.rmsDb)),
    },
    {
      name: "reply_latency_median_s",
      reasonCode: "COERCION_SLOW_REPLY",
      unit: "seconds",
      description: "median time from prompt to reply (waiting for instructions)",
      neutral: 1.2,
      extract: (s) => {
        const m = median(s.replyLatenciesMs);
        return m === null ? null : m / 1000;
      },
    },
  ],
  evidence: (s) => ({
    usable: s.windows.filter((w) => w.gazeOffScreenRatio !== null || w.audio !== null).length,
    target: 5,
  }),
};
