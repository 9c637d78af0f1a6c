/**
 * Liveness challenge verification (durable-objects/session/node-logic.ts): a turn or an upward
 * look is the head's signed rotation toward the asked side, measured from the pose in the newest
 * usable window captured before the prompt, within a response period counted in capture time; the opposite direction, too little rotation or no reference
 * answers nothing. Signs are the face engine's (lib/features.ts): yaw < 0 the person's own left,
 * pitch < 0 up — test/tokenizer/face.test.ts measures them on a real clip.
 */
import { describe, expect, it } from "vitest";
import { challengeTally, type LivenessState } from "../../durable-objects/session/liveness-node.ts";
import {
  CHALLENGE_RESPONSE_MS,
  CHALLENGE_RESPONSE_WINDOWS,
  drawChallenges,
  LIVENESS_SPOOF_THRESHOLD,
  LOOK_UP_MIN_DEG,
  livenessOutcome,
  referencePose,
  responsePeriod,
  TURN_MIN_DEG,
  windowAnswersChallenge,
  windowContradictsChallenge,
} from "../../durable-objects/session/node-logic.ts";
import { type FaceWindow, FEATURES_SCHEMA, type WindowFeatures } from "../../lib/features.ts";
import type { ChallengeAction } from "../../lib/widget-protocol.ts";

/** A window whose face holds yaw/pitch between the given extremes (degrees), mean in between. */
function window(
  seq: number,
  pose: {
    yaw: [number, number];
    pitch?: [number, number];
    blinks?: number;
    closed?: number;
    present?: number;
  },
): WindowFeatures {
  const [yawMin, yawMax] = pose.yaw;
  const [pitchMin, pitchMax] = pose.pitch ?? [-5, -5];
  const face: FaceWindow = {
    framesAnalyzed: 5,
    facePresentRatio: pose.present ?? 1,
    multiFaceRatio: 0,
    faceAreaMean: 0.2,
    yawRangeDeg: yawMax - yawMin,
    pitchRangeDeg: pitchMax - pitchMin,
    yawMeanDeg: (yawMin + yawMax) / 2,
    yawMinDeg: yawMin,
    yawMaxDeg: yawMax,
    pitchMeanDeg: (pitchMin + pitchMax) / 2,
    pitchMinDeg: pitchMin,
    pitchMaxDeg: pitchMax,
    blinkCount: pose.blinks ?? 0,
    eyesClosedFrames: pose.closed ?? pose.blinks ?? 0,
    eyeOpennessMean: 0.8,
    mouthApertureStd: 0.05,
    gazeOffScreenRatio: 0,
    planarity: 0.3,
    depthVariation: 0.3,
    landmarkJitter: 0.01,
  };
  return {
    schema: FEATURES_SCHEMA,
    seq,
    startMs: seq * 1000,
    endMs: seq * 1000 + 999,
    face,
    image: null,
    audio: null,
  };
}

const neutral = window(0, { yaw: [-4, -2] });
const before = referencePose([neutral], 1000);

describe("turn challenges check the direction", () => {
  it("a turn to the person's left answers turn_left and not turn_right", () => {
    const left = window(1, { yaw: [-22, -3] });
    expect(windowAnswersChallenge("turn_left", left, before)).toBe(true);
    expect(windowAnswersChallenge("turn_right", left, before)).toBe(false);
  });

  it("a turn to the person's right answers turn_right and not turn_left", () => {
    const right = window(1, { yaw: [-3, 16] });
    expect(windowAnswersChallenge("turn_right", right, before)).toBe(true);
    expect(windowAnswersChallenge("turn_left", right, before)).toBe(false);
  });

  it("measures from the pose before the prompt, not from within the window", () => {
    // the head was already turned left when the prompt came: holding it there is no turn
    const turned = referencePose([window(0, { yaw: [-25, -20] })], 1000);
    const held = window(1, { yaw: [-26, -21] });
    expect(windowAnswersChallenge("turn_left", held, turned)).toBe(false);
    // a window that only sways back and forth around the same pose is not a turn either
    expect(windowAnswersChallenge("turn_left", window(1, { yaw: [-10, 8] }), before)).toBe(false);
    // and a turn that began before this window but reaches the threshold in it is one
    expect(windowAnswersChallenge("turn_left", window(1, { yaw: [-19, -12] }), before)).toBe(true);
  });

  it("needs TURN_MIN_DEG of rotation toward the asked side", () => {
    const edge = -3 - TURN_MIN_DEG;
    expect(windowAnswersChallenge("turn_left", window(1, { yaw: [edge, -3] }), before)).toBe(true);
    expect(windowAnswersChallenge("turn_left", window(1, { yaw: [edge + 0.5, -3] }), before)).toBe(false);
  });
});

