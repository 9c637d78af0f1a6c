/**
 * Keyed answer-shingle digests (services/tokenizer/answer-digests.ts): deterministic per tenant,
 * unrelated across tenants, domain-separated from the fingerprint seed and from a bare HMAC of
 * the shingle, and truncated to 96 bits.
 */
import { describe, expect, it } from "vitest";
import { ANSWER_SHINGLE_LABEL, digestShingles } from "../../services/tokenizer/answer-digests.ts";
import { SEED_LABEL } from "../../services/tokenizer/fingerprint/biohash.ts";
import { SoftwareDevKeystore } from "../../services/tokenizer/keys/software-keystore.ts";

describe("answer digests", () => {
  const keys = new SoftwareDevKeystore({ TOKENIZER_DEV_MODE: "1" });
  const shingles = ["i am sending", "am sending money", "sending money to"];

  it("equal shingles of one tenant give equal digests; another tenant's differ", async () => {
    const a1 = await digestShingles(keys, "ten_a", shingles);
    const a2 = await digestShingles(keys, "ten_a", shingles);
    const b = await digestShingles(keys, "ten_b", shingles);
    expect(a1).toEqual(a2);
    expect(a1.keyVersion).toBe(1);
    expect(a1.digests).toHaveLength(3);
    for (const d of a1.digests) expect(d).toMatch(/^[A-Za-z0-9_-]{16}$/);
    expect(new Set(a1.digests).size).toBe(3);
    expect(b.digests.some((d) => a1.digests.includes(d))).toBe(false);
  });

  it("is domain-separated from the fingerprint seed and from a bare HMAC of the text", async () => {
    const [digest] = (await digestShingles(keys, "ten_a", [SEED_LABEL])).digests;
    const seed = await keys.tokenizationHmac("ten_a", 1, new TextEncoder().encode(SEED_LABEL));
    expect(digest).not.toBe(Buffer.from(seed.subarray(0, 12)).toString("base64url"));
    const bare = await keys.tokenizationHmac("ten_a", 1, new TextEncoder().encode("i am sending"));
    const [labelled] = (await digestShingles(keys, "ten_a", ["i am sending"])).digests;
    expect(labelled).not.toBe(Buffer.from(bare.subarray(0, 12)).toString("base64url"));
    const expected = await keys.tokenizationHmac(
      "ten_a",
      1,
      new TextEncoder().encode(`${ANSWER_SHINGLE_LABEL}\u0000i am sending`),
    );
    expect(labelled).toBe(Buffer.from(expected.subarray(0, 12)).toString("base64url"));
  });

  it("follows the tenant's current tokenization key version", async () => {
    const before = await digestShingles(keys, "ten_c", shingles);
    await keys.rotateTokenizationKey("ten_c");
    const after = await digestShingles(keys, "ten_c", shingles);
    expect(after.keyVersion).toBe(before.keyVersion + 1);
    expect(after.digests.some((d) => before.digests.includes(d))).toBe(false);
  });
});
