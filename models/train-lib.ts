/**
 * One trainer for the five session-scenario analyzers (coercion, environment, behavior,
 * device_risk, conversation; issue 5 "six trained models"). Each models/<name>/train.ts calls
 * `trainAnalyzer` with its vector and hand-set model; this file fits and compares two families on
 * the scenario corpus (scripts/corpus/scenarios), seeded and deterministic:
 *
 * - a standardised logistic regression, full-batch gradient descent on the class-balanced log
 *   loss with L2 (strength picked on validation log loss);
 * - a one-hidden-layer MLP (tanh, Adam, L2; width picked on validation log loss).
 *
 * Standardisation centres and spreads are the training split's; the chosen model is
 * Platt-calibrated on the validation split (σ(a·f + b), Gaussian prior towards a = 1, b = 0, so
 * a separable validation split cannot drive a to infinity), so scores are probabilities for the
 * scenario base rates. The test split is only scored, never used to choose. The shipped family is
 * the logistic unless the MLP beats it on validation AUC by more than MLP_MARGIN: the analyzer
 * contract surfaces per-feature contributions that sum to the logit (lib/onnx/analyze.ts), which
 * an MLP cannot give, so it has to earn that loss of explanation (see card.md of each model).
 */
import { seededRandom } from "../scripts/lib/seeded-random.ts";
import type { LogisticModel } from "./build-lib.ts";

export interface Sample {
  x: readonly number[];
  y: 0 | 1;
}

export const TRAIN_SEED = 11;
export const L2_GRID = [0.001, 0.01, 0.1, 1];
export const HIDDEN_GRID = [4, 8];
export const MLP_MARGIN = 0.01;
const sigmoid = (z: number): number => 1 / (1 + Math.exp(-z));

export interface Standardiser {
  mean: number[];
  std: number[];
  /** features constant on the training split: std 1, weight 0 (no evidence there) */
  constant: boolean[];
  /** training-split range: every scorer clamps inputs into it (models/build-lib.ts header) */
  lower: number[];
  upper: number[];
}

export function standardiser(train: readonly Sample[], d: number): Standardiser {
  const n = train.length;
  const mean = new Array<number>(d).fill(0);
  const sq = new Array<number>(d).fill(0);
  for (const s of train) for (let i = 0; i < d; i++) mean[i] = (mean[i] ?? 0) + (s.x[i] ?? 0) / n;
  for (const s of train)
    for (let i = 0; i < d; i++) sq[i] = (sq[i] ?? 0) + ((s.x[i] ?? 0) - (mean[i] ?? 0)) ** 2 / n;
  const constant = sq.map((v) => Math.sqrt(v) < 1e-9);
  const lower = mean.map((_, i) => Math.min(...train.map((s) => s.x[i] ?? 0)));
  const upper = mean.map((_, i) => Math.max(...train.map((s) => s.x[i] ?? 0)));
  return { mean, std: sq.map((v, i) => (constant[i] ? 1 : Math.sqrt(v))), constant, lower, upper };
}

const zOf = (st: Standardiser, x: readonly number[]): number[] =>
  x.map(
    (v, i) =>
      (Math.min(st.upper[i] ?? v, Math.max(st.lower[i] ?? v, v)) - (st.mean[i] ?? 0)) / (st.std[i] ?? 1),
  );

/** Class-balanced sample weights (each class carries half the mass). */
function balance(train: readonly Sample[]): number[] {
  const pos = train.filter((s) => s.y === 1).length;
  const neg = train.length - pos;
  if (pos === 0 || neg === 0) throw new Error("training needs both classes");
  return train.map((s) => (s.y === 1 ? train.length / (2 * pos) : train.length / (2 * neg)));
}

/** A fitted scorer: logit of raw features (float64). */
export interface Scorer {
  logit(x: readonly number[]): number;
}

