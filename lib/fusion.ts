/**
 * Fusion: the separate, documented, versioned step that turns the six independent analyzer
 * results into one risk assessment (product-spec §5). Method `fusion/1`:
 *
 * 1. Pooling. Each available analyzer i gives a calibrated probability p_i (clipped to
 *    [0.001, 0.999]) and a confidence c_i. Its pooling weight is w_i = weight_i · c_i, with
 *    weight_i from the policy (liveness highest). The base rate acts as one more pseudo-analyzer
 *    with weight w_0, so thin evidence shrinks toward it. The fused log-odds is the weighted mean
 *    L = (w_0·logit(prior) + Σ w_i·logit(p_i)) / (w_0 + Σ w_i), and score = round(100·σ(L)).
 *    ∂L/∂logit(p_i) = w_i / Σw > 0, so raising one analyzer's score never lowers the fused score.
 * 2. Vetoes. A mean dilutes one decisive analyzer, so each analyzer also has veto thresholds: at
 *    p_i ≥ review and c_i ≥ veto.reviewConfidence the decision is at least `review`; at
 *    p_i ≥ reject and c_i ≥ veto.rejectConfidence it is `reject` (liveness spoof → reject). A veto
 *    lifts the score to that decision's threshold so the two never disagree.
 * 3. Missing evidence. A failed, timed-out or absent analyzer contributes no evidence (w_i = 0),
 *    lowers the overall confidence — Σ_available weight_i·c_i / Σ_all weight_i — and is named in
 *    `reasons` as ANALYZER_<NAME>_UNAVAILABLE / _TIMEOUT (§5 "never silently passes"). A `required`
 *    analyzer (liveness) that is unavailable or under-confident, or an overall confidence below
 *    `minConfidence`, means the decision is never `approve`.
 * 4. Reasons. An analyzer's signals carry their logit contributions; scaled by the analyzer's share
 *    of the fused logit (w_i / Σw) they become contributions to L. The positive (risk-raising) ones,
 *    at most 3 per analyzer and 8 in all, sorted descending, followed by the availability reasons.
 * 5. Flow evidence. What the session's own nodes established is a floor the analyzers cannot argue
 *    away: when a head-movement challenge (a turn, looking up) or more than half of the liveness
 *    challenges drawn — in the session, or in any one liveness node visit — were not answered
 *    (product-spec §2), the person did not show they were live on request, whatever the passive
 *    cues say. The liveness model carries the fail ratio only as a hand-set prior (it cannot be
 *    learned from the corpus's single windows, models/liveness/card.md), and on real footage
 *    answering every challenge in the wrong direction it stayed at 0.40–0.53 — an `approve`. So
 *    the rule is explicit: the decision is at least `review`, the score lifted to the review
 *    threshold like a veto, and the reason LIVENESS_CHALLENGE_FAILED is named. A missed blink
 *    alone, one in two, is not enough:
 *    a genuine user's closure can fall between the widget's 3–5 frames a second, while a turn held
 *    until confirmed cannot. A missed movement is: a replayed or injected recording of natural
 *    footage blinks by itself every few seconds and so answers a blink prompt by chance now and
 *    then, but does not turn 15° toward a side drawn at random.
 */
import { z } from "@hono/zod-openapi";
import { POLICY_FILE } from "../models/fusion/policy.ts";
import {
  ANALYZER_ERROR_CODES,
  ANALYZERS,
  type AnalyzerErrorCode,
  type AnalyzerName,
  type AnalyzerResult,
  AnalyzerResultSchema,
} from "./analyzer-contract.ts";

export const FUSION_METHOD = "fusion/1" as const;
const MAX_REASONS = 8;
const MAX_REASONS_PER_ANALYZER = 3;
const P_MIN = 0.001;

const probability = z.number().min(0).max(1);
const byAnalyzer = <T extends z.ZodType>(schema: T) =>
  z.object({
    liveness: schema,
    coercion: schema,
    environment: schema,
    behavior: schema,
    device_risk: schema,
    conversation: schema,
  } satisfies Record<AnalyzerName, T>);

