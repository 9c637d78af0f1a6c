/**
 * Fusion `fusion/1` (product-spec §5): the decisions an integrator relies on — clean sessions
 * approve, a confident liveness spoof rejects and says so first, a missing analyzer is named and
 * never silently passes — plus monotonicity, the property that makes the score explainable.
 */
import { describe, expect, it } from "vitest";
import { ANALYZERS, type AnalyzerName, type AnalyzerResult } from "../../lib/analyzer-contract.ts";
import {
  CHALLENGE_FAILED_REASON,
  DEFAULT_POLICY,
  type FusionInput,
  fuse,
  RiskSchema,
  reasonCode,
} from "../../lib/fusion.ts";
import { POLICY_FILE } from "../../models/fusion/policy.ts";

function result(
  analyzer: AnalyzerName,
  score: number,
  confidence = 0.9,
  signals: AnalyzerResult["signals"] = {},
): AnalyzerResult {
  return { analyzer, score, confidence, modelVersion: `${analyzer}@1.0.0`, latencyMs: 12, signals };
}

function allGood(): FusionInput {
  return Object.fromEntries(
    ANALYZERS.map((name) => [name, result(name, 0.04, 0.9, { calm: { value: 0.1, contribution: -1.2 } })]),
  );
}

describe("fuse", () => {
  it("approves when every analyzer is confident and low-risk", () => {
    const risk = fuse(allGood(), DEFAULT_POLICY);
    expect(RiskSchema.parse(risk)).toEqual(risk);
    expect(risk.decision).toBe("approve");
    expect(risk.score).toBeLessThan(DEFAULT_POLICY.thresholds.review);
    expect(risk.reasons).toEqual([]);
    // the report carries the shipped, calibrated policy (models/fusion/policy.ts)
    expect(risk).toMatchObject({
      thresholds: POLICY_FILE.policy.thresholds,
      policyVersion: POLICY_FILE.version,
      method: "fusion/1",
      confidence: 0.9,
    });
    expect(risk.analyzers.liveness).toEqual({
      score: 0.04,
      confidence: 0.9,
      modelVersion: "liveness@1.0.0",
      latencyMs: 12,
      signals: { calm: { value: 0.1, contribution: -1.2 } },
    });
  });

  it("rejects a confident liveness spoof and lists the liveness reason first", () => {
    const input = allGood();
    input.liveness = result("liveness", 0.97, 0.92, {
      LIVENESS_PLANAR_MOTION: { value: 0.9, contribution: 2.4 },
      moireEnergy: { value: 0.7, contribution: 1.1 },
      blinkRate: { value: 0.3, contribution: -0.4 },
    });
    input.environment = result("environment", 0.3, 0.8, {
      backgroundMotion: { value: 0.2, contribution: 0.3 },
    });
    const risk = fuse(input, DEFAULT_POLICY);
    expect(risk.decision).toBe("reject");
    expect(risk.score).toBeGreaterThanOrEqual(DEFAULT_POLICY.thresholds.reject); // veto lifts the score
    expect(risk.reasons[0]).toMatchObject({ code: "LIVENESS_PLANAR_MOTION", analyzer: "liveness" });
    expect(risk.reasons.map((r) => r.code)).toEqual([
      "LIVENESS_PLANAR_MOTION",
      "LIVENESS_MOIRE_ENERGY",
      "ENVIRONMENT_BACKGROUND_MOTION",
    ]);
    const contributions = risk.reasons.map((r) => r.contribution);
    expect(contributions).toEqual([...contributions].sort((a, b) => b - a));
    expect(contributions.every((c) => c > 0)).toBe(true);
  });

  it("a low-confidence liveness spoof is not enough to reject on its own", () => {
    const input = allGood();
    input.liveness = result("liveness", 0.97, 0.3);
    const risk = fuse(input, DEFAULT_POLICY);
    expect(risk.decision).toBe("review");
    expect(risk.reasons.map((r) => r.code)).toContain("ANALYZER_LIVENESS_LOW_CONFIDENCE");
  });

  it("a missing liveness result lowers confidence, is named, and never approves", () => {
    const good = fuse(allGood(), DEFAULT_POLICY);
    const input = allGood();
    delete input.liveness;
    const risk = fuse(input, DEFAULT_POLICY);
    expect(risk.confidence).toBeLessThan(good.confidence);
    expect(risk.decision).not.toBe("approve");
    expect(risk.reasons).toContainEqual({
      code: "ANALYZER_LIVENESS_UNAVAILABLE",
      analyzer: "liveness",
      contribution: 0,
    });
    expect(risk.analyzers.liveness).toEqual({ error: "ERR_ANALYZER_UNAVAILABLE" });
    expect(RiskSchema.safeParse(risk).success).toBe(true);
  });

  it("a timed-out liveness analyzer is named as a timeout and never approves", () => {
    const input = allGood();
    input.liveness = { error: "ERR_ANALYZER_TIMEOUT" };
    const risk = fuse(input, DEFAULT_POLICY);
    expect(risk.decision).toBe("review");
    expect(risk.reasons.map((r) => r.code)).toContain("ANALYZER_LIVENESS_TIMEOUT");
  });

  it("a failed non-required analyzer lowers confidence and is named, without blocking approve", () => {
    const input = allGood();
    input.environment = { error: "ERR_ANALYZER_MODEL" };
    const risk = fuse(input, DEFAULT_POLICY);
    expect(risk.confidence).toBeLessThan(0.9);
    expect(risk.reasons.map((r) => r.code)).toEqual(["ANALYZER_ENVIRONMENT_UNAVAILABLE"]);
    expect(risk.decision).toBe("approve");
  });

  it("with nothing available, reviews with zero confidence", () => {
    const risk = fuse({}, DEFAULT_POLICY);
    expect(risk.confidence).toBe(0);
    expect(risk.decision).toBe("review");
    expect(risk.reasons).toHaveLength(ANALYZERS.length);
  });

  it("treats a malformed or mislabelled result as unavailable", () => {
    const input = allGood();
    input.coercion = result("behavior", 0.1);
    input.behavior = { ...result("behavior", 0.1), score: Number.NaN };
    const risk = fuse(input, DEFAULT_POLICY);
    expect(risk.analyzers.coercion).toEqual({ error: "ERR_ANALYZER_INPUT" });
    expect(risk.analyzers.behavior).toEqual({ error: "ERR_ANALYZER_INPUT" });
    expect(Number.isFinite(risk.score)).toBe(true);
  });

  it("a confident single high-risk analyzer forces at least review (veto)", () => {
    const input = allGood();
    input.coercion = result("coercion", 0.95, 0.8);
    expect(fuse(input, DEFAULT_POLICY).decision).toBe("review");
  });

  it("caps reasons at 8, positive only", () => {
    const input: FusionInput = Object.fromEntries(
      ANALYZERS.map((name) => [
        name,
        result(name, 0.5, 0.9, {
          a: { value: 1, contribution: 1 },
          b: { value: 1, contribution: 0.5 },
          c: { value: 1, contribution: 0.25 },
          d: { value: 1, contribution: 0.1 },
        }),
      ]),
    );
    const reasons = fuse(input, DEFAULT_POLICY).reasons;
    expect(reasons).toHaveLength(8);
    expect(reasons.every((r) => r.contribution > 0)).toBe(true);
  });

  it("is monotone: raising one analyzer's score never lowers the fused score or the decision", () => {
    const rank = { approve: 0, review: 1, reject: 2 };
    const steps = Array.from({ length: 21 }, (_, i) => i / 20);
    for (const name of ANALYZERS) {
      for (const confidence of [0.2, 0.6, 1]) {
        let last = { score: -1, rank: -1 };
        for (const score of steps) {
          const input = allGood();
          input[name] = result(name, score, confidence);
          const risk = fuse(input, DEFAULT_POLICY);
          expect(risk.score, `${name}@${score}`).toBeGreaterThanOrEqual(last.score);
          expect(rank[risk.decision], `${name}@${score}`).toBeGreaterThanOrEqual(last.rank);
          last = { score: risk.score, rank: rank[risk.decision] };
        }
      }
    }
  });

  it("honours tenant thresholds", () => {
    const input = allGood();
    input.device_risk = result("device_risk", 0.7, 0.9);
    const strict = fuse(input, { ...DEFAULT_POLICY, thresholds: { review: 5, reject: 95 } });
    expect(strict.decision).toBe("review");
    expect(strict.thresholds).toEqual({ review: 5, reject: 95 });
  });
});

