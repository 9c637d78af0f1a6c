/**
 * Calibrates the fusion policy (product-spec §5; issue 5 §4) on the corpus's validation split and
 * writes it as a versioned module, models/fusion/policy.ts, which lib/fusion.ts bundles. Operating
 * point, stated in the policy itself: on validation, `reject` at the lowest fused score whose
 * BPCER (bona fide rejected) is ≤ 3 %, `review` at the lowest whose bona fide share sent to review
 * or reject is ≤ 10 % — lowest thresholds, so APCER is as small as those constraints allow.
 *
 * What the corpus can calibrate: only the liveness analyzer has labelled windows here, so the fused
 * score of a window is fuse() over its liveness result alone, at confidence 1 (a full session's
 * evidence). The liveness veto thresholds are set to the probabilities at which that score reaches
 * each threshold, so the veto and the pooled score agree. The five scenario analyzers' weights and
 * vetoes follow the evidence rule of models/fusion/quality.ts from their validation numbers on the
 * scenario corpus (recorded in the policy file as `evidence`).
 * `node models/fusion/calibrate.ts` (also run by `npm run eval`). Deterministic.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type FusionPolicy, fuse } from "../../lib/fusion.ts";
import { encodeModel, type LogisticModel, referenceScore, sha256Hex } from "../build-lib.ts";
import type { LabelledRow } from "../liveness/train.ts";
import { type AnalyzerQuality, applyEvidenceRule, EVIDENCE_RULE, mayVeto } from "./quality.ts";

export const OPERATING_POINT = {
  split: "validation",
  rejectMaxBpcer: 0.03,
  reviewMaxBonaFideFlagged: 0.1,
  objective: "lowest thresholds meeting both (minimises APCER)",
  livenessConfidence: 1,
} as const;

export interface PolicyFile {
  version: string;
  method: "fusion/1";
  date: string;
  operatingPoint: typeof OPERATING_POINT;
  corpus: { manifestSha256: string; windows: number };
  liveness: { modelVersion: string; modelSha256: string };
  /** validation counts at the chosen thresholds */
  validation: {
    bonaFide: number;
    attacks: number;
    bpcerReject: number;
    flaggedReview: number;
    apcerReject: number;
  };
  /** the scenario analyzers' validation numbers and what the evidence rule made of them */
  evidence?: {
    rule: typeof EVIDENCE_RULE;
    analyzers: (AnalyzerQuality & { weight: number; veto: boolean })[];
  };
  policy: FusionPolicy;
}

const logit = (p: number): number => Math.log(p / (1 - p));
const sigmoid = (z: number): number => 1 / (1 + Math.exp(-z));

/** Fused score of one window: fuse() with its liveness result alone, vetoes off. */
export function livenessOnlyScore(base: FusionPolicy, p: number): number {
  const noVeto: FusionPolicy = {
    ...base,
    analyzers: { ...base.analyzers, liveness: { ...base.analyzers.liveness, review: null, reject: null } },
  };
  const risk = fuse(
    {
      liveness: {
        analyzer: "liveness",
        score: p,
        confidence: OPERATING_POINT.livenessConfidence,
        modelVersion: "calibration",
        latencyMs: 0,
        signals: {},
      },
    },
    noVeto,
  );
  return risk.score;
}

/** Smallest liveness probability whose liveness-only fused score rounds to ≥ threshold. */
export function livenessAt(base: FusionPolicy, threshold: number): number {
  const w = base.analyzers.liveness.weight * OPERATING_POINT.livenessConfidence;
  const w0 = base.priorWeight;
  const target = logit((threshold - 0.5) / 100);
  const p = sigmoid(((w0 + w) * target - w0 * logit(base.prior)) / w);
  return Math.ceil(p * 1e4) / 1e4;
}

