/**
 * Trains the liveness model on the evaluation corpus (scripts/corpus, `npm run corpus`):
 * a standardised logistic regression fitted by seeded full-batch gradient descent (class-balanced
 * log loss + L2), then Platt-calibrated on the validation split (score = σ(a·logit + b), folded
 * back into weight and bias so the ONNX graph stays the one of models/build-lib.ts). Feature order
 * and neutral values come from workers/analyzer-liveness/vector.ts; standardisation centres and
 * spreads are the training split's own.
 *
 * `node models/liveness/train.ts` reads `.dev/corpus/features.jsonl` and writes
 * `models/liveness/model.trained.onnx` plus `model.trained.onnx.sha256` — never `model.onnx`,
 * which the Worker ships (the evaluation in docs/evaluation.md decides whether it should change).
 * Deterministic: same corpus + same seed → same weights → same bytes.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { seededRandom as rng } from "../../scripts/lib/seeded-random.ts";
import { LIVENESS_VECTOR } from "../../workers/analyzer-liveness/vector.ts";
import { encodeModel, type LogisticModel, referenceScore, sha256Hex } from "../build-lib.ts";

export const TRAIN_SEED = 7;
export const TRAINED_VERSION = "liveness-trained-0.1.0";

/** One labelled vector: y = 1 presentation attack, 0 bona fide. */
export interface Sample {
  x: readonly number[];
  y: 0 | 1;
}

export interface TrainOptions {
  seed: number;
  iterations: number;
  learningRate: number;
  /** L2 penalty on the standardised weights */
  l2: number;
}

export const DEFAULT_OPTIONS: TrainOptions = {
  seed: TRAIN_SEED,
  iterations: 4000,
  learningRate: 0.2,
  l2: 0.01,
};

const sigmoid = (z: number): number => 1 / (1 + Math.exp(-z));

/** Logit of the model for x (float64), the quantity Platt scaling recalibrates. */
export function logitOf(model: LogisticModel, x: readonly number[]): number {
  let z = model.bias;
  for (let i = 0; i < model.features.length; i++) {
    z += (((x[i] ?? 0) - (model.mean[i] ?? 0)) / (model.std[i] ?? 1)) * (model.weight[i] ?? 0);
  }
  return z;
}

/**
 * Standardised logistic regression by full-batch gradient descent. Classes are weighted to equal
 * total mass (attacks outnumber bona fide windows). A feature constant on the training split gets
 * std 1 and weight 0 (it carries no evidence there, e.g. challenges in single-window samples).
 */
export function fitLogistic(
  train: readonly Sample[],
  features: readonly string[],
  version: string,
  options: TrainOptions = DEFAULT_OPTIONS,
): LogisticModel {
  const d = features.length;
  const n = train.length;
  if (n === 0) throw new Error("no training samples");
  const mean = new Array<number>(d).fill(0);
  const std = new Array<number>(d).fill(0);
  for (const s of train) for (let i = 0; i < d; i++) mean[i] = (mean[i] ?? 0) + (s.x[i] ?? 0) / n;
  for (const s of train)
    for (let i = 0; i < d; i++) std[i] = (std[i] ?? 0) + ((s.x[i] ?? 0) - (mean[i] ?? 0)) ** 2 / n;
  const constant = std.map((v) => Math.sqrt(v) < 1e-9);
  for (let i = 0; i < d; i++) std[i] = constant[i] ? 1 : Math.sqrt(std[i] ?? 1);

  const z = train.map((s) => s.x.map((v, i) => (v - (mean[i] ?? 0)) / (std[i] ?? 1)));
  const positives = train.filter((s) => s.y === 1).length;
  const negatives = n - positives;
  if (positives === 0 || negatives === 0) throw new Error("training needs both classes");
  const sampleWeight = train.map((s) => (s.y === 1 ? n / (2 * positives) : n / (2 * negatives)));

  const random = rng(options.seed);
  const weight = Array.from({ length: d }, (_, i) => (constant[i] ? 0 : 0.01 * (random() - 0.5)));
  let bias = 0;
  for (let it = 0; it < options.iterations; it++) {
    const grad = new Array<number>(d).fill(0);
    let gradBias = 0;
    for (let k = 0; k < n; k++) {
      const row = z[k] ?? [];
      let logit = bias;
      for (let i = 0; i < d; i++) logit += (row[i] ?? 0) * (weight[i] ?? 0);
      const err = (sigmoid(logit) - (train[k]?.y ?? 0)) * (sampleWeight[k] ?? 1);
      for (let i = 0; i < d; i++) grad[i] = (grad[i] ?? 0) + err * (row[i] ?? 0);
      gradBias += err;
    }
    for (let i = 0; i < d; i++) {
      if (constant[i]) continue;
      weight[i] =
        (weight[i] ?? 0) - options.learningRate * ((grad[i] ?? 0) / n + options.l2 * (weight[i] ?? 0));
    }
    bias -= (options.learningRate * gradBias) / n;
  }
  return { analyzer: "liveness", version, features: [...features], mean, std, weight, bias };
}

/** Strength of the Gaussian prior that keeps Platt's (a, b) near (1, 0); see plattCalibrate. */
export const PLATT_PRIOR = 1;

/**
 * Platt scaling on held-out samples: fits a, b of σ(a·logit + b) by Newton's method on the log
 * loss with Platt's smoothed targets plus a Gaussian prior PLATT_PRIOR·((a − 1)² + b²)/2 — without
 * it a validation split the model separates perfectly drives a to infinity (scores all 0 or 1) —
 * then folds them into the model (weight·a, bias·a + b).
 */