export const AnalyzerPolicySchema = z
  .object({
    /** relative evidence weight in the pooled log-odds */
    weight: z.number().min(0).max(100),
    /** probability at or above which this analyzer alone forces at least `review` (null: never) */
    review: probability.nullable(),
    /** probability at or above which this analyzer alone forces `reject` (null: never) */
    reject: probability.nullable(),
    /** unavailable or under-confident → never `approve` */
    required: z.boolean(),
  })
  .openapi("FusionAnalyzerPolicy");

export const ThresholdsSchema = z
  .object({ review: z.number().int().min(0).max(100), reject: z.number().int().min(0).max(100) })
  .refine((t) => t.review <= t.reject, { message: "review threshold must not exceed reject" })
  .openapi("RiskThresholds");

export const FusionPolicySchema = z
  .object({
    version: z.string().min(1).max(64),
    thresholds: ThresholdsSchema,
    /** base rate of risky sessions; the pooled score's anchor */
    prior: z
      .number()
      .min(P_MIN)
      .max(1 - P_MIN),
    priorWeight: z.number().min(0).max(100),
    /** overall confidence below this never approves */
    minConfidence: probability,
    veto: z.object({ reviewConfidence: probability, rejectConfidence: probability }),
    analyzers: byAnalyzer(AnalyzerPolicySchema),
  })
  .openapi("FusionPolicy");
export type FusionPolicy = z.infer<typeof FusionPolicySchema>;
export type AnalyzerPolicy = z.infer<typeof AnalyzerPolicySchema>;

/**
 * The shipped policy: calibrated on the evaluation corpus's validation split by
 * models/fusion/calibrate.ts (operating point, corpus hash and date in models/fusion/policy.ts),
 * bundled at build time and validated here once per isolate. Analyzer weights: liveness highest,
 * because its failure is itself an attack (a presentation attack); only liveness forces `reject`.
 */
export const DEFAULT_POLICY: FusionPolicy = FusionPolicySchema.parse(POLICY_FILE.policy);

export const DECISIONS = ["approve", "review", "reject"] as const;
export type Decision = (typeof DECISIONS)[number];

export const RiskReasonSchema = z
  .object({
    code: z.string().regex(/^[A-Z][A-Z0-9_]{0,95}$/),
    analyzer: z.enum(ANALYZERS),
    /** this reason's share of the fused log-odds (0 for availability reasons) */
    contribution: z.number(),
  })
  .openapi("RiskReason");

export const RiskAnalyzerSchema = z
  .union([
    z.object({
      score: probability,
      confidence: probability,
      modelVersion: z.string(),
      latencyMs: z.number().min(0),
      signals: z.record(z.string(), z.object({ value: z.number(), contribution: z.number() })),
    }),
    z.object({ error: z.enum(ANALYZER_ERROR_CODES) }),
  ])
  .openapi("RiskAnalyzer");

export const RiskSchema = z
  .object({
    /** fused risk, 0 (no risk) … 100 */
    score: z.number().int().min(0).max(100),
    decision: z.enum(DECISIONS),
    reasons: z.array(RiskReasonSchema),
    /** per analyzer: its own result (score is its calibrated probability 0..1) or why it is missing */
    analyzers: byAnalyzer(RiskAnalyzerSchema),
    thresholds: ThresholdsSchema,
    policyVersion: z.string(),
    method: z.literal(FUSION_METHOD),
    /** how much of the policy's evidence weight was actually available, 0..1 */
    confidence: probability,
  })
  .openapi("Risk");
export type Risk = z.infer<typeof RiskSchema>;
export type RiskReason = z.infer<typeof RiskReasonSchema>;
export type RiskAnalyzer = z.infer<typeof RiskAnalyzerSchema>;

export type FusionInput = Partial<Record<AnalyzerName, AnalyzerResult | { error: AnalyzerErrorCode }>>;

const logit = (p: number) => Math.log(p / (1 - p));
const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));
const clip = (p: number) => Math.min(1 - P_MIN, Math.max(P_MIN, p));
const round = (x: number, digits: number) => Math.round(x * 10 ** digits) / 10 ** digits;
const RANK: Record<Decision, number> = { approve: 0, review: 1, reject: 2 };
const atLeast = (a: Decision, b: Decision): Decision => (RANK[a] >= RANK[b] ? a : b);

