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

/**
 * Transforms the 8x8 luma block at (bx, by) of a width-wide plane and adds its energies to `out`.
 * `scratch` must hold 64 values; it is overwritten (it holds pixel-derived data: caller wipes it).
 */
export function addBlockEnergy(
  luma: Float32Array,
  width: number,
  bx: number,
  by: number,
  scratch: Float64Array,
  out: BlockEnergy,
): void {
  // rows: tmp[y*8+u] = Σx COS[u,x] p[y,x]
  for (let y = 0; y < N; y++) {
    const row = (by + y) * width + bx;
    for (let u = 0; u < N; u++) {
      let s = 0;
      for (let x = 0; x < N; x++) s += (COS[u * N + x] ?? 0) * (luma[row + x] ?? 0);
      scratch[y * N + u] = s;
    }
  }
  // columns: F[v,u] = Σy COS[v,y] tmp[y,u]
  for (let v = 0; v < N; v++) {
    for (let u = 0; u < N; u++) {
      let s = 0;
      for (let y = 0; y < N; y++) s += (COS[v * N + y] ?? 0) * (scratch[y * N + u] ?? 0);
      if (u === 0 && v === 0) continue;
      const e = s * s;
      out.ac += e;
      if (u + v >= HIGH_BAND_MIN_INDEX_SUM) out.high += e;
    }
  }
}
