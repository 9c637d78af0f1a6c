/**
 * The hook for evaluation sections that other work contributes to docs/evaluation.md (issue 5:
 * the five non-liveness analyzers are trained and measured separately). `npm run eval`
 * (scripts/corpus/eval.ts) renders the liveness and fusion sections, then appends, in order, the
 * Markdown lines each section here returns. To add one: write a module exporting an EvalSection
 * and list it in EXTRA_SECTIONS; write its plots under `context.plotDir` and link them relative
 * to docs/ (`evaluation/<file>.png`).
 */
import type { FusionPolicy } from "../../lib/fusion.ts";
import type { CorpusRow } from "./build.ts";
import { scenarioEvalSection } from "./scenarios/eval-section.ts";

export interface EvalContext {
  /** the liveness corpus rows (`.dev/corpus/features.jsonl`) */
  rows: readonly CorpusRow[];
  /** the fusion policy as just calibrated (models/fusion/policy.ts) */
  policy: FusionPolicy;
  /** liveness probability of each row under the shipped model, same order as rows */
  liveness: readonly number[];
  /** absolute folder for PNGs (docs/evaluation) */
  plotDir: string;
}

export interface EvalSection {
  /** heading text, rendered as `## <title>` */
  title: string;
  render(context: EvalContext): Promise<string[]> | string[];
}

/** Sections appended after the liveness and fusion evaluation, in this order. */
export const EXTRA_SECTIONS: EvalSection[] = [
  {
    title: "Session-scenario analyzers (coercion, environment, behavior, device risk, conversation)",
    // scenarioEvalSection renders its own heading line first; the hook supplies the heading.
    render: (context) => scenarioEvalSection(context.plotDir, "evaluation").split("\n").slice(1),
  },
];
