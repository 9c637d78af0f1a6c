/**
 * A small in-place radix-2 decimation-in-time FFT (Cooley & Tukey, Math. Comp. 19, 1965) for
 * the 512-point audio frames (32 ms at 16 kHz). Pure TS so the tokenizer needs no native or wasm
 * DSP dependency; twiddles and the bit-reversal table are computed once per size.
 */

export interface Fft {
  readonly size: number;
  /** transforms (re, im) in place; both arrays must have `size` elements */
  transform(re: Float64Array, im: Float64Array): void;
}

export function createFft(size: number): Fft {
  if (size < 2 || (size & (size - 1)) !== 0) throw new RangeError("FFT size must be a power of two");
  const bits = Math.log2(size);
  const reverse = new Uint32Array(size);
  for (let i = 0; i < size; i++) {
    let r = 0;
    for (let b = 0; b < bits; b++) r |= ((i >> b) & 1) << (bits - 1 - b);
    reverse[i] = r;
  }
  const cos = new Float64Array(size / 2);
  const sin = new Float64Array(size / 2);
  for (let k = 0; k < size / 2; k++) {
    cos[k] = Math.cos((2 * Math.PI * k) / size);
    sin[k] = -Math.sin((2 * Math.PI * k) / size);
  }
  return {
    size,
    transform(re, im) {
      for (let i = 0; i < size; i++) {
        const j = reverse[i] ?? 0;
        if (j > i) {
          const tr = re[i] ?? 0;
          re[i] = re[j] ?? 0;
          re[j] = tr;
          const ti = im[i] ?? 0;
          im[i] = im[j] ?? 0;
          im[j] = ti;
        }
      }
      for (let half = 1; half < size; half *= 2) {
        const step = size / (2 * half);
        for (let start = 0; start < size; start += 2 * half) {
          for (let k = 0; k < half; k++) {
            const wr = cos[k * step] ?? 1;
            const wi = sin[k * step] ?? 0;
            const a = start + k;
            const b = a + half;
            const br = re[b] ?? 0;
            const bi = im[b] ?? 0;
            const xr = wr * br - wi * bi;
            const xi = wr * bi + wi * br;
            const ar = re[a] ?? 0;
            const ai = im[a] ?? 0;
            re[b] = ar - xr;
            im[b] = ai - xi;
            re[a] = ar + xr;
            im[a] = ai + xi;
          }
        }
      }
    },
  };
}
