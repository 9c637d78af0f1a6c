/**
 * Normalised Hamming distance of two packed bit templates: the one measure both sides of
 * recognition use — the tokenizer when it measures its BioHash templates
 * (services/tokenizer/fingerprint/biohash.ts) and the edge when it matches 1:N
 * (lib/recognition/match.ts) — so the threshold documented in docs/data-protection.md means the same
 * number in both places. Callers decide what unequal lengths mean (an error, or "no match").
 */

/** Share of differing bits (0 … 1) of two templates of equal, non-zero length. */
export function normalisedHamming(x: Uint8Array, y: Uint8Array): number {
  if (x.length !== y.length || x.length === 0) throw new RangeError("templates differ in length");
  let differing = 0;
  for (let i = 0; i < x.length; i++) {
    // Kernighan's popcount: one iteration per set bit of the XOR
    let v = (x[i] ?? 0) ^ (y[i] ?? 0);
    while (v) {
      v &= v - 1;
      differing++;
    }
  }
  return differing / (x.length * 8);
}