/** `LIVENESS_PLANAR_MOTION` stays as is; `planarMotion` from liveness becomes `LIVENESS_PLANAR_MOTION`. */
export function reasonCode(analyzer: AnalyzerName, signal: string): string {
  if (/^[A-Z][A-Z0-9]*(_[A-Z0-9]+)+$/.test(signal)) return signal.slice(0, 96);
  const prefix = analyzer.toUpperCase();
  const snake = signal
    .replace(/([a-z0-9])([A-Z])/g, "$1_$2")
    .replace(/[^A-Za-z0-9]+/g, "_")
    .replace(/^_+|_+$/g, "")
    .toUpperCase();
  const code =
    snake === "" ? `${prefix}_SIGNAL` : snake.startsWith(`${prefix}_`) ? snake : `${prefix}_${snake}`;
  return code.slice(0, 96);
}

type Available = { name: AnalyzerName; result: AnalyzerResult; w: number };

/** Liveness challenges over a session or one liveness node visit (step 5). */
export interface ChallengeTally {
  /** drawn, shown or not */
  issued: number;
  /** answered as asked */
  passed: number;
  /** head movements (a turn, looking up) drawn and not answered; absent: none */
  movementsMissed?: number;
}

/** What the flow itself established beside the analyzers (step 5). */
export interface FlowEvidence {
  /** liveness challenges over the whole session */
  challenges?: ChallengeTally;
  /** the same per liveness node visit: passes in one visit must not hide failures in another */
  challengeVisits?: readonly ChallengeTally[];
}

/** Step 5: more than this share of the challenges shown left unanswered means at least `review`. */
export const CHALLENGE_FAIL_REVIEW_RATIO = 0.5;
export const CHALLENGE_FAILED_REASON = "LIVENESS_CHALLENGE_FAILED";

/**
 * Whether the challenges failed (step 5): a head movement left unanswered, or more than half of
 * them; false when none were drawn.
 */
export function challengesFailed(challenges: ChallengeTally | undefined): boolean {
  if (!challenges || challenges.issued <= 0) return false;
  if ((challenges.movementsMissed ?? 0) > 0) return true;
  return (challenges.issued - challenges.passed) / challenges.issued > CHALLENGE_FAIL_REVIEW_RATIO;
}
type Unavailable = { name: AnalyzerName; error: AnalyzerErrorCode };

