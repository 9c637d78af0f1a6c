/**
 * Finds, in real webcam clips, the stretches in which a person does what a liveness challenge asks
 * (lib/widget-protocol.ts actions): turns the head to their own left or right, looks up, blinks —
 * and a neutral stretch of them looking at the camera. The clips are labelled per frame by the
 * tokenizer's own face engine (clip-poses.ts), and each segment is chosen so that the platform's
 * check (durable-objects/session/node-logic.ts `windowAnswersChallenge`) has a margin: a turn
 * reaches TURN_MIN_DEG + MARGIN_DEG away from both the segment's own opening pose and the neutral
 * segment's mean pose (the pose the server measures from is the neutral one the camera showed
 * before the prompt), and names the stretch around the movement's extreme that a person asked to
 * turn would hold until the widget confirms it (`hold`). Signs as lib/features.ts states them: yaw < 0 is the person's left, pitch < 0
 * is up. Nothing here is synthetic: a segment is a time range of a recording.
 */

import { LOOK_UP_MIN_DEG, TURN_MIN_DEG } from "../../durable-objects/session/node-logic.ts";
import type { ChallengeAction } from "../../lib/widget-protocol.ts";
import { EAR_CLOSED } from "../../services/tokenizer/features/face-window.ts";
import type { ClipPoses, FramePose } from "./clip-poses.ts";

/** What the camera can play: the four challenge actions, their opposites, and looking ahead. */
export type SegmentName = ChallengeAction | "look_down" | "neutral";

export interface Segment {
  /** the clip's file name (ClipPoses.clip) */
  clip: string;
  startS: number;
  seconds: number;
  /** for a turn or look: degrees past the reference in the asked direction; for a blink: frames closed */
  margin: number;
  /**
   * Seconds from the segment's start: the frames around the movement's extreme (those past the
   * server's threshold by HOLD_MARGIN_DEG, widened to the peak's neighbours where fewer than
   * three), or a whole blink, that the camera plays back and forth while the prompt is shown. A person turns and holds until told it is done; a recording
   * that passes the extreme in a frame or two answers only if the widget happens to sample it.
   */
  hold?: { fromS: number; toS: number };
}

/** Headroom over the server's thresholds for re-encoding (the widget's JPEG) and frame sampling. */
export const MARGIN_DEG = 3;
/** Headroom of every frame of a held pose (the extreme itself has MARGIN_DEG). */
const HOLD_MARGIN_DEG = 1.5;
/** Before a blink the eyes must be clearly open, so the closure is a transition the widget can see. */
const EAR_OPEN = 0.24;
/** A neutral stretch holds yaw and pitch within this of its median, degrees. */
const NEUTRAL_SPREAD_DEG = 4;
const NEUTRAL_MIN_S = 4;
const NEUTRAL_MAX_S = 10;
/** A movement starts from a steady second and may take this long to come back. */
const STEADY_S = 1;
const RETURN_MAX_S = 2;
/**
 * Of the steady second, the camera plays only the last half second before the movement: about a
 * person's reaction time to a prompt, which leaves most of the server's response period
 * (node-logic.ts `responsePeriod`, at least 3 s) for the movement.
 */
const LEAD_S = 0.5;
const BLINK_PAD_S = 0.3;

const median = (v: number[]): number => {
  const s = [...v].sort((a, b) => a - b);
  return s.length ? ((s[(s.length - 1) >> 1] ?? 0) + (s[s.length >> 1] ?? 0)) / 2 : 0;
};
const mean = (v: number[]): number => (v.length ? v.reduce((a, b) => a + b, 0) / v.length : 0);

type Faced = FramePose & { yawDeg: number; pitchDeg: number; ear: number };
const faced = (f: FramePose | undefined): f is Faced =>
  f !== undefined && f.yawDeg !== null && f.pitchDeg !== null && f.ear !== null;

/** The frames [from, to) when every one has a face, else null. */
function run(frames: FramePose[], from: number, to: number): Faced[] | null {
  if (from < 0 || to > frames.length) return null;
  const out = frames.slice(from, to);
  return out.every(faced) ? (out as Faced[]) : null;
}

