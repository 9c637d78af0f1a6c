/**
 * The keyed, one-way, renewable face template (product-spec §1 "fingerprint", §7; seed: "one-way
 * biometric fingerprint stored for future recognition"): BioHashing — Teoh, Ngo & Goh,
 * "BioHashing: two factor authentication featuring fingerprint data and tokenised random
 * numbers", Pattern Recognition 37(11), 2004; Jin, Ling & Goh, "Biohashing: two factor
 * authentication featuring fingerprint data and tokenised random numbers", and the face variant
 * in Teoh, Ngo & Goh, "Personalised cryptographic key generation based on FaceHashing",
 * Computers & Security 23(7), 2004.
 *
 * Construction. A face embedding x ∈ ℝⁿ (Human's `faceres` descriptor, n = 1024, L2-normalised
 * and averaged over a window's usable frames — fingerprint/embedding.ts) is projected onto m = 256
 * orthonormal random directions r₁…r_m ∈ ℝⁿ and binarised by sign: bᵢ = [⟨rᵢ, x⟩ > 0] (Teoh's
 * threshold τ = 0). The directions are Gaussian vectors orthonormalised by modified Gram–Schmidt
 * (Golub & Van Loan, Matrix Computations, 4th ed., §5.2.8); orthonormality makes the bits of one
 * template independent for an isotropic input. For random Gaussian directions the expected
 * normalised Hamming distance of two templates equals θ/π, θ the angle between the embeddings
 * (Goemans & Williamson, J. ACM 42(6), 1995, Lemma 3.2; Charikar, STOC 2002 "SimHash"), so the
 * distance is monotone in embedding angle — which the tests check.
 *
 * Keying. The directions come from a per-(tenant, key version) seed
 *   seed = HMAC-SHA256(K_tok[tenant, v], "facet/biohash/v1/seed")
 * computed inside the HSM (keys/keystore.ts `tokenizationHmac`; K_tok never leaves it), expanded
 * deterministically by the ChaCha20 keystream (RFC 8439 §2.4; key = seed, nonce fixed by this
 * construction's label, counter from 0) read through node:crypto's OpenSSL. ChaCha20 is a
 * standard PRG — the same expansion Linux's CRNG and OpenBSD's arc4random use — so the matrix is
 * computationally indistinguishable from random to whoever lacks the seed, and the 1 MiB of
 * uniform bits the 256 × 1024 Gaussians need (Box–Muller, two 32-bit uniforms per pair) costs
 * about a millisecond; no cryptographic primitive is written here. Rotating the tenant key (new
 * version v) gives a new seed and an unrelated matrix: templates of the same face under the two
 * versions sit at ≈ 0.5 distance (unlinkable, ISO/IEC 24745:2022 §5 "renewability and
 * unlinkability"), as do two tenants' templates of one face.
 *
 * Memory. The seed and the matrix are cached per (tenant, version) in this process only, in a
 * bounded LRU (default 16 entries, 1 MiB each as Float32), and zeroized on eviction and on
 * `dispose`. The embedding passed to `hash` is zeroized (`fill(0)`) before `hash` returns, also on
 * error; only the packed bits leave.
 *
 * Known weakness — the "stolen-token scenario" (Kong, Cheung, Zhang, Kamel & You, "An analysis
 * of BioHashing and its variants", Pattern Recognition 39(7), 2006; Lumini & Nanni, "An improved
 * BioHashing for human authentication", Pattern Recognition 40(3), 2007): the near-perfect
 * equal-error rates reported for BioHashing come from the *key* separating people, not the face.
 * An attacker who holds the tenant key version's seed (or the HSM's HMAC as an oracle) and a
 * stored template knows the projection: the template then degrades to a 256-bit sign-random-
 * projection of the embedding, whose discrimination is only that of the embedding itself under
 * SimHash (so impostor distances fall from ≈ 0.5 to ≈ θ/π of two people's embeddings), and bits
 * constrain x to a cone that hill-climbing or a model inversion can search for a
 * preimage-face that matches (Nagar, Nandakumar & Jain, "Biometric template transformation: a
 * security analysis", SPIE 7541, 2010). Keeping the seed inside the HSM, encrypting templates at
 * rest under per-subject keys (product-spec §7) and renewing by key version are the mitigations;
 * the stolen-key distances are to be measured by the evaluation harness, not assumed.
 */
import { createCipheriv } from "node:crypto";
import { normalisedHamming } from "../../../lib/recognition/hamming.ts";

