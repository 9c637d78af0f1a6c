/**
 * Node semantics that need no I/O, kept apart from the Durable Object so they read (and are
 * tested) as plain functions: `data_validation` evaluation, liveness challenge scheduling and
 * verification, and the liveness node's decision rule (product-spec §2).
 */

import type { WindowFeatures } from "../../lib/features.ts";
import type { DataValidationNode } from "../../lib/flow.ts";
import { type ChallengeTally, challengesFailed, DEFAULT_POLICY } from "../../lib/fusion.ts";
import { CHALLENGE_ACTIONS, type ChallengeAction } from "../../lib/widget-protocol.ts";
import { WINDOW_MS } from "./window-assembler.ts";

/** Reads `metadata.a.b` / `providedData.x` from the session's data. */
export function readField(
  path: string,
  data: { metadata: Record<string, unknown>; providedData: Record<string, unknown> },
): unknown {
  const [root, ...keys] = path.split(".");
  let value: unknown =
    root === "metadata" ? data.metadata : root === "providedData" ? data.providedData : undefined;
  for (const key of keys) {
    if (value === null || typeof value !== "object" || Array.isArray(value)) return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

const asNumber = (v: unknown): number | null => {
  if (typeof v === "number" && Number.isFinite(v)) return v;
  if (typeof v === "string" && v.trim() !== "" && Number.isFinite(Number(v))) return Number(v);
  return null;
};

export function evaluateDataValidation(
  node: DataValidationNode,
  data: { metadata: Record<string, unknown>; providedData: Record<string, unknown> },
): "pass" | "fail" {
  const actual = readField(node.field, data);
  const expected = node.value;
  const compare = (test: (a: number, b: number) => boolean) => {
    const a = asNumber(actual);
    const b = asNumber(expected);
    return a !== null && b !== null && test(a, b);
  };
  let ok: boolean;
  switch (node.operator) {
    case "exists":
      ok = actual !== undefined && actual !== null && actual !== "";
      break;
    case "eq":
      ok = actual === expected || (asNumber(actual) !== null && asNumber(actual) === asNumber(expected));
      break;
    case "neq":
      ok = !(actual === expected || (asNumber(actual) !== null && asNumber(actual) === asNumber(expected)));
      break;
    case "gt":
      ok = compare((a, b) => a > b);
      break;
    case "gte":
      ok = compare((a, b) => a >= b);
      break;
    case "lt":
      ok = compare((a, b) => a < b);
      break;
    case "lte":
      ok = compare((a, b) => a <= b);
      break;
    case "in":
      ok = Array.isArray(expected) && expected.some((v) => v === actual);
      break;
    case "matches":
      // Integrator-supplied pattern, bounded input (≤ 1000 chars) and no user control of it.
      ok =
        typeof expected === "string" &&
        typeof actual === "string" &&
        actual.length <= 1000 &&
        safeRegex(expected).test(actual);
      break;
  }
  return ok ? "pass" : "fail";
}

function safeRegex(pattern: string): RegExp {
  try {
    return new RegExp(pattern, "u");
  } catch {
    return /(?!)/;
  }
}

/**
 * Challenges drawn at random by the server, without repeats (widget cannot predict them), from the
 * node's `actions` (all four by default; flow validation guarantees enough of them).
 */
export function drawChallenges(
  count: number,
  actions: readonly ChallengeAction[] = CHALLENGE_ACTIONS,
): ChallengeAction[] {
  const pool = [...new Set(actions)];
  const out: ChallengeAction[] = [];
  const random = new Uint32Array(count);
  crypto.getRandomValues(random);
  for (let i = 0; i < count && pool.length > 0; i++) {
    out.push(...pool.splice((random[i] ?? 0) % pool.length, 1));
  }
  return out;
}

/**
 * The least time a person has to answer a challenge after it is shown: read the prompt (reaction
 * time alone is ≈ 0.5–1 s), then turn, look up or blink. Three windows counted from the one being
 * captured at the prompt would leave as little as two seconds when the prompt goes out late in a
 * window — too tight for a person who reads slowly (a recorded turn reaching its extreme ≈ 1.5 s
 * after the prompt missed it in a loaded CI run).
 */
export const CHALLENGE_RESPONSE_MS = 3000;
/** The most windows a response period spans (it starts with the window being captured at the prompt). */
export const CHALLENGE_RESPONSE_WINDOWS = Math.ceil(CHALLENGE_RESPONSE_MS / WINDOW_MS) + 1;

/**
 * The capture-time span [startMs, endMs) in which a challenge is answered: from the start of the
 * window being captured when the prompt went out (`promptedAtMs`, the newest sample the session
 * had received) to the end of the window in which CHALLENGE_RESPONSE_MS after the prompt falls.
 * Counting in capture time rather than in windows tokenized since the prompt keeps the person's
 * time to answer whole when the tokenizer lags behind capture: windows captured before the prompt
 * reached them are not spent on it. The upload's own delay (frames captured but not yet received
 * at the prompt) and the prompt's way to the screen still come out of the 3 s.
 */
export function responsePeriod(promptedAtMs: number): { startMs: number; endMs: number } {
  const startMs = Math.floor(promptedAtMs / WINDOW_MS) * WINDOW_MS;
  return { startMs, endMs: Math.ceil((promptedAtMs + CHALLENGE_RESPONSE_MS) / WINDOW_MS) * WINDOW_MS };
}

/** Rotation toward the asked side, from the pose before the prompt, that answers a turn. */
export const TURN_MIN_DEG = 15;
/** Upward pitch, from the pose before the prompt, that answers "look up". */
export const LOOK_UP_MIN_DEG = 10;

/**
 * Mean eye openness (lib/features.ts `eyeOpennessMean`, EAR ÷ 0.35) above which a window's eyes
 * were open on the whole: the tokenizer's closed-eye EAR, 0.2 (Soukupová & Čech), on that scale.
 */
const OPEN_EYES_MIN_OPENNESS = 0.2 / 0.35;

/** The head pose a challenge is measured from: the face's mean pose in one window. */
export interface ReferencePose {
  yawDeg: number;
  pitchDeg: number;
  /** the window's extremes: how far the head already went each way before the prompt */
  yawMinDeg: number;
  yawMaxDeg: number;
  pitchMinDeg: number;
  pitchMaxDeg: number;
  /** whether the eyes were open then (a later closure is a blink) */
  eyesOpen: boolean;
}

/**
 * The pose before a challenge was shown: the mean pose of the newest usable window captured
 * before its response period (`beforeMs`, `responsePeriod(…).startMs`). Null when none had a
 * face; the node only issues a challenge after a usable window, so then nothing is confirmed.
 */
export function referencePose(windows: readonly WindowFeatures[], beforeMs: number): ReferencePose | null {
  for (let i = windows.length - 1; i >= 0; i--) {
    const w = windows[i];
    if (w && w.startMs < beforeMs && isUsableWindow(w) && w.face)
      return {
        yawDeg: w.face.yawMeanDeg,
        pitchDeg: w.face.pitchMeanDeg,
        yawMinDeg: w.face.yawMinDeg,
        yawMaxDeg: w.face.yawMaxDeg,
        pitchMinDeg: w.face.pitchMinDeg,
        pitchMaxDeg: w.face.pitchMaxDeg,
        eyesOpen: w.face.eyeOpennessMean >= OPEN_EYES_MIN_OPENNESS,
      };
  }
  return null;
}

/**
 * Whether a window shows the challenged movement, in the asked direction (product-spec §4
 * challenges): a turn is the head's rotation toward the asked side, from the pose before the
 * prompt, reaching TURN_MIN_DEG at the window's extreme; "look up" likewise in pitch. The signs
 * are the face engine's (lib/features.ts `yawMeanDeg`): yaw < 0 is the person's own left — the
 * side the widget's prompt names, which its mirrored preview shows on the same side — and
 * pitch < 0 is up. A turn the other way moves away from the asked side and answers nothing.
 * A blink is an eye closure seen after an open eye: within the window, or — for a closure at the
 * window's first frame, which the window's own count cannot see — after the open eyes of the
 * window before the prompt.
 */
export function windowAnswersChallenge(
  action: ChallengeAction,
  w: WindowFeatures,
  before: ReferencePose | null,
): boolean {
  const face = w.face;
  if (!face || face.facePresentRatio < 0.5) return false;
  switch (action) {
    case "turn_left":
      return before !== null && before.yawDeg - face.yawMinDeg >= TURN_MIN_DEG;
    case "turn_right":
      return before !== null && face.yawMaxDeg - before.yawDeg >= TURN_MIN_DEG;
    case "look_up":
      return before !== null && before.pitchDeg - face.pitchMinDeg >= LOOK_UP_MIN_DEG;
    case "blink":
      return face.blinkCount >= 1 || (face.eyesClosedFrames >= 1 && before?.eyesOpen === true);
  }
}

/**
 * Whether a window shows the movement opposite to the challenged one, by the same margin beyond
 * the furthest the head went that way in the reference window: a turn to the other side, looking
 * down for "look up". A person who reads the prompt moves one way; a replayed recording that
 * sweeps through the movements (or a person guessing) also moves the other way, and the first
 * such window fails the challenge for good. Measured from the reference's extreme, not its mean,
 * so a head still held to one side from the challenge before (answered late, the next prompt out
 * at once) is not read as moving that way again. A blink has no opposite.
 */
export function windowContradictsChallenge(
  action: ChallengeAction,
  w: WindowFeatures,
  before: ReferencePose | null,
): boolean {
  const face = w.face;
  if (!face || face.facePresentRatio < 0.5 || before === null) return false;
  switch (action) {
    case "turn_left":
      return face.yawMaxDeg - before.yawMaxDeg >= TURN_MIN_DEG;
    case "turn_right":
      return before.yawMinDeg - face.yawMinDeg >= TURN_MIN_DEG;
    case "look_up":
      return face.pitchMaxDeg - before.pitchMaxDeg >= LOOK_UP_MIN_DEG;
    case "blink":
      return false;
  }
}

export function isUsableWindow(w: WindowFeatures): boolean {
  return w.face !== null && w.face.facePresentRatio >= 0.5;
}

/**
 * Spoof when the liveness model's risk reaches the shipped fusion policy's liveness reject veto, so
 * the node's branch and the fused decision agree: a `spoof` branch is always a `reject` report
 * (models/fusion/policy.ts, calibrated on the corpus's validation split).
 */
export const LIVENESS_SPOOF_THRESHOLD = DEFAULT_POLICY.analyzers.liveness.reject ?? 0.5;
export const LIVENESS_MIN_CONFIDENCE = 0.4;

/**
 * The node's branch. A person who left a head movement or most of the challenges unanswered is not
 * `live`, whatever the passive cues say: `inconclusive`, so the flow can retry or hand over,
 * matching the fused decision's review floor for the same evidence (lib/fusion.ts step 5). A spoof
 * stays a spoof.
 */
export function livenessOutcome(
  result: { score: number; confidence: number } | null,
  challenges: ChallengeTally = { issued: 0, passed: 0, movementsMissed: 0 },
): "live" | "spoof" | "inconclusive" {
  if (!result || result.confidence < LIVENESS_MIN_CONFIDENCE) return "inconclusive";
  if (result.score >= LIVENESS_SPOOF_THRESHOLD) return "spoof";
  return challengesFailed(challenges) ? "inconclusive" : "live";
}