/** The longest steady stretch of a clip: the person looking at the camera, blinking little. */
export function findNeutral(p: ClipPoses): Segment | null {
  const max = Math.round(NEUTRAL_MAX_S * p.fps);
  const min = Math.round(NEUTRAL_MIN_S * p.fps);
  let best: Segment | null = null;
  for (let i = 0; i + min <= p.frames.length; i += Math.max(1, Math.round(p.fps / 2))) {
    let end = i;
    for (let j = i + min; j <= Math.min(p.frames.length, i + max); j++) {
      const r = run(p.frames, i, j);
      if (!r) break;
      const yaw = median(r.map((f) => f.yawDeg));
      const pitch = median(r.map((f) => f.pitchDeg));
      const steady = r.every(
        (f) =>
          Math.abs(f.yawDeg - yaw) <= NEUTRAL_SPREAD_DEG &&
          Math.abs(f.pitchDeg - pitch) <= NEUTRAL_SPREAD_DEG &&
          f.ear >= EAR_OPEN,
      );
      if (!steady) break;
      end = j;
    }
    const seconds = (end - i) / p.fps;
    if (end > i && (!best || seconds > best.seconds))
      best = { clip: p.clip, startS: i / p.fps, seconds, margin: seconds };
  }
  return best;
}

/** Mean yaw and pitch over a segment's frames. */
export function meanPose(p: ClipPoses, s: Segment): { yawDeg: number; pitchDeg: number } {
  const from = Math.round(s.startS * p.fps);
  const frames = p.frames.slice(from, from + Math.round(s.seconds * p.fps)).filter(faced);
  return { yawDeg: mean(frames.map((f) => f.yawDeg)), pitchDeg: mean(frames.map((f) => f.pitchDeg)) };
}

/**
 * The clearest movement of one kind in a clip: a steady second, then the head going at least the
 * server's threshold plus MARGIN_DEG in the asked direction (measured from that second and from
 * `reference`, the neutral pose), then back toward the start within RETURN_MAX_S.
 */
export function findMovement(
  p: ClipPoses,
  kind: "turn_left" | "turn_right" | "look_up" | "look_down",
  reference: { yawDeg: number; pitchDeg: number },
): Segment | null {
  const steady = Math.round(STEADY_S * p.fps);
  const back = Math.round(RETURN_MAX_S * p.fps);
  const need = (kind === "look_up" || kind === "look_down" ? LOOK_UP_MIN_DEG : TURN_MIN_DEG) + MARGIN_DEG;
  // signed displacement toward the asked side (lib/features.ts signs)
  const toward = (f: Faced, from: { yawDeg: number; pitchDeg: number }): number =>
    kind === "turn_left"
      ? from.yawDeg - f.yawDeg
      : kind === "turn_right"
        ? f.yawDeg - from.yawDeg
        : kind === "look_up"
          ? from.pitchDeg - f.pitchDeg
          : f.pitchDeg - from.pitchDeg;
  let best: Segment | null = null;
  for (let peak = steady; peak < p.frames.length; peak++) {
    const f = p.frames[peak];
    if (!faced(f)) continue;
    // the steady second closest before the peak
    for (let start = peak - steady; start >= Math.max(0, peak - steady - back); start--) {
      const opening = run(p.frames, start, start + steady);
      if (!opening) continue;
      const yaws = opening.map((o) => o.yawDeg);
      const pitches = opening.map((o) => o.pitchDeg);
      if (Math.max(...yaws) - Math.min(...yaws) > NEUTRAL_SPREAD_DEG) continue;
      if (Math.max(...pitches) - Math.min(...pitches) > NEUTRAL_SPREAD_DEG) continue;
      const from = { yawDeg: median(yaws), pitchDeg: median(pitches) };
      const margin = Math.min(toward(f, from), toward(f, reference)) - need;
      if (margin < 0) break;
      // back: the first frame after the peak that is within half the threshold of the opening pose
      let end = peak + 1;
      while (end < Math.min(p.frames.length, peak + back)) {
        const g = p.frames[end];
        end++;
        if (faced(g) && toward(g, from) < need / 2) break;
      }
      const lead = start + steady - Math.round(LEAD_S * p.fps);
      // the held stretch: the frames either side of the peak that stay past the threshold
      const held = (i: number): boolean => {
        const g = p.frames[i];
        return (
          faced(g) && Math.min(toward(g, from), toward(g, reference)) >= need - MARGIN_DEG + HOLD_MARGIN_DEG
        );
      };
      let holdFrom = peak;
      while (holdFrom - 1 > lead && held(holdFrom - 1)) holdFrom--;
      let holdTo = peak + 1;
      while (holdTo < end && held(holdTo)) holdTo++;
      // at least three frames, so a hold never shows one frozen image (the peak's neighbours)
      while (holdTo - holdFrom < 3 && (holdFrom - 1 > lead || holdTo < end)) {
        if (holdFrom - 1 > lead) holdFrom--;
        if (holdTo - holdFrom < 3 && holdTo < end) holdTo++;
      }
      if (!best || margin > best.margin)
        best = {
          clip: p.clip,
          startS: lead / p.fps,
          seconds: (end - lead) / p.fps,
          margin,
          hold: { fromS: (holdFrom - lead) / p.fps, toS: (holdTo - lead) / p.fps },
        };
      break;
    }
  }
  return best;
}

