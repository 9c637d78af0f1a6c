/**
 * Fundamental frequency of one voiced frame by normalised autocorrelation (the time-domain method
 * behind Boersma, "Accurate short-term analysis of the fundamental frequency…", IFA Proc. 17,
 * 1993, without its windowing refinements), searched over 60–400 Hz — the range of adult and
 * most child speaking voices. The first peak within 90 % of the best one wins, which avoids the
 * classic sub-octave error; parabolic interpolation gives sub-sample lag precision. Also returns
 * per-cycle peak amplitudes for shimmer (Praat's "local shimmer" definition).
 */

export const F0_MIN_HZ = 60;
export const F0_MAX_HZ = 400;
/** normalised autocorrelation a frame must reach to count as voiced */
export const VOICING_THRESHOLD = 0.5;

export interface PitchEstimate {
  f0Hz: number;
  /** peak |amplitude| of each whole period in the frame, in order */
  cycleAmplitudes: number[];
}

/** `frame` is mean-removed by the caller; returns null for unvoiced or aperiodic frames. */
export function estimatePitch(frame: Float64Array, sampleRate: number): PitchEstimate | null {
  const n = frame.length;
  const minLag = Math.floor(sampleRate / F0_MAX_HZ);
  const maxLag = Math.min(Math.ceil(sampleRate / F0_MIN_HZ), n - 32);
  if (maxLag <= minLag + 2) return null;
  const r = new Float64Array(maxLag + 2);
  for (let lag = minLag - 1; lag <= maxLag + 1; lag++) {
    let cross = 0;
    let e0 = 0;
    let e1 = 0;
    for (let i = 0; i + lag < n; i++) {
      const a = frame[i] ?? 0;
      const b = frame[i + lag] ?? 0;
      cross += a * b;
      e0 += a * a;
      e1 += b * b;
    }
    r[lag] = e0 > 0 && e1 > 0 ? cross / Math.sqrt(e0 * e1) : 0;
  }
  let best = 0;
  for (let lag = minLag; lag <= maxLag; lag++) best = Math.max(best, r[lag] ?? 0);
  if (best < VOICING_THRESHOLD) return null;
  for (let lag = minLag; lag <= maxLag; lag++) {
    const here = r[lag] ?? 0;
    const before = r[lag - 1] ?? 0;
    const after = r[lag + 1] ?? 0;
    if (here < 0.9 * best || here < before || here < after) continue;
    const curvature = before - 2 * here + after;
    const shift = curvature < 0 ? (0.5 * (before - after)) / curvature : 0;
    const period = lag + Math.max(-0.5, Math.min(0.5, shift));
    const cycleAmplitudes: number[] = [];
    for (let start = 0; start + period <= n; start += period) {
      let peak = 0;
      const end = Math.min(n, Math.round(start + period));
      for (let i = Math.round(start); i < end; i++) peak = Math.max(peak, Math.abs(frame[i] ?? 0));
      cycleAmplitudes.push(peak);
    }
    return { f0Hz: sampleRate / period, cycleAmplitudes };
  }
  return null;
}
