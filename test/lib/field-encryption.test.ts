/**
 * lib/crypto/field-encryption.ts on its own (WebCrypto in Node, as in workerd): the stored format,
 * the slot binding (NIST SP 800-38D associated data), the algorithm allowlist, and its cost.
 */
import { describe, expect, it } from "vitest";
import {
  DataIntegrityError,
  decryptField,
  encryptField,
  importFieldKey,
  sealedKeyId,
} from "../../lib/crypto/field-encryption.ts";

const slot = { table: "reports", column: "risk", rowId: "ses_aaaaaaaaaaaaaaaaaaaaaa" };
/** `sealed` with the character at `at` replaced by another: six bits of the payload change. */
const tamper = (sealed: string, at: number): string =>
  `${sealed.slice(0, at)}${sealed[at] === "A" ? "B" : "A"}${sealed.slice(at + 1)}`;
const key = () => importFieldKey("dk_0123456789abcdef", crypto.getRandomValues(new Uint8Array(32)));

describe("field encryption", () => {
  it("round-trips, with a fresh IV each time and the key id in front", async () => {
    const k = await key();
    const a = await encryptField(k, slot, '{"decision":"approve"}');
    const b = await encryptField(k, slot, '{"decision":"approve"}');
    expect(a).toMatch(/^v1\.dk_0123456789abcdef\.[A-Za-z0-9_-]+$/);
    expect(a).not.toBe(b);
    expect(sealedKeyId(a)).toBe("dk_0123456789abcdef");
    expect(await decryptField(k, slot, a)).toBe('{"decision":"approve"}');
    // 12-byte IV + plaintext + 16-byte tag
    expect(Buffer.from(a.split(".")[2] ?? "", "base64url")).toHaveLength(12 + 22 + 16);
  });

  it("refuses another row, another column, another table, tampering, another key and other versions", async () => {
    const k = await key();
    const sealed = await encryptField(k, slot, "granted");
    const other = await key();
    const refused = [
      () => decryptField(k, { ...slot, rowId: "ses_bbbbbbbbbbbbbbbbbbbbbb" }, sealed),
      () => decryptField(k, { ...slot, column: "device" }, sealed),
      () => decryptField(k, { ...slot, table: "sessions" }, sealed),
      // a character inside the ciphertext: the last one also carries base64url padding bits, so
      // changing it can leave the decoded bytes as they were (A → B, or B, C, D → A: 4 runs in 64)
      () => decryptField(k, slot, tamper(sealed, sealed.length - 10)),
      () => decryptField(k, slot, sealed.replace(/^v1\./, "v2.")),
      () => decryptField(k, slot, sealed.slice(0, 30)),
      () => decryptField(other, slot, sealed),
      () => decryptField(k, slot, "granted"),
    ];
    for (const attempt of refused) await expect(attempt()).rejects.toBeInstanceOf(DataIntegrityError);
  });

  it("keeps keys non-extractable", async () => {
    const k = await key();
    expect(k.key.extractable).toBe(false);
    await expect(crypto.subtle.exportKey("raw", k.key)).rejects.toThrow();
  });

  it("costs well under a millisecond per 4 KiB field", async () => {
    const k = await key();
    const text = JSON.stringify({ blob: "x".repeat(4000) });
    const n = 500;
    let t = performance.now();
    const sealed: string[] = [];
    for (let i = 0; i < n; i++) sealed.push(await encryptField(k, { ...slot, rowId: `r${i}` }, text));
    const enc = (performance.now() - t) / n;
    t = performance.now();
    for (let i = 0; i < n; i++) await decryptField(k, { ...slot, rowId: `r${i}` }, sealed[i] ?? "");
    const dec = (performance.now() - t) / n;
    console.log(`field encryption, 4 KiB: encrypt ${enc.toFixed(3)} ms, decrypt ${dec.toFixed(3)} ms`);
    expect(enc).toBeLessThan(2);
    expect(dec).toBeLessThan(2);
  });
});
