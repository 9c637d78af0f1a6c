/**
 * One seeded pseudo-random generator for everything that must be reproducible (test fixtures,
 * the evaluation corpus, model training, benchmark media): mulberry32, a 32-bit generator with
 * full period 2^32 — plenty for fixtures, never for secrets (those use WebCrypto).
 */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