describe("look_up checks the direction", () => {
  it("looking up answers it, looking down does not", () => {
    expect(LOOK_UP_MIN_DEG).toBe(10);
    const up = window(1, { yaw: [-3, -3], pitch: [-18, -5] });
    const down = window(1, { yaw: [-3, -3], pitch: [-5, 12] });
    expect(windowAnswersChallenge("look_up", up, before)).toBe(true);
    expect(windowAnswersChallenge("look_up", down, before)).toBe(false);
  });
});

describe("the opposite movement fails a challenge", () => {
  it("a turn the other way, or looking down for look_up, contradicts; a blink has no opposite", () => {
    const right = window(1, { yaw: [-3, 16] });
    const left = window(1, { yaw: [-22, -3] });
    expect(windowContradictsChallenge("turn_left", right, before)).toBe(true);
    expect(windowContradictsChallenge("turn_right", left, before)).toBe(true);
    expect(windowContradictsChallenge("turn_left", left, before)).toBe(false);
    expect(windowContradictsChallenge("turn_right", right, before)).toBe(false);
    const down = window(1, { yaw: [-3, -3], pitch: [-5, 12] });
    const up = window(1, { yaw: [-3, -3], pitch: [-18, -5] });
    expect(windowContradictsChallenge("look_up", down, before)).toBe(true);
    expect(windowContradictsChallenge("look_up", up, before)).toBe(false);
    expect(windowContradictsChallenge("blink", right, before)).toBe(false);
  });

  it("a sway within the margin, a missing face or reference contradicts nothing", () => {
    expect(windowContradictsChallenge("turn_left", window(1, { yaw: [-10, 8] }), before)).toBe(false);
    expect(windowContradictsChallenge("turn_left", window(1, { yaw: [-3, 16] }), null)).toBe(false);
    expect(windowContradictsChallenge("turn_left", window(1, { yaw: [-3, 16], present: 0.4 }), before)).toBe(
      false,
    );
  });

  it("a head still held to one side from the challenge before is not moving that way again", () => {
    // turn_left answered late: the reference window holds the turn (mean −9, leftmost −30); the
    // next prompt, turn_right, finds the head still at −30 before it turns right
    const heldLeft = referencePose([window(0, { yaw: [-30, 2] })], 1000);
    expect(heldLeft?.yawDeg).toBeCloseTo(-14);
    const stillLeftThenRight = window(1, { yaw: [-30, 12] });
    expect(windowContradictsChallenge("turn_right", stillLeftThenRight, heldLeft)).toBe(false);
    expect(windowAnswersChallenge("turn_right", stillLeftThenRight, heldLeft)).toBe(true);
    // going 15° further left than anything in the reference still contradicts
    expect(windowContradictsChallenge("turn_right", window(1, { yaw: [-46, -30] }), heldLeft)).toBe(true);
  });

  it("a window swinging both ways answers the turn and contradicts it (the node fails it)", () => {
    const both = window(1, { yaw: [-22, 16] });
    expect(windowAnswersChallenge("turn_left", both, before)).toBe(true);
    expect(windowContradictsChallenge("turn_left", both, before)).toBe(true);
  });
});

describe("what answers nothing", () => {
  it("a window without a usable face, or no pose to measure from", () => {
    const left = window(1, { yaw: [-30, -3] });
    expect(windowAnswersChallenge("turn_left", left, null)).toBe(false);
    expect(windowAnswersChallenge("turn_left", window(1, { yaw: [-30, -3], present: 0.4 }), before)).toBe(
      false,
    );
    expect(windowAnswersChallenge("turn_left", { ...left, face: null }, before)).toBe(false);
  });

  it("blink needs an eye closure after open eyes", () => {
    expect(windowAnswersChallenge("blink", window(1, { yaw: [-3, -3], blinks: 1 }), null)).toBe(true);
    expect(windowAnswersChallenge("blink", window(1, { yaw: [-3, -3] }), before)).toBe(false);
    // a closure from the window's first frame: open eyes before the prompt make it a blink …
    const closedFromStart = window(1, { yaw: [-3, -3], blinks: 0, closed: 2 });
    expect(before?.eyesOpen).toBe(true);
    expect(windowAnswersChallenge("blink", closedFromStart, before)).toBe(true);
    // … eyes already closed before it (a photo of closed eyes), or no reference, do not
    const closedBefore = referencePose(
      [{ ...neutral, face: neutral.face && { ...neutral.face, eyeOpennessMean: 0.3 } }],
      1000,
    );
    expect(closedBefore?.eyesOpen).toBe(false);
    expect(windowAnswersChallenge("blink", closedFromStart, closedBefore)).toBe(false);
    expect(windowAnswersChallenge("blink", closedFromStart, null)).toBe(false);
  });
});