describe("flow evidence: liveness challenges (step 5)", () => {
  it("a session that left most challenges unanswered is never approved, and says why", () => {
    const clean = fuse(allGood(), DEFAULT_POLICY);
    expect(clean.decision).toBe("approve");
    for (const challenges of [
      { issued: 2, passed: 0 },
      { issued: 1, passed: 0 },
      { issued: 3, passed: 1 },
    ]) {
      const risk = fuse(allGood(), DEFAULT_POLICY, { challenges });
      expect(risk.decision, JSON.stringify(challenges)).toBe("review");
      // lifted like a veto: score and decision agree
      expect(risk.score).toBe(DEFAULT_POLICY.thresholds.review);
      expect(risk.reasons).toEqual([
        { code: CHALLENGE_FAILED_REASON, analyzer: "liveness", contribution: 0 },
      ]);
    }
  });

  it("a missed blink (one in two), all answered, or none shown leaves the analyzers' decision alone", () => {
    const clean = fuse(allGood(), DEFAULT_POLICY);
    for (const challenges of [
      { issued: 2, passed: 1, movementsMissed: 0 },
      { issued: 2, passed: 1 },
      { issued: 2, passed: 2, movementsMissed: 0 },
      { issued: 0, passed: 0 },
    ]) {
      expect(fuse(allGood(), DEFAULT_POLICY, { challenges })).toEqual(clean);
    }
  });

  it("a head movement left unanswered is a failure on its own, in the session or in one visit", () => {
    // natural footage replayed blinks by itself now and then; it does not turn toward a random side
    for (const evidence of [
      { challenges: { issued: 2, passed: 1, movementsMissed: 1 } },
      { challenges: { issued: 3, passed: 2, movementsMissed: 1 } },
      {
        challenges: { issued: 4, passed: 3, movementsMissed: 1 },
        challengeVisits: [
          { issued: 2, passed: 2, movementsMissed: 0 },
          { issued: 2, passed: 1, movementsMissed: 1 },
        ],
      },
    ]) {
      const risk = fuse(allGood(), DEFAULT_POLICY, evidence);
      expect(risk.decision, JSON.stringify(evidence)).toBe("review");
      expect(risk.reasons.map((r) => r.code)).toEqual([CHALLENGE_FAILED_REASON]);
    }
  });

  it("passes in one liveness visit do not hide failures in another", () => {
    const challengeVisits = [
      { issued: 2, passed: 0 },
      { issued: 3, passed: 3 },
    ];
    // 2 of 5 failed in all, but the first visit failed both
    const risk = fuse(allGood(), DEFAULT_POLICY, { challenges: { issued: 5, passed: 3 }, challengeVisits });
    expect(risk.decision).toBe("review");
    expect(risk.reasons.map((r) => r.code)).toEqual([CHALLENGE_FAILED_REASON]);
  });

  it("does not soften a reject, nor repeat a reason the liveness signal already gave", () => {
    const input = allGood();
    input.liveness = result("liveness", 0.97, 0.92, {
      LIVENESS_CHALLENGE_FAILED: { value: 1, contribution: 1.5 },
    });
    const risk = fuse(input, DEFAULT_POLICY, { challenges: { issued: 2, passed: 0 } });
    expect(risk.decision).toBe("reject");
    expect(risk.reasons.filter((r) => r.code === CHALLENGE_FAILED_REASON)).toHaveLength(1);
    expect(risk.reasons[0]?.contribution).toBeGreaterThan(0);
  });
});

