/**
 * How Facet compares secrets, checked on the source (docs/security.md "Tokens and credentials").
 * A timing test over loopback would be noise; what makes the comparisons safe is their shape, and
 * that shape is what a change could break:
 *
 * - API keys and client secrets are never compared: the presented value is hashed (SHA-256) and
 *   the hash is looked up in D1. An attacker cannot steer the hash's bytes (preimage resistance),
 *   so how long the index lookup takes says nothing about the stored secret.
 * - Webhook signatures are checked with WebCrypto `crypto.subtle.verify("HMAC", …)`, whose MAC
 *   comparison is constant-time (BoringSSL / OpenSSL `CRYPTO_memcmp`), never with `===`.
 * - The tokenizer's client identity is checked by OpenSSL during the TLS handshake.
 * - No JWT is issued or accepted, so there is no `alg` header to trust or confuse.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";

const REPO = join(import.meta.dirname, "..", "..");
const ROOTS = ["lib", "workers", "durable-objects", "services"];

function sources(): { path: string; text: string }[] {
  const out: { path: string; text: string }[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir)) {
      if (entry === "node_modules" || entry === "dist") continue;
      const path = join(dir, entry);
      if (statSync(path).isDirectory()) walk(path);
      else if (path.endsWith(".ts"))
        out.push({ path: relative(REPO, path), text: readFileSync(path, "utf8") });
    }
  };
  for (const root of ROOTS) walk(join(REPO, root));
  return out;
}

const read = (path: string) => readFileSync(join(REPO, path), "utf8");

describe("secret comparison", () => {
  it("API keys are looked up by their SHA-256, never compared as strings", () => {
    const auth = read("workers/edge/middleware/auth.ts");
    expect(auth).toMatch(/eq\(apiKeys\.keyHash, await sha256Hex\(/);
    expect(auth).not.toMatch(/(===|!==)\s*\S*(key|secret)/i);
  });

  it("client secrets are consumed by their SHA-256 in one conditional UPDATE, never compared as strings", () => {
    const connect = read("workers/edge/routes/connect.ts");
    // the digest is taken once and shared by the UPDATE and the started event's outbox row
    expect(connect).toMatch(/const clientSecretHash = await sha256Hex\(secret\);/);
    expect(connect).toMatch(/eq\(sessions\.clientSecretHash, clientSecretHash\)/);
    expect(connect).not.toMatch(/secret\s*(===|!==)|(===|!==)\s*secret/);
  });

  it("webhook signatures are verified with WebCrypto HMAC verify (constant-time), v1 only", () => {
    const signature = read("lib/webhook-signature.ts");
    expect(signature).toMatch(/crypto\.subtle\.verify\("HMAC", key, mac, content\)/);
    expect(signature).not.toMatch(/(mac|signature|sig|expected)\s*(===|!==)\s*\w/i);
  });

  it("no secret-named value is compared with === or !== anywhere in platform code", () => {
    const pattern =
      /\b\w*(secret|apiKey|signature|whsec|password|plaintext)\w*\s*(===|!==)\s*(?!undefined|null)\w/i;
    const reverse = /(===|!==)\s*\w*(secret|apiKey|signature|whsec|password|plaintext)\w*\b/i;
    const hits = sources().flatMap(({ path, text }) =>
      text
        .split("\n")
        .map((line, i) => ({ line, at: `${path}:${i + 1}` }))
        .filter(({ line }) => pattern.test(line) || reverse.test(line))
        .map(({ at, line }) => `${at}: ${line.trim()}`),
    );
    expect(hits).toEqual([]);
  });

  it("no JWT is issued or accepted: no JOSE library and no `alg` handling in platform code", () => {
    const hits = sources().filter(
      ({ text }) =>
        /from\s+"(jose|jsonwebtoken|@tsndr\/cloudflare-worker-jwt)"/.test(text) ||
        /["']alg["']\s*:/.test(text),
    );
    expect(hits.map((h) => h.path)).toEqual([]);
  });
});