export function fuse(
  results: FusionInput,
  policy: FusionPolicy = DEFAULT_POLICY,
  flow: FlowEvidence = {},
): Risk {
  const available: Available[] = [];
  const unavailable: Unavailable[] = [];
  for (const name of ANALYZERS) {
    const entry = results[name];
    if (entry === undefined) unavailable.push({ name, error: "ERR_ANALYZER_UNAVAILABLE" });
    else if ("error" in entry) unavailable.push({ name, error: entry.error });
    else {
      // Defence in depth: the DO validates at the RPC boundary, but a malformed or mislabelled
      // result must not be pooled (a NaN would poison the score).
      const parsed = AnalyzerResultSchema.safeParse(entry);
      if (!parsed.success || parsed.data.analyzer !== name)
        unavailable.push({ name, error: "ERR_ANALYZER_INPUT" });
      else
        available.push({
          name,
          result: parsed.data,
          w: policy.analyzers[name].weight * parsed.data.confidence,
        });
    }
  }

  // 1. Confidence-weighted log-odds pooling, anchored at the prior.
  const total = policy.priorWeight + available.reduce((s, a) => s + a.w, 0);
  const pooled =
    policy.priorWeight * logit(policy.prior) +
    available.reduce((s, a) => s + a.w * logit(clip(a.result.score)), 0);
  const fusedLogit = total > 0 ? pooled / total : logit(policy.prior);
  const pooledScore = Math.round(100 * sigmoid(fusedLogit));

  const allWeight = ANALYZERS.reduce((s, n) => s + policy.analyzers[n].weight, 0);
  const evidence = available.reduce((s, a) => s + a.w, 0);
  const confidence = allWeight > 0 ? round(evidence / allWeight, 3) : 0;

  // 2. Vetoes. A veto lifts the score to its decision's threshold, so score and a risk-driven
  // decision never disagree (a max of monotone functions is still monotone).
  const { thresholds, veto } = policy;
  let vetoed: Decision = "approve";
  for (const { name, result } of available) {
    const p = policy.analyzers[name];
    if (p.review !== null && result.score >= p.review && result.confidence >= veto.reviewConfidence) {
      vetoed = atLeast(vetoed, "review");
    }
    if (p.reject !== null && result.score >= p.reject && result.confidence >= veto.rejectConfidence) {
      vetoed = "reject";
    }
  }
  // 5. Flow evidence: failed challenges act like a review veto (see the header).
  const challengeFloor =
    challengesFailed(flow.challenges) || (flow.challengeVisits ?? []).some(challengesFailed);
  if (challengeFloor) vetoed = atLeast(vetoed, "review");
  const floor = vetoed === "reject" ? thresholds.reject : vetoed === "review" ? thresholds.review : 0;
  const score = Math.max(pooledScore, floor);
  let decision: Decision =
    score >= thresholds.reject ? "reject" : score >= thresholds.review ? "review" : "approve";

  // 3. Missing evidence never approves; it does not lift the score (it is not evidence of risk).
  const availabilityReasons: RiskReason[] = [];
  for (const { name, result } of available) {
    if (policy.analyzers[name].required && result.confidence < veto.reviewConfidence) {
      decision = atLeast(decision, "review");
      availabilityReasons.push({
        code: `ANALYZER_${name.toUpperCase()}_LOW_CONFIDENCE`,
        analyzer: name,
        contribution: 0,
      });
    }
  }
  for (const { name, error } of unavailable) {
    if (policy.analyzers[name].required) decision = atLeast(decision, "review");
    const kind = error === "ERR_ANALYZER_TIMEOUT" ? "TIMEOUT" : "UNAVAILABLE";
    availabilityReasons.push({
      code: `ANALYZER_${name.toUpperCase()}_${kind}`,
      analyzer: name,
      contribution: 0,
    });
  }
  if (confidence < policy.minConfidence) decision = atLeast(decision, "review");

  // 4. Signal reasons, scaled by each analyzer's share of the fused logit.
  const signalReasons = available
    .flatMap(({ name, result, w }) =>
      Object.entries(result.signals)
        .filter(([, s]) => s.contribution > 0)
        .sort(([, a], [, b]) => b.contribution - a.contribution)
        .slice(0, MAX_REASONS_PER_ANALYZER)
        .map(([signal, s]) => ({
          code: reasonCode(name, signal),
          analyzer: name,
          contribution: total > 0 ? (w / total) * s.contribution : 0,
        })),
    )
    .filter((r) => r.contribution > 0)
    .sort((a, b) => b.contribution - a.contribution)
    .slice(0, MAX_REASONS)
    .map((r) => ({ ...r, contribution: round(r.contribution, 4) }));
  // The floor's reason, unless the liveness signal already named it with its contribution.
  const flowReasons: RiskReason[] =
    challengeFloor && !signalReasons.some((r) => r.code === CHALLENGE_FAILED_REASON)
      ? [{ code: CHALLENGE_FAILED_REASON, analyzer: "liveness", contribution: 0 }]
      : [];

  const analyzers = Object.fromEntries(
    ANALYZERS.map((name): [AnalyzerName, RiskAnalyzer] => {
      const a = available.find((x) => x.name === name);
      if (!a)
        return [
          name,
          { error: unavailable.find((u) => u.name === name)?.error ?? "ERR_ANALYZER_UNAVAILABLE" },
        ];
      const { score: s, confidence: c, modelVersion, latencyMs, signals } = a.result;
      return [name, { score: s, confidence: c, modelVersion, latencyMs, signals }];
    }),
  ) as Record<AnalyzerName, RiskAnalyzer>;

  return {
    score,
    decision,
    reasons: [...signalReasons, ...flowReasons, ...availabilityReasons],
    analyzers,
    thresholds: { review: thresholds.review, reject: thresholds.reject },
    policyVersion: policy.version,
    method: FUSION_METHOD,
    confidence,
  };
}