/**
 * The clearest blink: an eye closure (EAR under EAR_CLOSED) after open eyes, lasting
 * until the eyes are open again, with the most closed frames — at least two, so a widget sampling
 * at 5 fps sees one — and BLINK_PAD_S either side.
 */
export function findBlink(p: ClipPoses): Segment | null {
  const pad = Math.round(BLINK_PAD_S * p.fps);
  let best: Segment | null = null;
  for (let i = pad; i < p.frames.length; i++) {
    const first = p.frames[i];
    if (!faced(first) || first.ear >= EAR_CLOSED) continue;
    const before = run(p.frames, i - pad, i);
    if (!before?.every((f) => f.ear >= EAR_CLOSED) || !before.some((f) => f.ear >= EAR_OPEN)) continue;
    let j = i;
    let closed = 0;
    for (; j < p.frames.length; j++) {
      const f = p.frames[j];
      if (!faced(f)) break;
      if (f.ear >= EAR_OPEN) break;
      if (f.ear < EAR_CLOSED) closed++;
    }
    // longer than a second with the eyes narrowed is not a blink
    if (closed < 2 || j - i > p.fps || !run(p.frames, j, j + pad)) continue;
    const seconds = (j - i + 2 * pad) / p.fps;
    // asked to blink a few times, the person blinks until told it is done
    if (!best || closed > best.margin)
      best = {
        clip: p.clip,
        startS: (i - pad) / p.fps,
        seconds,
        margin: closed,
        hold: { fromS: 0, toS: seconds },
      };
  }
  return best;
}

export interface PersonSegments {
  person: string;
  segments: Partial<Record<SegmentName, Segment>>;
  /** challenge actions no clip of this person shows with the margin */
  missing: ChallengeAction[];
}

/**
 * One person's segments across their clips: the neutral stretch first (the longest), then each
 * movement from it. A session shows one person only, so segments never mix people.
 */
export function segmentsFor(person: string, clips: ClipPoses[]): PersonSegments {
  const neutrals = clips.map((c) => ({ c, s: findNeutral(c) })).filter((x) => x.s !== null);
  neutrals.sort((a, b) => (b.s?.seconds ?? 0) - (a.s?.seconds ?? 0));
  const chosen = neutrals[0];
  const segments: PersonSegments["segments"] = {};
  if (!chosen?.s) return { person, segments, missing: ["turn_left", "turn_right", "blink", "look_up"] };
  segments.neutral = chosen.s;
  const reference = meanPose(chosen.c, chosen.s);
  const best = (found: (Segment | null)[]): Segment | undefined =>
    found.filter((s): s is Segment => s !== null).sort((a, b) => b.margin - a.margin)[0];
  for (const kind of ["turn_left", "turn_right", "look_up", "look_down"] as const) {
    const s = best(clips.map((c) => findMovement(c, kind, reference)));
    if (s) segments[kind] = s;
  }
  const blink = best(clips.map(findBlink));
  if (blink) segments.blink = blink;
  const missing = (["turn_left", "turn_right", "blink", "look_up"] as const).filter((a) => !segments[a]);
  return { person, segments, missing };
}