/** The HSM operations the fingerprint needs; `services/tokenizer/keys/keystore.ts` implements them. */
export interface TokenizationKeys {
  tokenizationHmac(tenantId: string, version: number, message: Uint8Array): Promise<Uint8Array>;
  currentTokenizationVersion(tenantId: string): Promise<number>;
}

export const BIOHASH_BITS = 256;
export const SEED_LABEL = "facet/biohash/v1/seed";
/** RFC 8439 96-bit nonce: fixed per construction (the key, i.e. the seed, is what varies). */
const MATRIX_NONCE = new TextEncoder().encode("fct/bh/v1/mx"); // 12 bytes
const DEFAULT_CACHE_ENTRIES = 16;

/** `bytes` of ChaCha20 keystream (RFC 8439) for a 32-byte key, block counter starting at 0. */
export function chacha20Stream(key: Uint8Array, bytes: number, nonce: Uint8Array = MATRIX_NONCE): Uint8Array {
  if (key.byteLength !== 32 || nonce.byteLength !== 12)
    throw new Error("ChaCha20 needs a 32-byte key, 12-byte nonce");
  // OpenSSL's chacha20 IV is the 32-bit little-endian block counter followed by the 96-bit nonce.
  const iv = new Uint8Array(16);
  iv.set(nonce, 4);
  const cipher = createCipheriv("chacha20", key, iv);
  const zeros = new Uint8Array(bytes);
  const out = new Uint8Array(cipher.update(zeros));
  cipher.final();
  return out;
}

/**
 * The m × n projection (row-major Float32Array, rows orthonormal) for a seed: Gaussian entries
 * by Box–Muller from the ChaCha20 stream, rows orthonormalised by modified Gram–Schmidt in double
 * precision. Requires m ≤ n.
 */
export function projectionFromSeed(seed: Uint8Array, m: number, n: number): Float32Array {
  if (m > n) throw new Error("BioHashing needs m ≤ n for orthonormal rows");
  const stream = chacha20Stream(seed, m * n * 4 + 8);
  const words = new Uint32Array(stream.buffer, stream.byteOffset, Math.floor(stream.byteLength / 4));
  const rows = new Float64Array(m * n);
  const uniform = (i: number): number => ((words[i] ?? 0) + 0.5) / 4294967296; // (0, 1), never 0
  for (let k = 0; k < m * n; k += 2) {
    const r = Math.sqrt(-2 * Math.log(uniform(k)));
    const phi = 2 * Math.PI * uniform(k + 1);
    rows[k] = r * Math.cos(phi);
    if (k + 1 < m * n) rows[k + 1] = r * Math.sin(phi);
  }
  stream.fill(0);
  for (let i = 0; i < m; i++) {
    const ri = i * n;
    for (let j = 0; j < i; j++) {
      const rj = j * n;
      let dot = 0;
      for (let k = 0; k < n; k++) dot += (rows[ri + k] ?? 0) * (rows[rj + k] ?? 0);
      for (let k = 0; k < n; k++) rows[ri + k] = (rows[ri + k] ?? 0) - dot * (rows[rj + k] ?? 0);
    }
    let norm = 0;
    for (let k = 0; k < n; k++) norm += (rows[ri + k] ?? 0) ** 2;
    norm = Math.sqrt(norm);
    if (!(norm > 1e-9)) throw new Error("degenerate projection row");
    for (let k = 0; k < n; k++) rows[ri + k] = (rows[ri + k] ?? 0) / norm;
  }
  const out = Float32Array.from(rows);
  rows.fill(0);
  return out;
}

/** Sign-binarised projection, packed MSB-first: bit i = [⟨row i, x⟩ > 0]. */
export function biohashBits(matrix: Float32Array, embedding: Float32Array, m = BIOHASH_BITS): Uint8Array {
  const n = embedding.length;
  if (matrix.length !== m * n) throw new Error("projection does not match the embedding size");
  const packed = new Uint8Array(Math.ceil(m / 8));
  for (let i = 0; i < m; i++) {
    let dot = 0;
    const row = i * n;
    for (let k = 0; k < n; k++) dot += (matrix[row + k] ?? 0) * (embedding[k] ?? 0);
    if (dot > 0) packed[i >> 3] = (packed[i >> 3] ?? 0) | (0x80 >> (i & 7));
  }
  return packed;
}

