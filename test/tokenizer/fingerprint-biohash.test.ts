/**
 * BioHashing (services/tokenizer/fingerprint/biohash.ts) as pure functions, with an in-test
 * double of the HSM's tokenization keys (node:crypto HMAC-SHA256): the projection is
 * deterministic per seed and orthonormal; templates under different seeds are unlinkable
 * (≈ 0.5 normalised Hamming distance); under one seed the distance grows with the angle between
 * embeddings (≈ θ/π, Goemans & Williamson 1995); embeddings are zeroized; the per-(tenant,
 * version) cache is bounded and wipes what it evicts.
 */
import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  BIOHASH_BITS,
  BioHasher,
  biohashBits,
  chacha20Stream,
  hammingDistance,
  projectionFromSeed,
  SEED_LABEL,
  type TokenizationKeys,
} from "../../services/tokenizer/fingerprint/biohash.ts";
import { EmbeddingAccumulator } from "../../services/tokenizer/fingerprint/embedding.ts";
import { rng } from "./support.ts";

const N = 1024;

/** HSM double: one HMAC key per (tenant, version) from a root, current versions settable. */
class KeysDouble implements TokenizationKeys {
  readonly current = new Map<string, number>();
  calls = 0;
  async tokenizationHmac(tenantId: string, version: number, message: Uint8Array): Promise<Uint8Array> {
    this.calls++;
    const key = createHmac("sha256", "root").update(`${tenantId}/v${version}`).digest();
    return new Uint8Array(createHmac("sha256", key).update(message).digest());
  }
  async currentTokenizationVersion(tenantId: string): Promise<number> {
    return this.current.get(tenantId) ?? 1;
  }
}

function gaussian(random: () => number, n = N): Float32Array {
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    v[i] = Math.sqrt(-2 * Math.log(random() + 1e-12)) * Math.cos(2 * Math.PI * random());
  }
  return v;
}

/** A unit vector at angle θ from unit `a` (Gram–Schmidt against a random direction). */
function atAngle(a: Float32Array, theta: number, random: () => number): Float32Array {
  const r = gaussian(random, a.length);
  const norm = (v: Float32Array): number => Math.sqrt(v.reduce((s, x) => s + x * x, 0));
  const an = norm(a);
  const dot = r.reduce((s, x, i) => s + x * (a[i] ?? 0), 0) / an;
  const u = r.map((x, i) => x - (dot * (a[i] ?? 0)) / an);
  const un = norm(u);
  return a.map((x, i) => (Math.cos(theta) * x) / an + (Math.sin(theta) * (u[i] ?? 0)) / un);
}

const seedOf = (label: string): Uint8Array =>
  new Uint8Array(createHmac("sha256", label).update(SEED_LABEL).digest());

describe("BioHash projection", () => {
  it("is deterministic per seed, orthonormal, and different per seed", () => {
    const a = projectionFromSeed(seedOf("a"), 16, 64);
    expect(projectionFromSeed(seedOf("a"), 16, 64)).toEqual(a);
    expect(projectionFromSeed(seedOf("b"), 16, 64)).not.toEqual(a);
    for (let i = 0; i < 16; i++) {
      for (let j = 0; j <= i; j++) {
        let dot = 0;
        for (let k = 0; k < 64; k++) dot += (a[i * 64 + k] ?? 0) * (a[j * 64 + k] ?? 0);
        expect(dot).toBeCloseTo(i === j ? 1 : 0, 5);
      }
    }
  });

  it("expands the seed with the RFC 8439 ChaCha20 keystream", () => {
    // RFC 8439 Appendix A.1, test vector #1: all-zero key and nonce, block counter 0
    const block = chacha20Stream(new Uint8Array(32), 64, new Uint8Array(12));
    expect(Buffer.from(block.subarray(0, 16)).toString("hex")).toBe("76b8e0ada0f13d90405d6ae55386bd28");
    expect(() => chacha20Stream(new Uint8Array(16), 64)).toThrow();
    const t0 = performance.now();
    projectionFromSeed(seedOf("timing"), BIOHASH_BITS, N);
    // built once per (tenant, key version) and cached; report the cost
    console.log(`256×1024 projection built in ${(performance.now() - t0).toFixed(0)} ms`);
  });

  it("makes 256-bit templates; one seed: distance grows with the embedding angle ≈ θ/π", () => {
    const matrix = projectionFromSeed(seedOf("tenant"), BIOHASH_BITS, N);
    const random = rng(7);
    const distances: number[] = [];
    for (const degrees of [0, 10, 20, 40, 60, 90, 120, 180]) {
      let sum = 0;
      for (let trial = 0; trial < 8; trial++) {
        const a = gaussian(random);
        const b = atAngle(a, (degrees * Math.PI) / 180, random);
        sum += hammingDistance(biohashBits(matrix, a), biohashBits(matrix, b));
      }
      const mean = sum / 8;
      expect(mean).toBeGreaterThan(degrees / 180 - 0.06);
      expect(mean).toBeLessThan(degrees / 180 + 0.06);
      distances.push(mean);
    }
    expect(biohashBits(matrix, gaussian(random))).toHaveLength(32);
    for (let i = 1; i < distances.length; i++) expect(distances[i]).toBeGreaterThan(distances[i - 1] ?? 0);
  });

  it("one embedding under two seeds gives unlinkable templates (≈ 0.5)", () => {
    const m1 = projectionFromSeed(seedOf("v1"), BIOHASH_BITS, N);
    const m2 = projectionFromSeed(seedOf("v2"), BIOHASH_BITS, N);
    const random = rng(11);
    const d: number[] = [];
    for (let trial = 0; trial < 20; trial++) {
      const x = gaussian(random);
      d.push(hammingDistance(biohashBits(m1, x), biohashBits(m2, x)));
    }
    const mean = d.reduce((a, b) => a + b, 0) / d.length;
    // 256 fair bits: σ = √(0.25/256) ≈ 0.031 per template, ≈ 0.007 for the mean of 20
    expect(mean).toBeGreaterThan(0.47);
    expect(mean).toBeLessThan(0.53);
    for (const v of d) expect(Math.abs(v - 0.5)).toBeLessThan(0.15);
  });
});

