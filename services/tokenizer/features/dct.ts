/**
 * 8x8 two-dimensional DCT-II (the JPEG transform, ITU-T T.81 §A.3.3), used to measure how much of
 * an image's detail sits in the highest spatial frequencies. Screens photographed by a camera
 * alias their pixel grid into fine periodic patterns (moiré) that land in exactly those bins.
 * Orthonormal scaling, so energies are comparable across blocks (Parseval).
 */

const N = 8;
/** COS[u*8+x] = c(u) cos((2x+1)uπ/16) */
const COS: Float64Array = (() => {
  const table = new Float64Array(N * N);
  for (let u = 0; u < N; u++) {
    const cu = u === 0 ? Math.sqrt(1 / N) : Math.sqrt(2 / N);
    for (let x = 0; x < N; x++) table[u * N + x] = cu * Math.cos(((2 * x + 1) * u * Math.PI) / (2 * N));
  }
  return table;
})();

/** Coefficients with u+v at or above this form the "highest band" (10 of the 63 AC terms). */
export const HIGH_BAND_MIN_INDEX_SUM = 11;

export interface BlockEnergy {
  /** sum of squared AC coefficients */
  ac: number;
  /** sum of squared coefficients with u+v ≥ HIGH_BAND_MIN_INDEX_SUM */
  high: number;
}

/** Lowest u (and v) of the highest band: u + v ≥ 11 with u, v ≤ 7 needs both ≥ 4. */
const HIGH_BAND_MIN_INDEX = HIGH_BAND_MIN_INDEX_SUM - (N - 1);

/**
 * Adds the energies of the 8x8 luma block at (bx, by) of a width-wide plane to `out`.
 * `scratch` must hold 64 values; it is overwritten (it holds pixel-derived data: caller wipes it).
 *
 * Only the highest band is transformed. The AC energy comes from Parseval's theorem: the
 * transform is orthonormal, so Σ F(u,v)² = Σ p(x,y)², and F(0,0) = Σ p / 8, hence
 * AC = Σ p² − (Σ p)² / 64. That needs the row pass for u ≥ 4 only and 10 column sums, about a
 * third of the arithmetic of the full transform (bench/README.md "Optimisations"); the result
 * equals the full transform's up to floating-point rounding.
 */
export function addBlockEnergy(
  luma: Float32Array,
  width: number,
  bx: number,
  by: number,
  scratch: Float64Array,
  out: BlockEnergy,
): void {
  let sum = 0;
  let squares = 0;
  // rows: tmp[y*8+u] = Σx COS[u,x] p[y,x], for the high-band u only
  for (let y = 0; y < N; y++) {
    const row = (by + y) * width + bx;
    for (let x = 0; x < N; x++) {
      const p = luma[row + x] ?? 0;
      sum += p;
      squares += p * p;
    }
    for (let u = HIGH_BAND_MIN_INDEX; u < N; u++) {
      let s = 0;
      for (let x = 0; x < N; x++) s += (COS[u * N + x] ?? 0) * (luma[row + x] ?? 0);
      scratch[y * N + u] = s;
    }
  }
  // columns: F[v,u] = Σy COS[v,y] tmp[y,u], for u + v in the high band
  let high = 0;
  for (let v = HIGH_BAND_MIN_INDEX; v < N; v++) {
    for (let u = HIGH_BAND_MIN_INDEX_SUM - v; u < N; u++) {
      let s = 0;
      for (let y = 0; y < N; y++) s += (COS[v * N + y] ?? 0) * (scratch[y * N + u] ?? 0);
      high += s * s;
    }
  }
  out.ac += Math.max(0, squares - (sum * sum) / (N * N));
  out.high += high;
}