/** Normalised Hamming distance of two packed templates (equal length), 0 … 1. */
export function hammingDistance(a: Uint8Array | string, b: Uint8Array | string): number {
  const x = typeof a === "string" ? new Uint8Array(Buffer.from(a, "base64")) : a;
  const y = typeof b === "string" ? new Uint8Array(Buffer.from(b, "base64")) : b;
  return normalisedHamming(x, y);
}

interface Projection {
  seed: Uint8Array;
  matrix: Float32Array;
  /** false once zeroized: a wiped matrix would hash every face to the same bits */
  live: boolean;
}

export interface BioHashTemplate {
  keyVersion: number;
  /** base64 of the packed bits */
  bits: string;
}

/**
 * Hashes embeddings under a tenant's current tokenization key version. One instance per process;
 * safe under concurrent calls (a projection being built is shared, not built twice).
 */
export class BioHasher {
  readonly #keys: TokenizationKeys;
  readonly #capacity: number;
  readonly #bits: number;
  /** insertion order = recency order (Map iteration order); the first key is the LRU victim */
  readonly #cache = new Map<string, Promise<Projection>>();

  constructor(keys: TokenizationKeys, options: { cacheEntries?: number; bits?: number } = {}) {
    this.#keys = keys;
    this.#capacity = Math.max(1, options.cacheEntries ?? DEFAULT_CACHE_ENTRIES);
    this.#bits = options.bits ?? BIOHASH_BITS;
  }

  /** Entries currently cached (for tests and metrics; never their content). */
  get cachedProjections(): number {
    return this.#cache.size;
  }

  /**
   * The template of `embedding` (any scale; only its direction matters) under the tenant's current
   * key version. Zeroizes `embedding` before returning, also on error.
   */
  async hash(tenantId: string, embedding: Float32Array): Promise<BioHashTemplate> {
    try {
      const keyVersion = await this.#keys.currentTokenizationVersion(tenantId);
      const bits = await this.hashWithVersion(tenantId, keyVersion, embedding);
      return { keyVersion, bits };
    } finally {
      embedding.fill(0);
    }
  }

  /** As `hash`, under an explicit key version (re-enrolment, tests). Zeroizes `embedding`. */
  async hashWithVersion(tenantId: string, version: number, embedding: Float32Array): Promise<string> {
    try {
      if (!Number.isInteger(version) || version < 1) throw new Error("key version must be an integer ≥ 1");
      // The projection is used synchronously right after the await; an eviction's wipe is chained
      // on the same promise later, so it cannot run in between — `live` guards the invariant.
      const { matrix, live } = await this.#projection(tenantId, version, embedding.length);
      if (!live) throw new Error("projection was evicted while in use");
      const packed = biohashBits(matrix, embedding, this.#bits);
      const text = Buffer.from(packed).toString("base64");
      packed.fill(0);
      return text;
    } finally {
      embedding.fill(0);
    }
  }

  /** Zeroizes and drops every cached seed and matrix. */
  async dispose(): Promise<void> {
    const entries = [...this.#cache.values()];
    this.#cache.clear();
    for (const entry of entries) wipe(await entry.catch(() => null));
  }

  #projection(tenantId: string, version: number, n: number): Promise<Projection> {
    const key = JSON.stringify([tenantId, version, n]);
    const hit = this.#cache.get(key);
    if (hit) {
      this.#cache.delete(key);
      this.#cache.set(key, hit);
      return hit;
    }
    const built = (async (): Promise<Projection> => {
      const seed = await this.#keys.tokenizationHmac(tenantId, version, new TextEncoder().encode(SEED_LABEL));
      if (seed.byteLength !== 32) throw new Error("tokenization HMAC must be HMAC-SHA256 (32 bytes)");
      return { seed, matrix: projectionFromSeed(seed, this.#bits, n), live: true };
    })();
    this.#cache.set(key, built);
    // A failed build (HSM unavailable) must not stay cached.
    built.catch(() => {
      if (this.#cache.get(key) === built) this.#cache.delete(key);
    });
    while (this.#cache.size > this.#capacity) {
      const [victimKey, victim] = this.#cache.entries().next().value ?? [];
      if (victimKey === undefined || !victim) break;
      this.#cache.delete(victimKey);
      void victim.then(wipe, () => {});
    }
    return built;
  }
}

function wipe(projection: Projection | null): void {
  if (!projection) return;
  projection.live = false;
  projection.seed.fill(0);
  projection.matrix.fill(0);
}
