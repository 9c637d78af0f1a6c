/**
 * The "Evidence rule" part of docs/evaluation.md's fusion section: what each scenario analyzer
 * measured on validation and the weight and veto the rule of models/fusion/quality.ts gave it,
 * rendered from the policy file itself so the page and the shipped policy cannot disagree.
 */
import type { PolicyFile } from "../../models/fusion/calibrate.ts";
import { DOMAIN } from "../../models/fusion/quality.ts";

const pct = (v: number): string => `${(100 * v).toFixed(1)} %`;

export function evidenceLines(file: PolicyFile): string[] {
  const e = file.evidence;
  if (!e) return [];
  return [
    "### Evidence rule: weights and vetoes of the scenario analyzers",
    "",
    "A veto overrides the pooled evidence of every other analyzer, and a weight sets an analyzer's share",
    "of the pooled log-odds, so both follow what each model **measured on the validation split** of the",
    "scenario corpus (the split its card reports and its calibration used; the test split is never",
    "read: it stays the cards' one-shot held-out measurement). The same rule for all five",
    "(models/fusion/quality.ts; liveness is set by the operating point above):",
    "",
    "- weight = domain weight × (2·AUC − 1), the Gini coefficient of the validation ROC AUC;",
    `- veto to \`review\` only when the validation ROC AUC ≥ ${e.rule.minVetoAuc} (the readiness target every card states)`,
    "  **and** the validation false-alarm rate at the veto threshold has a Wilson 95 % upper bound",
    `  ≤ ${pct(e.rule.maxVetoFalseAlarmUpper)} (the policy's own review budget: one analyzer alone must not spend more than it);`,
    "- no scenario analyzer rejects on its own.",
    "",
    "| analyzer | model | validation AUC | validation risky / other | false alarms at veto (upper bound) | hits at veto | domain weight → **weight** | veto |",
    "| --- | --- | ---: | ---: | ---: | ---: | ---: | --- |",
    ...e.analyzers.map(
      (a) =>
        `| ${a.analyzer} | \`${a.modelVersion}\` | ${a.validationAuc.toFixed(3)} | ${a.validationRisky} / ${a.validationOther} | ${a.falseAlarmsAtVeto}/${a.validationOther} (≤ ${pct(a.falseAlarmUpper)}) | ${a.hitsAtVeto}/${a.validationRisky} | ${DOMAIN[a.analyzer].weight} → **${a.weight}** | ${a.veto ? `review at p ≥ ${DOMAIN[a.analyzer].review}` : "**none**"} |`,
    ),
    "",
    "What the rule cannot see: it reads validation only, and the validation clip (cap13) is another",
    "recording of the man in the training clip (cap12), so a model that fails on a new person, room or",
    "camera can look ready here. The environment model (`environment-trained-1.0.0`) is that case: validation AUC 0.965 and no validation",
    "false alarm at its veto, but on the test split (franck) its card reports AUC 0.760 and it flags",
    "nearly every genuine session. The rule keeps its veto because nothing it is allowed to read says",
    "otherwise; removing it on the strength of the test split would make the test split a tuning set.",
    "The fix belongs to the model and the corpus (a validation source from another person and room),",
    "not to a threshold chosen after looking at test.",
    "",
  ];
}
