/**
 * The training run every models/<name>/train.ts performs (the fitting itself is
 * models/train-lib.ts): read the scenario corpus (`.dev/corpus/scenarios/sessions.jsonl`, built
 * by `npm run corpus`), fit and compare the families on train/validation, score the held-out test
 * split, and ship: `models/<dir>/trained.json` (the calibrated parameters, the ONNX doc string and
 * the measured report; committed, so `node models/build-all.ts` rebuilds the same bytes without
 * the corpus), `model.onnx` through models/build-lib.ts, and `card.md` (models/train-card.ts).
 * Deterministic: same corpus + same seed → same parameters → same bytes and sha256.
 */
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { AnalyzerVector } from "../lib/analyzer-runtime.ts";
import type { ScenarioAnalyzer } from "../scripts/corpus/scenarios/plan.ts";
import { type ScenarioRow, SESSIONS_FILE } from "../scripts/corpus/scenarios/rows.ts";
import { CARD_SHA_PATTERN, encodeModel, type LogisticModel, referenceScore, sha256Hex } from "./build-lib.ts";
import { type CardText, writeCard } from "./train-card.ts";
import {
  balancedLogLoss,
  brier,
  fitLogistic,
  fitMlp,
  HIDDEN_GRID,
  L2_GRID,
  logisticScorer,
  MLP_MARGIN,
  mlpScorer,
  platt,
  rocAuc,
  type Sample,
  type Scorer,
  standardiser,
  TRAIN_SEED,
  toLogisticModel,
} from "./train-lib.ts";

export interface FamilyReport {
  family: string;
  /** hyper-parameter chosen on validation */
  chosen: string;
  validationAuc: number;
  testAuc: number;
  testLogLoss: number;
  testBrier: number;
}

export interface TrainReport {
  seed: number;
  counts: Record<"train" | "validation" | "test", { risky: number; genuine: number }>;
  grids: { family: string; setting: string; validationLoss: number }[];
  families: FamilyReport[];
  shipped: string;
  platt: { a: number; b: number };
  /** per scenario kind in the test split: sessions and the share scored ≥ 0.5 */
  testByKind: { kind: string; label: 0 | 1; n: number; flagged: number }[];
}

export interface Trained {
  model: LogisticModel;
  doc: string;
  report: TrainReport;
}

const sigmoid = (z: number): number => 1 / (1 + Math.exp(-z));

export function readScenarioRows(file = SESSIONS_FILE): ScenarioRow[] {
  return readFileSync(file, "utf8")
    .split("\n")
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as ScenarioRow);
}

export function samplesOf(rows: readonly ScenarioRow[], name: ScenarioAnalyzer, split: ScenarioRow["split"]) {
  return rows
    .filter((r) => r.split === split && r.labels[name] !== undefined)
    .map((r) => ({ x: r.vectors[name], y: r.labels[name] as 0 | 1, kind: r.kind }));
}

function evaluate(
  family: string,
  chosen: string,
  s: Scorer,
  cal: { a: number; b: number },
  val: Sample[],
  test: Sample[],
) {
  const p = (x: readonly number[]): number => sigmoid(cal.a * s.logit(x) + cal.b);
  const ty = test.map((t) => t.y);
  const tp = test.map((t) => p(t.x));
  return {
    family,
    chosen,
    validationAuc: rocAuc(
      val.map((v) => s.logit(v.x)),
      val.map((v) => v.y),
    ),
    testAuc: rocAuc(tp, ty),
    testLogLoss: balancedLogLoss(tp, ty),
    testBrier: brier(tp, ty),
  };
}

