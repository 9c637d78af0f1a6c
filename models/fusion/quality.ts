/**
 * The evidence rule of the fusion policy (fusion-policy-2.x, docs/evaluation.md "Fusion policy"):
 * how much say each of the five scenario analyzers gets — its pooling weight and whether it may
 * veto a session to `review` on its own — follows from what its trained model measured on the
 * scenario corpus's **validation** split, the split its card reports and its calibration used.
 * The test split is never read here: it stays the one-shot held-out measurement of the cards.
 *
 * Rule, the same for every scenario analyzer (liveness is set by calibrate.ts's operating point):
 * - weight = domain weight × (2·AUC − 1), the validation ROC AUC's Gini coefficient: an analyzer
 *   that ranks no better than chance adds no log-odds, a perfect ranker keeps its domain weight;
 * - a review veto needs both (a) validation ROC AUC ≥ 0.95, the readiness target every card
 *   states, and (b) at the veto threshold, a validation false-alarm rate whose Wilson 95 % upper
 *   bound stays within the policy's own review budget (≤ 10 % of bona fide sent to review): one
 *   analyzer alone must not be able to spend more than that budget on genuine sessions;
 * - no scenario analyzer rejects on its own (only liveness does: a presentation attack).
 * Domain weights and veto thresholds are the hand-set values of fusion-policy-1.0.0, kept here as
 * constants so the rule is a function of the models alone and rerunning it never compounds.
 */
import { join } from "node:path";
import type { AnalyzerPolicy, FusionPolicy } from "../../lib/fusion.ts";
import { wilson } from "../../scripts/corpus/metrics.ts";
import {
  MODEL_FOLDER,
  SCENARIO_ANALYZERS,
  type ScenarioAnalyzer,
} from "../../scripts/corpus/scenarios/plan.ts";
import type { ScenarioRow } from "../../scripts/corpus/scenarios/rows.ts";
import { referenceScore } from "../build-lib.ts";
import { loadTrained, type Trained } from "../train-run.ts";

export const EVIDENCE_RULE = {
  /** the readiness target of every scenario model card, applied to the validation ROC AUC */
  minVetoAuc: 0.95,
  /** Wilson 95 % upper bound of the validation false-alarm rate at the veto threshold */
  maxVetoFalseAlarmUpper: 0.1,
} as const;

/** fusion-policy-1.0.0's hand-set domain weights and review vetoes (the rule's starting point). */
export const DOMAIN: Record<ScenarioAnalyzer, { weight: number; review: number }> = {
  coercion: { weight: 1.5, review: 0.8 },
  environment: { weight: 1, review: 0.9 },
  behavior: { weight: 1, review: 0.9 },
  device_risk: { weight: 1.2, review: 0.85 },
  conversation: { weight: 1, review: 0.9 },
};

/** What the rule reads about one analyzer: its card's validation numbers at the veto threshold. */
export interface AnalyzerQuality {
  analyzer: ScenarioAnalyzer;
  modelVersion: string;
  /** validation ROC AUC of the shipped logistic (card.md "validation ROC AUC") */
  validationAuc: number;
  validationRisky: number;
  validationOther: number;
  /** validation sessions of other kinds scoring ≥ the domain veto threshold */
  falseAlarmsAtVeto: number;
  /** Wilson 95 % upper bound of falseAlarmsAtVeto / validationOther */
  falseAlarmUpper: number;
  /** validation risky sessions scoring ≥ the domain veto threshold */
  hitsAtVeto: number;
}

export function trainedModels(
  modelsDir = join(import.meta.dirname, ".."),
): Record<ScenarioAnalyzer, Trained> {
  return Object.fromEntries(
    SCENARIO_ANALYZERS.map((a) => [a, loadTrained(join(modelsDir, MODEL_FOLDER[a]))]),
  ) as Record<ScenarioAnalyzer, Trained>;
}

/** Measures every scenario analyzer on the validation split of the scenario corpus. */
export function analyzerQuality(
  rows: readonly ScenarioRow[],
  trained: Record<ScenarioAnalyzer, Trained>,
): AnalyzerQuality[] {
  return SCENARIO_ANALYZERS.map((analyzer) => {
    const t = trained[analyzer];
    const lr = t.report.families.find((f) => f.family === "logistic regression");
    if (!lr) throw new Error(`${analyzer}: trained.json has no logistic regression report`);
    const val = rows.filter((r) => r.split === "validation" && r.labels[analyzer] !== undefined);
    const score = (r: ScenarioRow) => referenceScore(t.model, r.vectors[analyzer]);
    const veto = DOMAIN[analyzer].review;
    const other = val.filter((r) => r.labels[analyzer] === 0);
    const risky = val.filter((r) => r.labels[analyzer] === 1);
    const falseAlarms = other.filter((r) => score(r) >= veto).length;
    return {
      analyzer,
      modelVersion: t.model.version,
      validationAuc: lr.validationAuc,
      validationRisky: risky.length,
      validationOther: other.length,
      falseAlarmsAtVeto: falseAlarms,
      falseAlarmUpper: wilson(falseAlarms, other.length).high,
      hitsAtVeto: risky.filter((r) => score(r) >= veto).length,
    };
  });
}

/** Whether the rule lets this analyzer veto to review on its own. */
export function mayVeto(q: AnalyzerQuality): boolean {
  return (
    q.validationAuc >= EVIDENCE_RULE.minVetoAuc && q.falseAlarmUpper <= EVIDENCE_RULE.maxVetoFalseAlarmUpper
  );
}

/** The policy with each scenario analyzer's weight and veto set by the rule (liveness untouched). */
export function applyEvidenceRule(base: FusionPolicy, quality: readonly AnalyzerQuality[]): FusionPolicy {
  const analyzers = { ...base.analyzers };
  for (const q of quality) {
    const gini = Math.max(0, 2 * q.validationAuc - 1);
    const p: AnalyzerPolicy = {
      weight: Math.round(DOMAIN[q.analyzer].weight * gini * 100) / 100,
      review: mayVeto(q) ? DOMAIN[q.analyzer].review : null,
      reject: null,
      required: false,
    };
    analyzers[q.analyzer] = p;
  }
  return { ...base, analyzers };
}
