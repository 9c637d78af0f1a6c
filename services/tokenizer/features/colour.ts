/**
 * Correlated colour temperature of a window from its mean linear RGB. Pixels are linearised with
 * the sRGB transfer function (IEC 61966-2-1), converted to CIE 1931 XYZ with the sRGB/D65 matrix,
 * projected to chromaticity xy, and mapped to kelvin by McCamy's cubic (C. S. McCamy, "Correlated
 * color temperature as an explicit function of chromaticity coordinates", Color Res. Appl. 17(2),
 * 1992). McCamy is accurate near the Planckian locus (about 2,800–6,500 K); outside it the value is
 * still monotone enough to tell cold screens from warm lamps, and is clamped to the schema range.
 */

/** sRGB 8-bit code value → linear light 0..1 (IEC 61966-2-1 §5.2). */
export const SRGB_TO_LINEAR: Float32Array = (() => {
  const lut = new Float32Array(256);
  for (let v = 0; v < 256; v++) {
    const c = v / 255;
    lut[v] = c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  }
  return lut;
})();

export const CCT_MIN_K = 1000;
export const CCT_MAX_K = 20000;
/** reported when the window is black: no chromaticity to speak of (D65, the sRGB white) */
export const CCT_NEUTRAL_K = 6504;

/** McCamy CCT from summed linear R, G, B (any common scale). */
export function mccamyCct(r: number, g: number, b: number): number {
  // sRGB primaries, D65 white (IEC 61966-2-1 §5.2, matrix rounded to 4 places).
  const X = 0.4124 * r + 0.3576 * g + 0.1805 * b;
  const Y = 0.2126 * r + 0.7152 * g + 0.0722 * b;
  const Z = 0.0193 * r + 0.1192 * g + 0.9505 * b;
  const sum = X + Y + Z;
  if (!(sum > 1e-9)) return CCT_NEUTRAL_K;
  const x = X / sum;
  const y = Y / sum;
  const denominator = 0.1858 - y;
  // The cubic's epicentre is (0.3320, 0.1858); chromaticities that close to y = 0.1858 are far off
  // the locus (deep purples), so the extreme of the range is the honest answer.
  if (Math.abs(denominator) < 1e-6) return CCT_MAX_K;
  const n = (x - 0.332) / denominator;
  const cct = 449 * n ** 3 + 3525 * n ** 2 + 6823.3 * n + 5520.33;
  if (!Number.isFinite(cct)) return CCT_NEUTRAL_K;
  return Math.min(CCT_MAX_K, Math.max(CCT_MIN_K, cct));
}