export function trainAnalyzer(
  name: ScenarioAnalyzer,
  vector: AnalyzerVector<never>,
  handset: LogisticModel,
  version: string,
  rows: readonly ScenarioRow[],
): Trained {
  const features = vector.features.map((f) => f.name);
  const train = samplesOf(rows, name, "train");
  const val = samplesOf(rows, name, "validation");
  const test = samplesOf(rows, name, "test");
  const st = standardiser(train, features.length);
  const vy = val.map((v) => v.y);
  const grids: TrainReport["grids"] = [];

  const logistic = L2_GRID.map((l2) => {
    const p = fitLogistic(train, st, l2);
    const s = logisticScorer(st, p);
    const loss = balancedLogLoss(
      val.map((v) => sigmoid(s.logit(v.x))),
      vy,
    );
    grids.push({ family: "logistic", setting: `L2 ${l2}`, validationLoss: loss });
    return { l2, p, s, loss };
  }).reduce((a, b) => (b.loss < a.loss ? b : a));
  const mlp = HIDDEN_GRID.map((hidden) => {
    const m = fitMlp(train, st, hidden, 0.01);
    const s = mlpScorer(st, m);
    const loss = balancedLogLoss(
      val.map((v) => sigmoid(s.logit(v.x))),
      vy,
    );
    grids.push({ family: "mlp", setting: `${hidden} tanh units, L2 0.01`, validationLoss: loss });
    return { hidden, s, loss };
  }).reduce((a, b) => (b.loss < a.loss ? b : a));

  const calL = platt(
    val.map((v) => logistic.s.logit(v.x)),
    vy,
  );
  const calM = platt(
    val.map((v) => mlp.s.logit(v.x)),
    vy,
  );
  const handsetScorer: Scorer = {
    logit: (x) => Math.log(referenceScore(handset, x) / (1 - referenceScore(handset, x))),
  };
  const families = [
    evaluate("hand-set (shipped before)", handset.version, handsetScorer, { a: 1, b: 0 }, val, test),
    evaluate("logistic regression", `L2 ${logistic.l2}`, logistic.s, calL, val, test),
    evaluate("MLP", `${mlp.hidden} tanh units`, mlp.s, calM, val, test),
  ];
  const [, lr, nn] = families as [FamilyReport, FamilyReport, FamilyReport];
  const mlpWins = nn.validationAuc > lr.validationAuc + MLP_MARGIN;
  if (mlpWins) {
    // The ONNX contract (score + per-feature contributions summing to the logit) has no MLP form
    // yet; say so loudly instead of shipping a model the Worker cannot explain.
    console.warn(`${name}: the MLP beat the logistic on validation AUC; shipping the logistic (see card.md)`);
  }
  const model = toLogisticModel(name, version, features, st, logistic.p, calL);
  const testByKind = [...new Set(test.map((t) => t.kind))].map((kind) => {
    const mine = test.filter((t) => t.kind === kind);
    return {
      kind,
      label: mine[0]?.y ?? 0,
      n: mine.length,
      flagged: mine.filter((t) => referenceScore(model, t.x) >= 0.5).length,
    };
  });
  const count = (xs: { y: 0 | 1 }[]) => ({
    risky: xs.filter((x) => x.y === 1).length,
    genuine: xs.filter((x) => x.y === 0).length,
  });
  const doc =
    `Facet ${name} analyzer, trained: standardised logistic regression fitted on the scenario corpus ` +
    `(scripts/corpus/scenarios) training split, Platt-calibrated on its validation split (models/train-lib.ts).`;
  return {
    model,
    doc,
    report: {
      seed: TRAIN_SEED,
      counts: { train: count(train), validation: count(val), test: count(test) },
      grids,
      families,
      shipped: mlpWins ? "logistic regression (MLP measured better; see card)" : "logistic regression",
      platt: calL,
      testByKind,
    },
  };
}

/** Writes trained.json, model.onnx and card.md into `dir`; returns the model's sha256. */
export function ship(dir: string, vector: AnalyzerVector<never>, trained: Trained, text: CardText): string {
  const bytes = encodeModel(trained.model, trained.doc);
  const sha = sha256Hex(bytes);
  writeFileSync(join(dir, "trained.json"), `${JSON.stringify(trained, null, 2)}\n`);
  writeFileSync(join(dir, "model.onnx"), bytes);
  writeCard(dir, vector, trained, sha, text);
  formatted(join(dir, "trained.json"), join(dir, "card.md"));
  console.log(`${trained.model.analyzer}: ${join(dir, "model.onnx")} ${bytes.length} bytes sha256 ${sha}`);
  return sha;
}

/** The repository's formatter owns the layout of committed JSON and Markdown (biome.json). */
function formatted(...files: string[]): void {
  const biome = join(import.meta.dirname, "..", "node_modules", ".bin", "biome");
  execFileSync(biome, ["format", "--write", ...files], { stdio: "ignore" });
}

/** The committed trained parameters of `dir` (what build.ts and the tests load). */
export function loadTrained(dir: string): Trained {
  return JSON.parse(readFileSync(join(dir, "trained.json"), "utf8")) as Trained;
}

/**
 * Rewrites `dir/model.onnx` from the committed trained parameters (no corpus needed) and keeps
 * the card's sha256 line in step; returns the hash. What `node models/build-all.ts` runs.
 */
export function writeTrainedModel(trained: Trained, dir: string): string {
  const bytes = encodeModel(trained.model, trained.doc);
  const sha = sha256Hex(bytes);
  writeFileSync(join(dir, "model.onnx"), bytes);
  const card = join(dir, "card.md");
  const text = readFileSync(card, "utf8");
  if (!CARD_SHA_PATTERN.test(text)) throw new Error(`${card} has no "sha256(model.onnx): \`…\`" line`);
  writeFileSync(card, text.replace(CARD_SHA_PATTERN, `sha256(model.onnx): \`${sha}\``));
  formatted(card);
  console.log(`${trained.model.analyzer}: ${join(dir, "model.onnx")} ${bytes.length} bytes sha256 ${sha}`);
  return sha;
}
