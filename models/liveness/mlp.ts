/**
 * A small multilayer perceptron for the liveness model comparison (models/liveness/train.ts):
 * one hidden layer of tanh units on the same standardised, log-transformed, frozen-feature inputs
 * as the logistic regression, class-balanced log loss + L2, full-batch Adam (Kingma & Ba 2015),
 * seeded Glorot-uniform initialisation. Scored in float64 TypeScript only: it is exported to ONNX
 * only if it wins the comparison (it has not; see card.md), and the analyzer contract's
 * per-feature `contributions` output has no exact counterpart for a non-linear model.
 */

import { seededRandom as rng } from "../../scripts/lib/seeded-random.ts";
import type { LogisticModel } from "../build-lib.ts";
import { balance, type Sample, sigmoid, standardisation } from "./fit.ts";

export interface MlpOptions {
  seed: number;
  hidden: number;
  iterations: number;
  learningRate: number;
  l2: number;
}

export const MLP_OPTIONS: MlpOptions = { seed: 7, hidden: 6, iterations: 3000, learningRate: 0.01, l2: 0.01 };

export interface Mlp {
  /** the input transform and standardisation (weights unused) */
  input: LogisticModel;
  /** kept input indices */
  use: number[];
  w1: number[][];
  b1: number[];
  w2: number[];
  b2: number;
  /** Platt (a, b) applied to the output logit */
  platt: { a: number; b: number };
}

function forward(m: Mlp, z: readonly number[]): { h: number[]; logit: number } {
  const h = m.w1.map((row, j) =>
    Math.tanh(row.reduce((s, w, k) => s + w * (z[m.use[k] ?? 0] ?? 0), m.b1[j] ?? 0)),
  );
  const logit = h.reduce((s, v, j) => s + v * (m.w2[j] ?? 0), m.b2);
  return { h, logit };
}

function standardise(m: Mlp, x: readonly number[]): number[] {
  const t = m.input;
  return x.map((v, i) => {
    const c = t.logOffset?.[i] ?? 0;
    const u = c > 0 ? Math.log(Math.max(0, v) + c) : v;
    return (u - (t.mean[i] ?? 0)) / (t.std[i] ?? 1);
  });
}

/** Calibrated logit of the MLP for a raw vector. */
export function mlpLogit(m: Mlp, x: readonly number[]): number {
  return m.platt.a * forward(m, standardise(m, x)).logit + m.platt.b;
}

export function fitMlp(
  train: readonly Sample[],
  probe: LogisticModel,
  learn: readonly boolean[],
  options: MlpOptions = MLP_OPTIONS,
): Mlp {
  const { mean, std, constant, z } = standardisation(train, probe);
  const use = learn.flatMap((l, i) => (l && !constant[i] ? [i] : []));
  const d = use.length;
  const H = options.hidden;
  const random = rng(options.seed);
  const limit1 = Math.sqrt(6 / (d + H));
  const limit2 = Math.sqrt(6 / (H + 1));
  const m: Mlp = {
    input: { ...probe, mean, std, weight: probe.features.map(() => 0), bias: 0 },
    use,
    w1: Array.from({ length: H }, () => Array.from({ length: d }, () => (2 * random() - 1) * limit1)),
    b1: new Array<number>(H).fill(0),
    w2: Array.from({ length: H }, () => (2 * random() - 1) * limit2),
    b2: 0,
    platt: { a: 1, b: 0 },
  };
  const sw = balance(train);
  const n = train.length;
  // Adam state, one flat vector over all parameters
  const size = H * d + H + H + 1;
  const mom = new Array<number>(size).fill(0);
  const vel = new Array<number>(size).fill(0);
  const [beta1, beta2, eps] = [0.9, 0.999, 1e-8];
  for (let it = 1; it <= options.iterations; it++) {
    const g = new Array<number>(size).fill(0);
    for (let k = 0; k < n; k++) {
      const row = z[k] ?? [];
      const { h, logit } = forward(m, row);
      const err = ((sigmoid(logit) - (train[k]?.y ?? 0)) * (sw[k] ?? 1)) / n;
      for (let j = 0; j < H; j++) {
        const dh = err * (m.w2[j] ?? 0) * (1 - (h[j] ?? 0) ** 2);
        for (let q = 0; q < d; q++) g[j * d + q] = (g[j * d + q] ?? 0) + dh * (row[use[q] ?? 0] ?? 0);
        g[H * d + j] = (g[H * d + j] ?? 0) + dh;
        g[H * d + H + j] = (g[H * d + H + j] ?? 0) + err * (h[j] ?? 0);
      }
      g[size - 1] = (g[size - 1] ?? 0) + err;
    }
    const params = (): number[] => [...m.w1.flat(), ...m.b1, ...m.w2, m.b2];
    const p = params();
    for (let i = 0; i < size; i++) {
      const isWeight = i < H * d || (i >= H * d + H && i < size - 1);
      const gi = (g[i] ?? 0) + (isWeight ? options.l2 * (p[i] ?? 0) : 0);
      mom[i] = beta1 * (mom[i] ?? 0) + (1 - beta1) * gi;
      vel[i] = beta2 * (vel[i] ?? 0) + (1 - beta2) * gi * gi;
      const mh = (mom[i] ?? 0) / (1 - beta1 ** it);
      const vh = (vel[i] ?? 0) / (1 - beta2 ** it);
      p[i] = (p[i] ?? 0) - (options.learningRate * mh) / (Math.sqrt(vh) + eps);
    }
    m.w1 = m.w1.map((_, j) => p.slice(j * d, (j + 1) * d));
    m.b1 = p.slice(H * d, H * d + H);
    m.w2 = p.slice(H * d + H, H * d + 2 * H);
    m.b2 = p[size - 1] ?? 0;
  }
  return m;
}