describe("BioHasher", () => {
  it("uses the tenant's current version, zeroizes the embedding, and rotates to unrelated bits", async () => {
    const keys = new KeysDouble();
    const hasher = new BioHasher(keys);
    const random = rng(3);
    const x = gaussian(random);
    const first = await hasher.hash("tenant-a", x.slice());
    expect(first.keyVersion).toBe(1);
    expect(Buffer.from(first.bits, "base64")).toHaveLength(32);
    const copy = x.slice();
    const again = await hasher.hash("tenant-a", copy);
    expect(copy.every((v) => v === 0)).toBe(true);
    expect(again).toEqual(first);
    expect(keys.calls).toBe(1); // seed and matrix cached per (tenant, version)

    keys.current.set("tenant-a", 2);
    const rotated = await hasher.hash("tenant-a", x.slice());
    expect(rotated.keyVersion).toBe(2);
    expect(Math.abs(hammingDistance(rotated.bits, first.bits) - 0.5)).toBeLessThan(0.15);
    const otherTenant = await hasher.hash("tenant-b", x.slice());
    expect(Math.abs(hammingDistance(otherTenant.bits, first.bits) - 0.5)).toBeLessThan(0.15);
    // the old version still hashes the same (matching against enrolled templates until destroyed)
    expect(await hasher.hashWithVersion("tenant-a", 1, x.slice())).toBe(first.bits);
    await hasher.dispose();
  });

  it("keeps a bounded LRU of projections and zeroizes evicted ones", async () => {
    const keys = new KeysDouble();
    const seeds: Uint8Array[] = [];
    const spying: TokenizationKeys = {
      currentTokenizationVersion: (t) => keys.currentTokenizationVersion(t),
      tokenizationHmac: async (t, v, m) => {
        const s = await keys.tokenizationHmac(t, v, m);
        seeds.push(s);
        return s;
      },
    };
    const hasher = new BioHasher(spying, { cacheEntries: 2 });
    const x = gaussian(rng(5));
    await hasher.hash("t1", x.slice());
    await hasher.hash("t2", x.slice());
    await hasher.hash("t1", x.slice()); // t1 most recent: t2 is the LRU victim
    await hasher.hash("t3", x.slice());
    expect(hasher.cachedProjections).toBe(2);
    await new Promise((r) => setTimeout(r, 0));
    expect(seeds).toHaveLength(3);
    expect(seeds[1]?.every((b) => b === 0)).toBe(true); // t2's seed wiped on eviction
    expect(seeds[0]?.some((b) => b !== 0)).toBe(true);
    await hasher.dispose();
    expect(seeds.every((s) => s.every((b) => b === 0))).toBe(true);
  });

  it("zeroizes the embedding and caches nothing when the HSM fails", async () => {
    const failing: TokenizationKeys = {
      currentTokenizationVersion: async () => 1,
      tokenizationHmac: async () => {
        throw new Error("HSM unavailable");
      },
    };
    const hasher = new BioHasher(failing);
    const x = gaussian(rng(9));
    await expect(hasher.hash("t", x)).rejects.toThrow("HSM unavailable");
    expect(x.every((v) => v === 0)).toBe(true);
    expect(hasher.cachedProjections).toBe(0);
  });
});

describe("EmbeddingAccumulator", () => {
  const frame = (embedding: number[] | null, over: Partial<{ faceCount: number; yawRad: number }> = {}) => ({
    faceCount: 1,
    faceWidthPx: 100,
    yawRad: 0,
    pitchRad: 0,
    embedding,
    ...over,
  });

  it("averages unit-normalised embeddings of usable frames only", () => {
    const acc = new EmbeddingAccumulator();
    expect(acc.add(frame([3, 0]))).toBe(true);
    expect(acc.add(frame([0, 10]))).toBe(true);
    expect(acc.add(frame([0, 1], { faceCount: 2 }))).toBe(false); // whose face?
    expect(acc.add(frame([0, 1], { yawRad: 1 }))).toBe(false); // ~57° off frontal
    expect(acc.add(frame(null))).toBe(false);
    const out = acc.finish();
    expect(out?.frames).toBe(2);
    expect(out?.vector[0]).toBeCloseTo(Math.SQRT1_2, 6);
    expect(out?.vector[1]).toBeCloseTo(Math.SQRT1_2, 6);
    acc.dispose();
    expect(acc.finish()).toBeNull();
  });
});