export function plattCalibrate(
  model: LogisticModel,
  validation: readonly Sample[],
  prior = PLATT_PRIOR,
): { model: LogisticModel; a: number; b: number } {
  const positives = validation.filter((s) => s.y === 1).length;
  const negatives = validation.length - positives;
  if (positives === 0 || negatives === 0) throw new Error("calibration needs both classes");
  const tPos = (positives + 1) / (positives + 2);
  const tNeg = 1 / (negatives + 2);
  const f = validation.map((s) => logitOf(model, s.x));
  const t = validation.map((s) => (s.y === 1 ? tPos : tNeg));
  let a = 1;
  let b = 0;
  for (let it = 0; it < 200; it++) {
    let ga = prior * (a - 1);
    let gb = prior * b;
    let haa = prior;
    let hab = 0;
    let hbb = prior;
    for (let k = 0; k < f.length; k++) {
      const fk = f[k] ?? 0;
      const p = sigmoid(a * fk + b);
      const e = p - (t[k] ?? 0);
      const w = p * (1 - p);
      ga += e * fk;
      gb += e;
      haa += w * fk * fk;
      hab += w * fk;
      hbb += w;
    }
    const det = haa * hbb - hab * hab;
    const da = (hbb * ga - hab * gb) / det;
    const db = (haa * gb - hab * ga) / det;
    a -= da;
    b -= db;
    if (Math.abs(da) + Math.abs(db) < 1e-10) break;
  }
  return {
    model: { ...model, weight: model.weight.map((w) => w * a), bias: model.bias * a + b },
    a,
    b,
  };
}

/** Mean class-balanced log loss of a model on samples (lower is better). */
export function balancedLogLoss(model: LogisticModel, samples: readonly Sample[]): number {
  let pos = 0;
  let neg = 0;
  let np = 0;
  let nn = 0;
  for (const s of samples) {
    const p = Math.min(1 - 1e-12, Math.max(1e-12, sigmoid(logitOf(model, s.x))));
    if (s.y === 1) {
      pos -= Math.log(p);
      np++;
    } else {
      neg -= Math.log(1 - p);
      nn++;
    }
  }
  return (pos / Math.max(1, np) + neg / Math.max(1, nn)) / 2;
}

export interface TrainedLiveness {
  /** L2 strengths tried, with the uncalibrated model's balanced log loss on validation */
  l2Grid: { l2: number; validationLoss: number }[];
  /** fitted on train with the chosen L2, before calibration */
  raw: LogisticModel;
  /** Platt-calibrated on validation: the exported model */
  calibrated: LogisticModel;
  platt: { a: number; b: number };
  options: TrainOptions;
}

/** The rows the trainer needs from `.dev/corpus/features.jsonl` (scripts/corpus/build.ts CorpusRow). */
export interface LabelledRow {
  class: "bona-fide" | "attack" | "control";
  split: "train" | "validation" | "test";
  vector: number[];
}

export function samplesOf(rows: readonly LabelledRow[], split: LabelledRow["split"]): Sample[] {
  return rows
    .filter((r) => r.split === split && r.class !== "control")
    .map((r) => ({ x: r.vector, y: r.class === "attack" ? 1 : 0 }));
}

/** L2 strengths tried; the one with the lowest validation loss wins (test is never looked at). */
export const L2_GRID = [0.001, 0.01, 0.1, 1];

export function trainLiveness(
  rows: readonly LabelledRow[],
  options: TrainOptions = DEFAULT_OPTIONS,
  grid: readonly number[] = L2_GRID,
): TrainedLiveness {
  const features = LIVENESS_VECTOR.features.map((f) => f.name);
  const train = samplesOf(rows, "train");
  const validation = samplesOf(rows, "validation");
  const fits = grid.map((l2) => {
    const model = fitLogistic(train, features, TRAINED_VERSION, { ...options, l2 });
    return { l2, model, validationLoss: balancedLogLoss(model, validation) };
  });
  const best = fits.reduce((x, y) => (y.validationLoss < x.validationLoss ? y : x));
  const { model, a, b } = plattCalibrate(best.model, validation);
  return {
    l2Grid: fits.map(({ l2, validationLoss }) => ({ l2, validationLoss })),
    raw: best.model,
    calibrated: model,
    platt: { a, b },
    options: { ...options, l2: best.l2 },
  };
}

export const TRAINED_DOC =
  "Facet liveness analyzer, trained: standardised logistic regression fitted on the scripts/corpus " +
  "training split, Platt-calibrated on its validation split (models/liveness/train.ts; docs/evaluation.md).";

/** Writes model.trained.onnx and its .sha256 beside this file; returns the hash. */
export function writeTrained(model: LogisticModel, dir = import.meta.dirname): string {
  const bytes = encodeModel(model, TRAINED_DOC);
  const sha = sha256Hex(bytes);
  writeFileSync(join(dir, "model.trained.onnx"), bytes);
  writeFileSync(join(dir, "model.trained.onnx.sha256"), `${sha}  model.trained.onnx\n`);
  return sha;
}

export function readCorpusRows(file: string): LabelledRow[] {
  return readFileSync(file, "utf8")
    .split("\n")
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as LabelledRow);
}

export { referenceScore };

if (import.meta.main) {
  const file = join(import.meta.dirname, "..", "..", ".dev", "corpus", "features.jsonl");
  const trained = trainLiveness(readCorpusRows(file));
  const sha = writeTrained(trained.calibrated);
  console.log(`liveness: model.trained.onnx sha256 ${sha}`);
  console.log(
    JSON.stringify({
      platt: trained.platt,
      weight: trained.calibrated.weight,
      bias: trained.calibrated.bias,
    }),
  );
}