export function fitLogistic(train: readonly Sample[], st: Standardiser, l2: number, seed = TRAIN_SEED) {
  const d = st.mean.length;
  const z = train.map((s) => zOf(st, s.x));
  const sw = balance(train);
  const random = seededRandom(seed);
  const w = Array.from({ length: d }, (_, i) => (st.constant[i] ? 0 : 0.01 * (random() - 0.5)));
  let b = 0;
  const n = train.length;
  for (let it = 0; it < 3000; it++) {
    const g = new Array<number>(d).fill(0);
    let gb = 0;
    for (let k = 0; k < n; k++) {
      const row = z[k] ?? [];
      let f = b;
      for (let i = 0; i < d; i++) f += (row[i] ?? 0) * (w[i] ?? 0);
      const e = (sigmoid(f) - (train[k]?.y ?? 0)) * (sw[k] ?? 1);
      for (let i = 0; i < d; i++) g[i] = (g[i] ?? 0) + e * (row[i] ?? 0);
      gb += e;
    }
    for (let i = 0; i < d; i++)
      if (!st.constant[i]) w[i] = (w[i] ?? 0) - 0.3 * ((g[i] ?? 0) / n + l2 * (w[i] ?? 0));
    b -= (0.3 * gb) / n;
  }
  return { weight: w, bias: b };
}

export function logisticScorer(st: Standardiser, p: { weight: number[]; bias: number }): Scorer {
  return {
    logit: (x) => zOf(st, x).reduce((a, v, i) => a + v * (p.weight[i] ?? 0), p.bias),
  };
}

export interface Mlp {
  hidden: number;
  w1: number[][];
  b1: number[];
  w2: number[];
  b2: number;
}

/** One hidden tanh layer, full-batch Adam on the balanced log loss + L2 (weights only). */
export function fitMlp(
  train: readonly Sample[],
  st: Standardiser,
  hidden: number,
  l2: number,
  seed = TRAIN_SEED,
): Mlp {
  const d = st.mean.length;
  const random = seededRandom(seed + hidden);
  const gauss = (): number =>
    Math.sqrt(-2 * Math.log(Math.max(1e-12, random()))) * Math.cos(2 * Math.PI * random());
  const m: Mlp = {
    hidden,
    w1: Array.from({ length: hidden }, () => Array.from({ length: d }, () => gauss() / Math.sqrt(d))),
    b1: new Array<number>(hidden).fill(0),
    w2: Array.from({ length: hidden }, () => gauss() / Math.sqrt(hidden)),
    b2: 0,
  };
  const params = (): number[] => [...m.w1.flat(), ...m.b1, ...m.w2, m.b2];
  const size = params().length;
  const mom = new Array<number>(size).fill(0);
  const vel = new Array<number>(size).fill(0);
  const z = train.map((s) => zOf(st, s.x));
  const sw = balance(train);
  const n = train.length;
  for (let it = 1; it <= 1500; it++) {
    const gw1 = m.w1.map((r) => r.map(() => 0));
    const gb1 = new Array<number>(hidden).fill(0);
    const gw2 = new Array<number>(hidden).fill(0);
    let gb2 = 0;
    for (let k = 0; k < n; k++) {
      const row = z[k] ?? [];
      const h = m.w1.map((r, j) => Math.tanh(r.reduce((a, w, i) => a + w * (row[i] ?? 0), m.b1[j] ?? 0)));
      const f = h.reduce((a, v, j) => a + v * (m.w2[j] ?? 0), m.b2);
      const e = ((sigmoid(f) - (train[k]?.y ?? 0)) * (sw[k] ?? 1)) / n;
      gb2 += e;
      for (let j = 0; j < hidden; j++) {
        gw2[j] = (gw2[j] ?? 0) + e * (h[j] ?? 0);
        const eh = e * (m.w2[j] ?? 0) * (1 - (h[j] ?? 0) ** 2);
        gb1[j] = (gb1[j] ?? 0) + eh;
        const gr = gw1[j] ?? [];
        for (let i = 0; i < d; i++) gr[i] = (gr[i] ?? 0) + eh * (row[i] ?? 0);
      }
    }
    const grad = [
      ...gw1.flatMap((r, j) => r.map((g, i) => g + l2 * (m.w1[j]?.[i] ?? 0))),
      ...gb1,
      ...gw2.map((g, j) => g + l2 * (m.w2[j] ?? 0)),
      gb2,
    ];
    const p = params();
    for (let q = 0; q < size; q++) {
      mom[q] = 0.9 * (mom[q] ?? 0) + 0.1 * (grad[q] ?? 0);
      vel[q] = 0.999 * (vel[q] ?? 0) + 0.001 * (grad[q] ?? 0) ** 2;
      const mh = (mom[q] ?? 0) / (1 - 0.9 ** it);
      const vh = (vel[q] ?? 0) / (1 - 0.999 ** it);
      p[q] = (p[q] ?? 0) - (0.02 * mh) / (Math.sqrt(vh) + 1e-8);
    }
    let q = 0;
    for (const r of m.w1) for (let i = 0; i < d; i++) r[i] = p[q++] ?? 0;
    for (let j = 0; j < hidden; j++) m.b1[j] = p[q++] ?? 0;
    for (let j = 0; j < hidden; j++) m.w2[j] = p[q++] ?? 0;
    m.b2 = p[q] ?? 0;
  }
  return m;
}