export function calibratePolicy(
  rows: readonly LabelledRow[],
  liveness: LogisticModel,
  base: FusionPolicy,
  manifest: string,
  version: string,
  date: string,
  quality: readonly AnalyzerQuality[] = [],
): PolicyFile {
  // Scenario weights first: they change no liveness-only score, only the evidence total.
  const ruled = quality.length > 0 ? applyEvidenceRule(base, quality) : base;
  const val = rows.filter((r) => r.split === "validation" && r.class !== "control");
  const scored = val.map((r) => ({ r, s: livenessOnlyScore(ruled, referenceScore(liveness, r.vector)) }));
  const bona = scored.filter((x) => x.r.class === "bona-fide").map((x) => x.s);
  const attacks = scored.filter((x) => x.r.class === "attack").map((x) => x.s);
  const share = (xs: number[], t: number): number => xs.filter((s) => s >= t).length / Math.max(1, xs.length);
  const lowest = (max: number): number => {
    for (let t = 1; t <= 100; t++) if (share(bona, t) <= max + 1e-12) return t;
    return 100;
  };
  const reject = lowest(OPERATING_POINT.rejectMaxBpcer);
  const review = Math.min(reject, lowest(OPERATING_POINT.reviewMaxBonaFideFlagged));
  const policy: FusionPolicy = {
    ...ruled,
    version,
    thresholds: { review, reject },
    analyzers: {
      ...ruled.analyzers,
      liveness: {
        ...ruled.analyzers.liveness,
        review: livenessAt(ruled, review),
        reject: livenessAt(ruled, reject),
      },
    },
  };
  return {
    version,
    method: "fusion/1",
    date,
    operatingPoint: OPERATING_POINT,
    corpus: { manifestSha256: sha256Hex(Buffer.from(manifest)), windows: rows.length },
    liveness: { modelVersion: liveness.version, modelSha256: sha256Hex(encodeModel(liveness)) },
    validation: {
      bonaFide: bona.length,
      attacks: attacks.length,
      bpcerReject: share(bona, reject),
      flaggedReview: share(bona, review),
      apcerReject: 1 - share(attacks, reject),
    },
    ...(quality.length > 0
      ? {
          evidence: {
            rule: EVIDENCE_RULE,
            analyzers: quality.map((q) => ({
              ...q,
              weight: policy.analyzers[q.analyzer].weight,
              veto: mayVeto(q),
            })),
          },
        }
      : {}),
    policy,
  };
}

export const POLICY_MODULE = join(import.meta.dirname, "policy.ts");

export function writePolicyModule(file: PolicyFile, out = POLICY_MODULE): string {
  const body = JSON.stringify(file, null, 2);
  const text = [
    "/**",
    " * The fusion policy lib/fusion.ts ships, as calibrated by models/fusion/calibrate.ts on the corpus's",
    " * validation split (operating point and evidence below). Generated: do not edit by hand; rerun",
    " * `node models/fusion/calibrate.ts` or `npm run eval`. A TypeScript module rather than JSON so the",
    " * Worker bundle, Node and tsc all import it without import attributes.",
    " */",
    `export const POLICY_FILE = ${body} as const;`,
    "",
  ].join("\n");
  writeFileSync(out, text);
  // the repository's formatter owns committed source layout (biome.json)
  execFileSync(
    join(import.meta.dirname, "..", "..", "node_modules", ".bin", "biome"),
    ["format", "--write", out],
    {
      stdio: "ignore",
    },
  );
  return createHash("sha256").update(readFileSync(out)).digest("hex");
}

/** Bump when the calibration's inputs or method change; the report carries it (Risk.policyVersion). */
// 2.0.0: scenario analyzers' weights and vetoes from their validation evidence (quality.ts).
export const POLICY_VERSION = "fusion-policy-2.0.0";
export const POLICY_DATE = "2026-11-26";

if (import.meta.main) {
  const { DEFAULT_POLICY } = await import("../../lib/fusion.ts");
  const { LIVENESS_MODEL } = await import("../liveness/build.ts");
  const { readCorpusRows, FEATURES_FILE } = await import("../liveness/train.ts");
  const { readScenarioRows } = await import("../train-run.ts");
  const { analyzerQuality, trainedModels } = await import("./quality.ts");
  const manifest = readFileSync(
    join(import.meta.dirname, "..", "..", "docs", "evaluation", "corpus-manifest.json"),
    "utf8",
  );
  const file = calibratePolicy(
    readCorpusRows(FEATURES_FILE),
    LIVENESS_MODEL,
    DEFAULT_POLICY,
    manifest,
    POLICY_VERSION,
    POLICY_DATE,
    analyzerQuality(readScenarioRows(), trainedModels()),
  );
  writePolicyModule(file);
  console.log(
    JSON.stringify({
      thresholds: file.policy.thresholds,
      liveness: file.policy.analyzers.liveness,
      validation: file.validation,
      evidence: file.evidence,
    }),
  );
}