describe("the shipped policy", () => {
  it("is the calibrated file, versioned, with its operating point and evidence", () => {
    expect(DEFAULT_POLICY.version).toBe(POLICY_FILE.version);
    expect(POLICY_FILE.policy.version).toBe(POLICY_FILE.version);
    expect(POLICY_FILE.operatingPoint.rejectMaxBpcer).toBe(0.03);
    expect(POLICY_FILE.validation.bpcerReject).toBeLessThanOrEqual(POLICY_FILE.operatingPoint.rejectMaxBpcer);
    expect(POLICY_FILE.validation.flaggedReview).toBeLessThanOrEqual(
      POLICY_FILE.operatingPoint.reviewMaxBonaFideFlagged,
    );
    expect(POLICY_FILE.corpus.manifestSha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it("liveness vetoes sit where a liveness-only session reaches each threshold", () => {
    const at = (p: number) => fuse({ liveness: result("liveness", p, 1) }, DEFAULT_POLICY);
    const { review, reject } = DEFAULT_POLICY.analyzers.liveness;
    if (review === null || reject === null) throw new Error("liveness vetoes must be set");
    expect(at(reject).decision).toBe("reject");
    expect(at(reject).score).toBeGreaterThanOrEqual(DEFAULT_POLICY.thresholds.reject);
    expect(at(reject - 0.02).score).toBeLessThan(DEFAULT_POLICY.thresholds.reject);
    expect(at(review).score).toBeGreaterThanOrEqual(DEFAULT_POLICY.thresholds.review);
  });
});

describe("reasonCode", () => {
  it.each([
    ["liveness", "LIVENESS_PLANAR_MOTION", "LIVENESS_PLANAR_MOTION"],
    ["liveness", "planarMotion", "LIVENESS_PLANAR_MOTION"],
    ["device_risk", "vpn-exit", "DEVICE_RISK_VPN_EXIT"],
    ["coercion", "coercion_gaze_off", "COERCION_GAZE_OFF"],
    ["behavior", "f0StdHz", "BEHAVIOR_F0_STD_HZ"],
  ] as const)("%s/%s → %s", (analyzer, signal, code) => {
    expect(reasonCode(analyzer, signal)).toBe(code);
  });
});
