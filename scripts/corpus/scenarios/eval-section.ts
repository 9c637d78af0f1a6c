/**
 * The "Session-scenario analyzers" section of docs/evaluation.md (issue 5 "DET / ROC curves per
 * analyzer"): held-out metrics of the five trained non-liveness models on the scenario corpus
 * (`.dev/corpus/scenarios/sessions.jsonl`), against the hand-set models they replaced. Returns
 * Markdown and writes one DET-style PNG per analyzer (false-alarm rate against miss rate on probit
 * axes, scripts/corpus/det-plot.ts) into `imageDir`; scripts/corpus/eval.ts appends it with
 *
 *   markdown += scenarioEvalSection(join(docsDir, "evaluation"), "evaluation");
 *
 * Operating point per analyzer: the lowest threshold with a false-alarm rate ≤ 5 % on the
 * validation split, applied unchanged to test (the same discipline as the liveness section).
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { BEHAVIOR_HANDSET } from "../../../models/behavior/handset.ts";
import { referenceScore } from "../../../models/build-lib.ts";
import { COERCION_HANDSET } from "../../../models/coercion/handset.ts";
import { CONVERSATION_HANDSET } from "../../../models/conversation/handset.ts";
import { DEVICE_RISK_HANDSET } from "../../../models/device-risk/handset.ts";
import { ENVIRONMENT_HANDSET } from "../../../models/environment/handset.ts";
import { loadTrained, readScenarioRows } from "../../../models/train-run.ts";
import { writeDetPng } from "../det-plot.ts";
import { apcer, auc, bpcer, detPoints, type Rate, thresholdAtBpcer } from "../metrics.ts";
import { MODEL_FOLDER, SCENARIO_ANALYZERS, type ScenarioAnalyzer } from "./plan.ts";
import { type ScenarioRow, SESSIONS_FILE } from "./rows.ts";

/** False-alarm budget on validation that fixes each analyzer's threshold. */
export const FALSE_ALARM_TARGET = 0.05;
const MODELS_DIR = join(import.meta.dirname, "..", "..", "..", "models");
const HANDSET = {
  coercion: COERCION_HANDSET,
  environment: ENVIRONMENT_HANDSET,
  behavior: BEHAVIOR_HANDSET,
  device_risk: DEVICE_RISK_HANDSET,
  conversation: CONVERSATION_HANDSET,
};

const pct = (r: Rate): string =>
  `${(100 * r.rate).toFixed(1)} % (${r.errors}/${r.total}; ${(100 * r.low).toFixed(1)}–${(100 * r.high).toFixed(1)} %)`;

interface Scored {
  risky: number[];
  other: number[];
}

function scored(
  rows: ScenarioRow[],
  name: ScenarioAnalyzer,
  split: string,
  score: (x: number[]) => number,
): Scored {
  const mine = rows.filter((r) => r.split === split && r.labels[name] !== undefined);
  return {
    risky: mine.filter((r) => r.labels[name] === 1).map((r) => score(r.vectors[name])),
    other: mine.filter((r) => r.labels[name] === 0).map((r) => score(r.vectors[name])),
  };
}

/** Markdown for docs/evaluation.md; PNGs `scenario-<analyzer>.png` go to `imageDir`. */
export function scenarioEvalSection(imageDir: string, imageRef: string, file = SESSIONS_FILE): string {
  if (!existsSync(file)) {
    return "## Session-scenario analyzers\n\nNo scenario corpus found: run `npm run corpus` first.\n";
  }
  const rows = readScenarioRows(file);
  const out = [
    "## Session-scenario analyzers (coercion, environment, behavior, device risk, conversation)",
    "",
    "Trained by `node models/<name>/train.ts` on the scenario corpus (scripts/corpus/scenarios; each",
    "model's card.md lists its scenarios, splits and the logistic-vs-MLP comparison). Unit: one simulated",
    "session. Splits are identity-disjoint (voices and webcam clip per split). Threshold per analyzer:",
    `the lowest with a validation false-alarm rate ≤ ${100 * FALSE_ALARM_TARGET} %, applied unchanged to test.`,
    "",
    "**These are simulations**: synthetic voices, ffmpeg effects, metadata drawn from stated",
    "distributions, a few dozen sessions per split built from a handful of voices and one clip each.",
    "Simulated attacks are cleaner than real ones; the numbers check the pipeline and compare models,",
    "they do not predict field performance, and Wilson intervals are too narrow for correlated sessions.",
    "",
    "| analyzer | test risky / other | ROC AUC hand-set | **ROC AUC trained** | target ≥ 0.95 | miss rate at threshold | false alarms at threshold |",
    "| -------- | -----------------: | ---------------: | ------------------: | ------------- | ---------------------- | ------------------------- |",
  ];
  const images: string[] = [];
  for (const name of SCENARIO_ANALYZERS) {
    const trained = loadTrained(join(MODELS_DIR, MODEL_FOLDER[name])).model;
    const t = (x: number[]): number => referenceScore(trained, x);
    const h = (x: number[]): number => referenceScore(HANDSET[name], x);
    const val = scored(rows, name, "validation", t);
    const test = scored(rows, name, "test", t);
    const testH = scored(rows, name, "test", h);
    const threshold = thresholdAtBpcer(val.other, FALSE_ALARM_TARGET);
    const aT = auc(test.other, test.risky);
    const aH = auc(testH.other, testH.risky);
    out.push(
      `| ${name} | ${test.risky.length} / ${test.other.length} | ${aH.toFixed(3)} | **${aT.toFixed(3)}** | ${
        aT >= 0.95 ? "met" : "**not met**"
      } | ${pct(apcer(test.risky, threshold))} | ${pct(bpcer(test.other, threshold))} |`,
    );
    const png = `scenario-${name.replace("_", "-")}.png`;
    writeDetPng(
      join(imageDir, png),
      [
        { points: detPoints(testH.other, testH.risky), rgb: [150, 150, 150], width: 2 },
        { points: detPoints(test.other, test.risky), rgb: [31, 119, 180], width: 3 },
      ],
      { bpcer: FALSE_ALARM_TARGET, apcer: FALSE_ALARM_TARGET },
    );
    images.push(`| ${name} | ![${name} DET](${imageRef}/${png}) |`);
  }
  out.push(
    "",
    "Curves (test split): false-alarm rate (x) against miss rate (y), probit axes, grid at 1, 3, 10, 20,",
    `50, 80, 95 %; grey = hand-set, blue = trained; green = both rates ≤ ${100 * FALSE_ALARM_TARGET} %.`,
    "",
    "| analyzer | DET curve |",
    "| -------- | --------- |",
    ...images,
    "",
    "Reproduce: `npm run corpus` (the liveness corpus, then the scenarios), then `npm run eval` (it runs",
    "`node models/<name>/train.ts` for each of the five before scoring them).",
    "",
  );
  return out.join("\n");
}
