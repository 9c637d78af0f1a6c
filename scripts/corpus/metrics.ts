/**
 * ISO/IEC 30107-3 presentation-attack-detection error rates with Wilson score intervals.
 * APCER (per PAI species): share of attack presentations classified bona fide.
 * BPCER: share of bona fide presentations classified as attacks. A window is classified as an
 * attack when its score ≥ threshold.
 */

export interface Rate {
  errors: number;
  total: number;
  rate: number;
  /** Wilson 95 % interval */
  low: number;
  high: number;
}

const Z95 = 1.959963984540054;

export function wilson(errors: number, total: number, z = Z95): Rate {
  if (total === 0) return { errors, total, rate: Number.NaN, low: Number.NaN, high: Number.NaN };
  const p = errors / total;
  const z2 = z * z;
  const denom = 1 + z2 / total;
  const centre = (p + z2 / (2 * total)) / denom;
  const half = (z * Math.sqrt((p * (1 - p)) / total + z2 / (4 * total * total))) / denom;
  return { errors, total, rate: p, low: Math.max(0, centre - half), high: Math.min(1, centre + half) };
}

/** APCER of attack scores at the threshold (attack missed = score < threshold). */
export function apcer(attackScores: readonly number[], threshold: number): Rate {
  return wilson(attackScores.filter((s) => s < threshold).length, attackScores.length);
}

/** BPCER of bona fide scores at the threshold (rejected = score ≥ threshold). */
export function bpcer(bonaFideScores: readonly number[], threshold: number): Rate {
  return wilson(bonaFideScores.filter((s) => s >= threshold).length, bonaFideScores.length);
}

/**
 * The lowest threshold whose BPCER on `bonaFide` stays ≤ `target`: with k = ⌊target·n⌋ allowed
 * rejections, just above the (k+1)-th highest bona fide score.
 */
export function thresholdAtBpcer(bonaFide: readonly number[], target: number): number {
  const sorted = [...bonaFide].sort((a, b) => b - a);
  const k = Math.floor(target * sorted.length + 1e-9);
  const pivot = sorted[k];
  if (pivot === undefined) return 0;
  return Math.min(1, pivot + 1e-9 + Math.abs(pivot) * 1e-12);
}

/** DET points (BPCER, APCER) over every distinct score used as a threshold. */
export function detPoints(bonaFide: readonly number[], attacks: readonly number[]): [number, number][] {
  const thresholds = [...new Set([...bonaFide, ...attacks, 0, 1.0000001])].sort((a, b) => a - b);
  return thresholds.map((t) => [bpcer(bonaFide, t).rate, apcer(attacks, t).rate]);
}

/** Smallest APCER at BPCER ≤ target over all thresholds (an optimistic, test-tuned figure). */
export function bestApcerAtBpcer(
  bonaFide: readonly number[],
  attacks: readonly number[],
  target: number,
): number {
  let best = 1;
  for (const [b, a] of detPoints(bonaFide, attacks)) if (b <= target + 1e-12 && a < best) best = a;
  return best;
}

/** Area under the ROC curve (probability an attack outscores a bona fide window; ties half). */
export function auc(bonaFide: readonly number[], attacks: readonly number[]): number {
  if (bonaFide.length === 0 || attacks.length === 0) return Number.NaN;
  let wins = 0;
  for (const a of attacks) for (const b of bonaFide) wins += a > b ? 1 : a === b ? 0.5 : 0;
  return wins / (attacks.length * bonaFide.length);
}
