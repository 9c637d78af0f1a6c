/**
 * models/fusion/calibrate.ts without media: on synthetic liveness scores, the thresholds are the
 * lowest meeting the stated operating point on validation (BPCER ≤ 3 % for reject, ≤ 10 % of bona
 * fide flagged for review), the liveness vetoes sit exactly where a liveness-only session crosses
 * them, and the written policy validates against the schema lib/fusion.ts loads it with.
 */
import { describe, expect, it } from "vitest";
import { DEFAULT_POLICY, FusionPolicySchema, fuse } from "../../lib/fusion.ts";
import type { LogisticModel } from "../../models/build-lib.ts";
import {
  calibratePolicy,
  livenessAt,
  livenessOnlyScore,
  OPERATING_POINT,
} from "../../models/fusion/calibrate.ts";
import type { LabelledRow } from "../../models/liveness/train.ts";
import { seededRandom as rng } from "../../scripts/lib/seeded-random.ts";

/** A one-feature "model" whose score is σ(x): rows carry the logit they should score. */
const identity: LogisticModel = {
  analyzer: "liveness",
  version: "test-identity",
  features: ["z"],
  mean: [0],
  std: [1],
  weight: [1],
  bias: 0,
};

function rows(seed: number): LabelledRow[] {
  const random = rng(seed);
  const out: LabelledRow[] = [];
  for (const split of ["train", "validation", "test"] as const) {
    for (let i = 0; i < 60; i++)
      out.push({ class: "bona-fide", split, vector: [-2 + 2.5 * (random() - 0.5)] });
    for (let i = 0; i < 80; i++) out.push({ class: "attack", split, vector: [1.5 + 3 * (random() - 0.5)] });
  }
  return out;
}

describe("fusion calibration", () => {
  const data = rows(3);
  const file = calibratePolicy(
    data,
    identity,
    DEFAULT_POLICY,
    "manifest",
    "fusion-policy-test",
    "2026-11-26",
  );
  const { thresholds } = file.policy;
  const bona = data
    .filter((r) => r.split === "validation" && r.class === "bona-fide")
    .map((r) => livenessOnlyScore(DEFAULT_POLICY, 1 / (1 + Math.exp(-(r.vector[0] ?? 0)))));
  const share = (t: number) => bona.filter((s) => s >= t).length / bona.length;

  it("picks the lowest thresholds that meet the operating point on validation", () => {
    expect(share(thresholds.reject)).toBeLessThanOrEqual(OPERATING_POINT.rejectMaxBpcer);
    expect(share(thresholds.reject - 1)).toBeGreaterThan(OPERATING_POINT.rejectMaxBpcer);
    expect(share(thresholds.review)).toBeLessThanOrEqual(OPERATING_POINT.reviewMaxBonaFideFlagged);
    expect(thresholds.review).toBeLessThanOrEqual(thresholds.reject);
    expect(file.validation.bpcerReject).toBe(share(thresholds.reject));
  });

  it("puts the liveness vetoes where a liveness-only session reaches each threshold", () => {
    for (const t of [thresholds.review, thresholds.reject]) {
      const p = livenessAt(DEFAULT_POLICY, t);
      expect(livenessOnlyScore(DEFAULT_POLICY, p)).toBeGreaterThanOrEqual(t);
      expect(livenessOnlyScore(DEFAULT_POLICY, p - 0.01)).toBeLessThan(t);
    }
    expect(file.policy.analyzers.liveness.reject).toBe(livenessAt(DEFAULT_POLICY, thresholds.reject));
  });

  it("writes a policy lib/fusion.ts accepts, versioned and traceable to its corpus", () => {
    const policy = FusionPolicySchema.parse(file.policy);
    expect(policy.version).toBe("fusion-policy-test");
    expect(file.corpus.manifestSha256).toMatch(/^[0-9a-f]{64}$/);
    expect(fuse({}, policy).policyVersion).toBe("fusion-policy-test");
  });
});