describe("referencePose", () => {
  it("is the newest usable window captured before the response period", () => {
    const windows = [
      window(0, { yaw: [-10, -6] }),
      window(1, { yaw: [2, 4] }),
      window(2, { yaw: [-30, 30], present: 0.2 }),
      window(3, { yaw: [20, 30] }),
    ];
    // the period starts with window 3: window 2 had no usable face, window 1 counts
    expect(referencePose(windows, 3000)).toMatchObject({ yawDeg: 3, pitchDeg: -5, eyesOpen: true });
    expect(referencePose(windows, 1000)).toMatchObject({ yawDeg: -8, pitchDeg: -5, eyesOpen: true });
    // windows tokenized after the prompt but captured before it still count (a lagging tokenizer)
    expect(referencePose(windows, 4000)).toMatchObject({ yawDeg: 25, pitchDeg: -5, eyesOpen: true });
    expect(referencePose(windows, 0)).toBeNull();
    expect(referencePose([window(0, { yaw: [0, 0], present: 0 })], 1000)).toBeNull();
  });
});

describe("responsePeriod", () => {
  it("starts with the window being captured at the prompt and leaves at least 3 s, in capture time", () => {
    expect(CHALLENGE_RESPONSE_MS).toBe(3000);
    expect(CHALLENGE_RESPONSE_WINDOWS).toBe(4);
    expect(responsePeriod(0)).toEqual({ startMs: 0, endMs: 3000 });
    // a prompt late in a window does not cut the person's time to two seconds and a bit
    expect(responsePeriod(4250)).toEqual({ startMs: 4000, endMs: 8000 });
    // however far the tokenizer lags, the period follows capture: the prompt at 9.99 s of capture
    // is answered in windows 9–12, not in windows captured before the person saw it
    expect(responsePeriod(9990)).toEqual({ startMs: 9000, endMs: 13000 });
    for (const at of [0, 1, 999, 1000, 4250, 9990]) {
      const p = responsePeriod(at);
      expect(p.endMs - at).toBeGreaterThanOrEqual(CHALLENGE_RESPONSE_MS);
      expect((p.endMs - p.startMs) / 1000).toBeLessThanOrEqual(CHALLENGE_RESPONSE_WINDOWS);
    }
  });
});

describe("the challenges drawn and the node's branch", () => {
  it("draws without repeats, only from the node's actions", () => {
    for (let i = 0; i < 200; i++) {
      const all = drawChallenges(3);
      expect(new Set(all).size).toBe(3);
      const narrowed = drawChallenges(2, ["turn_right", "blink"]);
      expect([...narrowed].sort()).toEqual(["blink", "turn_right"]);
    }
    // every action of the default set comes up (random draws: 200 × 3 picks of 4)
    const seen = new Set(Array.from({ length: 200 }, () => drawChallenges(3)).flat());
    expect([...seen].sort()).toEqual(["blink", "look_up", "turn_left", "turn_right"]);
  });

  it("is not `live` when a movement or most challenges went unanswered; a spoof stays a spoof", () => {
    const calm = { score: LIVENESS_SPOOF_THRESHOLD / 2, confidence: 0.9 };
    expect(livenessOutcome(calm, { issued: 2, passed: 2, movementsMissed: 0 })).toBe("live");
    // the one missed is a blink
    expect(livenessOutcome(calm, { issued: 2, passed: 1, movementsMissed: 0 })).toBe("live");
    expect(livenessOutcome(calm, { issued: 0, passed: 0, movementsMissed: 0 })).toBe("live");
    expect(livenessOutcome(calm, { issued: 2, passed: 1, movementsMissed: 1 })).toBe("inconclusive");
    expect(livenessOutcome(calm, { issued: 2, passed: 0 })).toBe("inconclusive");
    expect(livenessOutcome(calm, { issued: 3, passed: 1 })).toBe("inconclusive");
    expect(
      livenessOutcome({ score: LIVENESS_SPOOF_THRESHOLD, confidence: 0.9 }, { issued: 2, passed: 0 }),
    ).toBe("spoof");
    expect(livenessOutcome(null, { issued: 2, passed: 2 })).toBe("inconclusive");
  });
});

describe("a visit's challenge tally", () => {
  const state = (challenges: ChallengeAction[], passed: boolean[]): LivenessState => ({
    node: { id: "l", type: "liveness", challenges: challenges.length, outcomes: {} } as LivenessState["node"],
    firstWindow: 0,
    firstProcessed: 0,
    challenges,
    issued: passed.map((p) => ({ promptedAtMs: 0, passed: p, contradicted: !p, told: true })),
    deciding: false,
  });

  it("counts a missed movement apart from a missed blink", () => {
    expect(challengeTally(state(["turn_right", "blink"], [true, false]))).toEqual({
      issued: 2,
      passed: 1,
      movementsMissed: 0,
    });
    expect(challengeTally(state(["blink", "look_up"], [true, false]))).toEqual({
      issued: 2,
      passed: 1,
      movementsMissed: 1,
    });
  });

  it("counts a movement drawn but never shown as missed", () => {
    // the face hidden until late: only the first of three went out, and was answered
    expect(challengeTally(state(["blink", "turn_left", "look_up"], [true]))).toEqual({
      issued: 3,
      passed: 1,
      movementsMissed: 2,
    });
  });
});