export function mlpScorer(st: Standardiser, m: Mlp): Scorer {
  return {
    logit: (x) => {
      const row = zOf(st, x);
      return m.w1.reduce(
        (a, r, j) =>
          a + (m.w2[j] ?? 0) * Math.tanh(r.reduce((s, w, i) => s + w * (row[i] ?? 0), m.b1[j] ?? 0)),
        m.b2,
      );
    },
  };
}

/** Platt scaling by Newton's method with a Gaussian prior towards (1, 0); see the header. */
export function platt(
  logits: readonly number[],
  ys: readonly (0 | 1)[],
  prior = 1,
): { a: number; b: number } {
  const pos = ys.filter((y) => y === 1).length;
  const neg = ys.length - pos;
  if (pos === 0 || neg === 0) throw new Error("calibration needs both classes");
  const t = ys.map((y) => (y === 1 ? (pos + 1) / (pos + 2) : 1 / (neg + 2)));
  let a = 1;
  let b = 0;
  for (let it = 0; it < 200; it++) {
    let ga = prior * (a - 1);
    let gb = prior * b;
    let haa = prior;
    let hab = 0;
    let hbb = prior;
    logits.forEach((f, k) => {
      const p = sigmoid(a * f + b);
      const e = p - (t[k] ?? 0);
      const w = p * (1 - p);
      ga += e * f;
      gb += e;
      haa += w * f * f;
      hab += w * f;
      hbb += w;
    });
    const det = haa * hbb - hab * hab;
    const da = (hbb * ga - hab * gb) / det;
    const db = (haa * gb - hab * ga) / det;
    a -= da;
    b -= db;
    if (Math.abs(da) + Math.abs(db) < 1e-10) break;
  }
  return { a, b };
}

/** Class-balanced mean log loss of probabilities. */
export function balancedLogLoss(probs: readonly number[], ys: readonly (0 | 1)[]): number {
  const loss = [0, 0];
  const count = [0, 0];
  probs.forEach((p0, k) => {
    const y = ys[k] ?? 0;
    const p = Math.min(1 - 1e-12, Math.max(1e-12, p0));
    loss[y] = (loss[y] ?? 0) - Math.log(y === 1 ? p : 1 - p);
    count[y] = (count[y] ?? 0) + 1;
  });
  return ((loss[0] ?? 0) / Math.max(1, count[0] ?? 0) + (loss[1] ?? 0) / Math.max(1, count[1] ?? 0)) / 2;
}

/** ROC AUC: probability a risky sample outscores a genuine one (ties count half). */
export function rocAuc(scores: readonly number[], ys: readonly (0 | 1)[]): number {
  const pos = scores.filter((_, k) => ys[k] === 1);
  const neg = scores.filter((_, k) => ys[k] === 0);
  if (pos.length === 0 || neg.length === 0) return Number.NaN;
  let wins = 0;
  for (const p of pos) for (const q of neg) wins += p > q ? 1 : p === q ? 0.5 : 0;
  return wins / (pos.length * neg.length);
}

/** Brier score (mean squared error of the probability). */
export function brier(probs: readonly number[], ys: readonly (0 | 1)[]): number {
  return probs.reduce((a, p, k) => a + (p - (ys[k] ?? 0)) ** 2, 0) / Math.max(1, probs.length);
}

/** Folds standardisation and Platt (a, b) into the build-lib logistic model. */
export function toLogisticModel(
  analyzer: string,
  version: string,
  features: readonly string[],
  st: Standardiser,
  p: { weight: number[]; bias: number },
  cal: { a: number; b: number },
): LogisticModel {
  const round = (v: number): number => Number(v.toPrecision(9));
  return {
    analyzer,
    version,
    features: [...features],
    mean: st.mean.map(round),
    std: st.std.map(round),
    weight: p.weight.map((w) => round(w * cal.a)),
    bias: round(p.bias * cal.a + cal.b),
    // float32-exact bounds, so the clamp in ONNX and in float64 agree on the boundary
    lower: st.lower.map((v) => Math.fround(v)),
    upper: st.upper.map((v) => Math.fround(v)),
  };
}
