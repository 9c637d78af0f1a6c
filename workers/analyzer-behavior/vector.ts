/**
 * Behaviour features: does the session move like a person? Scripted pointers and keyboards are
 * uniform, bots answer instantly or on a fixed clock, replayed heads are frozen or tremble.
 * Cadence and counts only, never content (lib/features.ts BehaviorSignalsSchema). Ordered list =
 * model input order (models/behavior/build.ts imports it).
 */
import type { AnalyzerInput } from "../../lib/analyzer-contract.ts";
import { type AnalyzerVector, cv, mean, ratio } from "../../lib/analyzer-runtime.ts";

export type BehaviorSlice = AnalyzerInput<"behavior">;

/** Under 250 ms is faster than human choice reaction; over 10 s suggests outside help. */
const FAST_MS = 250;
const SLOW_MS = 10_000;

export const BEHAVIOR_VECTOR: AnalyzerVector<BehaviorSlice> = {
  analyzer: "behavior",
  features: [
    {
      name: "pointer_speed_cv",
      reasonCode: "BEHAVIOR_UNIFORM_POINTER",
      unit: "coefficient of variation, capped at 5",
      description: "pointer speed variability (scripted pointers move at constant speed)",
      neutral: 0.9,
      extract: (s) => (s.interaction.pointerMoves < 10 ? null : Math.min(5, s.interaction.pointerSpeedCv)),
    },
    {
      name: "key_interval_cv",
      reasonCode: "BEHAVIOR_UNIFORM_TYPING",
      unit: "coefficient of variation, capped at 5",
      description: "inter-key interval variability (injected keystrokes are evenly spaced)",
      neutral: 0.6,
      extract: (s) => (s.interaction.keyPresses < 5 ? null : Math.min(5, s.interaction.keyIntervalCv)),
    },
    {
      name: "interaction_rate_log",
      reasonCode: "BEHAVIOR_NO_INTERACTION",
      unit: "ln(1 + events per second)",
      description: "pointer moves and key presses per second of session",
      neutral: 1.5,
      extract: (s) =>
        s.sessionSeconds < 1
          ? null
          : Math.log1p((s.interaction.pointerMoves + s.interaction.keyPresses) / s.sessionSeconds),
    },
    {
      name: "focus_losses_per_min",
      reasonCode: "BEHAVIOR_FOCUS_LOSS",
      unit: "per minute, capped at 10",
      description: "times the page lost focus per minute (switching to look something up)",
      neutral: 0.2,
      extract: (s) =>
        s.sessionSeconds < 1 ? null : Math.min(10, s.interaction.focusLosses / (s.sessionSeconds / 60)),
    },
    {
      name: "extreme_latency_ratio",
      reasonCode: "BEHAVIOR_EXTREME_LATENCY",
      unit: "ratio 0..1",
      description: `share of challenge responses faster than ${FAST_MS} ms or slower than ${SLOW_MS} ms`,
      neutral: 0.05,
      extract: (s) => ratio(s.interaction.responseLatenciesMs, (ms) => ms < FAST_MS || ms > SLOW_MS),
    },
    {
      name: "response_latency_cv",
      reasonCode: "BEHAVIOR_REGULAR_LATENCY",
      unit: "coefficient of variation, capped at 5",
      description: "variability of challenge response times (bots answer on a fixed clock)",
      neutral: 0.4,
      extract: (s) => {
        const v = cv(s.interaction.responseLatenciesMs, 3);
        return v === null ? null : Math.min(5, v);
      },
    },
    {
      name: "landmark_jitter_mean",
      reasonCode: "BEHAVIOR_HEAD_JITTER",
      unit: "ratio 0..1",
      description: "mean pose-compensated landmark jitter (replays and warps tremble)",
      neutral: 0.02,
      extract: (s) => mean(s.windows.map((w) => w.landmarkJitter)),
    },
    {
      name: "yaw_range_mean_deg",
      reasonCode: "BEHAVIOR_FROZEN_HEAD",
      unit: "degrees",
      description: "mean head-yaw range per window (a living head is never perfectly still)",
      neutral: 8,
      extract: (s) => mean(s.windows.map((w) => w.yawRangeDeg)),
    },
  ],
  // Ten face windows plus some interaction make a full picture.
  evidence: (s) => {
    const faceWindows = s.windows.filter((w) => w.landmarkJitter !== null || w.yawRangeDeg !== null).length;
    const interacted = s.interaction.pointerMoves + s.interaction.keyPresses > 0 ? 5 : 0;
    return { usable: faceWindows + interacted, target: 15 };
  },
};
