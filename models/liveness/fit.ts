/**
 * The fitting primitives of models/liveness/train.ts: a standardised logistic regression fitted by
 * seeded full-batch gradient descent (class-balanced log loss + L2) and Platt scaling. Inputs may
 * be log-transformed per feature (`logOffset`, see models/build-lib.ts) and features can be frozen
 * (`learn[i] = false`: weight 0, the model ignores them). Everything is float64 and deterministic:
 * same samples, options and seed → same weights.
 */

import { seededRandom as rng } from "../../scripts/lib/seeded-random.ts";
import { type LogisticModel, transformed } from "../build-lib.ts";
import { platt } from "../train-lib.ts";

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

export const TRAIN_SEED = 7;

export const DEFAULT_OPTIONS: TrainOptions = {
  seed: TRAIN_SEED,
  iterations: 4000,
  learningRate: 0.2,
  l2: 0.01,
};

export const sigmoid = (z: number): number => 1 / (1 + Math.exp(-z));

/** Logit of the model for x (float64), the quantity Platt scaling recalibrates. */
export function logitOf(model: LogisticModel, x: readonly number[]): number {
  let z = model.bias;
  for (let i = 0; i < model.features.length; i++) {
    const v = transformed(model, i, x[i] ?? 0);
    z += ((v - (model.mean[i] ?? 0)) / (model.std[i] ?? 1)) * (model.weight[i] ?? 0);
  }
  return z;
}

export interface FitSpec {
  /** per feature: fitted (true) or frozen at weight 0 (false); default all true */
  learn?: readonly boolean[];
  /** per feature log offset (0 = raw), stored on the model */
  logOffset?: readonly number[];
}

/** Training-split centres and spreads of the (transformed) features; constant ones get std 1. */
export function standardisation(
  train: readonly Sample[],
  probe: LogisticModel,
): { mean: number[]; std: number[]; constant: boolean[]; z: number[][] } {
  const d = probe.features.length;
  const n = train.length;
  const t = train.map((s) => s.x.map((v, i) => transformed(probe, i, v)));
  const mean = new Array<number>(d).fill(0);
  const variance = new Array<number>(d).fill(0);
  for (const row of t) for (let i = 0; i < d; i++) mean[i] = (mean[i] ?? 0) + (row[i] ?? 0) / n;
  for (const row of t)
    for (let i = 0; i < d; i++) variance[i] = (variance[i] ?? 0) + ((row[i] ?? 0) - (mean[i] ?? 0)) ** 2 / n;
  const constant = variance.map((v) => Math.sqrt(v) < 1e-9);
  const std = variance.map((v, i) => (constant[i] ? 1 : Math.sqrt(v)));
  const z = t.map((row) => row.map((v, i) => (v - (mean[i] ?? 0)) / (std[i] ?? 1)));
  return { mean, std, constant, z };
}

/** Per-sample weights giving each class equal total mass (attacks outnumber bona fide windows). */
export function balance(train: readonly Sample[]): number[] {
  const n = train.length;
  const positives = train.filter((s) => s.y === 1).length;
  const negatives = n - positives;
  if (positives === 0 || negatives === 0) throw new Error("training needs both classes");
  return train.map((s) => (s.y === 1 ? n / (2 * positives) : n / (2 * negatives)));
}

/**
 * Standardised logistic regression by full-batch gradient descent. A feature constant on the
 * training split, or frozen by `spec.learn`, keeps weight 0 (it carries no usable evidence there,
 * e.g. challenges in single-window samples).
 */
export function fitLogistic(
  train: readonly Sample[],
  features: readonly string[],
  version: string,
  options: TrainOptions = DEFAULT_OPTIONS,
  spec: FitSpec = {},
): LogisticModel {
  const d = features.length;
  const n = train.length;
  if (n === 0) throw new Error("no training samples");
  const probe: LogisticModel = {
    analyzer: "liveness",
    version,
    features: [...features],
    mean: [],
    std: [],
    weight: [],
    bias: 0,
    ...(spec.logOffset ? { logOffset: [...spec.logOffset] } : {}),
  };
  const { mean, std, constant, z } = standardisation(train, probe);
  const frozen = constant.map((c, i) => c || spec.learn?.[i] === false);
  const sampleWeight = balance(train);
  const random = rng(options.seed);
  const weight = Array.from({ length: d }, (_, i) => (frozen[i] ? 0 : 0.01 * (random() - 0.5)));
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
      if (frozen[i]) continue;
      weight[i] =
        (weight[i] ?? 0) - options.learningRate * ((grad[i] ?? 0) / n + options.l2 * (weight[i] ?? 0));
    }
    bias -= (options.learningRate * gradBias) / n;
  }
  return { ...probe, mean, std, weight, bias };
}

/** Strength of the Gaussian prior that keeps Platt's (a, b) near (1, 0); see models/train-lib.ts `platt`. */
export const PLATT_PRIOR = 1;

/** Platt-calibrates a logistic model on held-out samples and folds (a, b) into weight and bias. */
export function plattCalibrate(
  model: LogisticModel,
  validation: readonly Sample[],
  prior = PLATT_PRIOR,
): { model: LogisticModel; a: number; b: number } {
  const { a, b } = platt(
    validation.map((s) => logitOf(model, s.x)),
    validation.map((s) => s.y),
    prior,
  );
  return {
    model: { ...model, weight: model.weight.map((w) => w * a), bias: model.bias * a + b },
    a,
    b,
  };
}

/** Mean class-balanced log loss of scores on samples (lower is better). */
export function balancedLogLoss(scores: readonly number[], samples: readonly Sample[]): number {
  let pos = 0;
  let neg = 0;
  let np = 0;
  let nn = 0;
  samples.forEach((s, k) => {
    const p = Math.min(1 - 1e-12, Math.max(1e-12, scores[k] ?? 0.5));
    if (s.y === 1) {
      pos -= Math.log(p);
      np++;
    } else {
      neg -= Math.log(1 - p);
      nn++;
    }
  });
  return (pos / Math.max(1, np) + neg / Math.max(1, nn)) / 2;
}
