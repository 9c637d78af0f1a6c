/**
 * lib/recognition/match.ts on its own: the Hamming distance, the majority probe, the threshold
 * rule, and the warm cost of one 1:N pass (GCM open of each 44-byte template under its subject key,
 * then XOR/popcount) measured in Node's WebCrypto, as workerd runs it — the numbers quoted in
 * docs/data-protection.md "Cost of 1:N".
 */
import { describe, expect, it } from "vitest";
import { decryptField, encryptField, importFieldKey } from "../../lib/crypto/field-encryption.ts";
import {
  bestMatch,
  hammingDistance,
  MATCH_THRESHOLD,
  majorityTemplate,
} from "../../lib/recognition/match.ts";

const b64 = (bytes: number[]) => Buffer.from(bytes).toString("base64");
const zeros = b64(new Array(32).fill(0));

describe("recognition matching rule", () => {
  it("measures normalised Hamming distance over 256 bits", () => {
    expect(hammingDistance(zeros, zeros)).toBe(0);
    expect(hammingDistance(zeros, b64(new Array(32).fill(0xff)))).toBe(1);
    expect(hammingDistance(zeros, b64([0x80, 0x01, ...new Array(30).fill(0)]))).toBe(2 / 256);
    // templates of different lengths never match
    expect(hammingDistance(zeros, b64([0]))).toBe(1);
  });

  it("takes the bitwise majority, ties to the first template", () => {
    const a = b64([0b1100_0000, ...new Array(31).fill(0)]);
    const b = b64([0b1010_0000, ...new Array(31).fill(0)]);
    const c = b64([0b1001_0000, ...new Array(31).fill(0)]);
    expect(majorityTemplate([a, b, c])).toBe(b64([0b1000_0000, ...new Array(31).fill(0)]));
    expect(majorityTemplate([a, b])).toBe(a);
    expect(majorityTemplate([])).toBeNull();
  });

  it("picks the closest candidate at or under the threshold, else none", () => {
    expect(
      bestMatch([
        { id: "x", distance: 0.18 },
        { id: "y", distance: 0.09 },
        { id: "z", distance: 0.4 },
      ]),
    ).toEqual({ id: "y", distance: 0.09 });
    expect(bestMatch([{ id: "x", distance: MATCH_THRESHOLD }])?.id).toBe("x");
    expect(bestMatch([{ id: "x", distance: MATCH_THRESHOLD + 1 / 256 }])).toBeNull();
  });

  it("costs little per template once the subject keys are unwrapped (warm 1:N)", async () => {
    const n = 5000;
    const subjects = 500;
    const keys = await Promise.all(
      Array.from({ length: subjects }, (_, i) =>
        importFieldKey(`dk_subject${String(i).padStart(6, "0")}`, crypto.getRandomValues(new Uint8Array(32))),
      ),
    );
    const sealed = await Promise.all(
      Array.from({ length: n }, async (_, i) => {
        const key = keys[i % subjects];
        if (!key) throw new Error("no key");
        const slot = { table: "fingerprints", column: "template", rowId: `fp_${i}` };
        const bits = Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("base64");
        return { key, slot, value: await encryptField(key, slot, bits) };
      }),
    );
    const probe = Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("base64");
    const started = performance.now();
    let closest = 1;
    for (const s of sealed) {
      closest = Math.min(closest, hammingDistance(probe, await decryptField(s.key, s.slot, s.value)));
    }
    const ms = performance.now() - started;
    console.log(
      `warm 1:N over ${n} templates (${subjects} subject keys): ${ms.toFixed(1)} ms, ${((ms / n) * 1000).toFixed(1)} µs/template, closest random ${closest.toFixed(3)}`,
    );
    expect(closest).toBeGreaterThan(MATCH_THRESHOLD); // random templates never match
  });
});
