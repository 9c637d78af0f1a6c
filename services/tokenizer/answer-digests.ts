/**
 * Keyed digests of conversation-answer shingles, for repetition of one scripted answer across
 * sessions of a tenant (issue 7; docs/conversation.md "Repetition across sessions"):
 *
 *   POST /v1/answers/digests  {tenantId, shingles: string[]}  → {keyVersion, digests: string[]}
 *
 * Each digest is the first 12 bytes (base64url) of HMAC-SHA256 under the tenant's current
 * tokenization key, computed inside the HSM (keys/keystore.ts `tokenizationHmac`: the key is
 * non-extractable and never leaves it), over `"facet/answer-shingle/v1" ‖ 0x00 ‖ UTF-8(shingle)`.
 * The label is the domain separation: the fingerprint seed is the HMAC of the exact message
 * `facet/biohash/v1/seed` (fingerprint/biohash.ts), which no message here can equal, so these
 * digests cannot be correlated with fingerprints (HMAC as a PRF, RFC 2104 §6). Equal shingles of
 * one tenant give equal digests (what the comparison needs); another tenant's key gives unrelated
 * ones, so tenants cannot be linked. 96 bits: collisions between distinct shingles of a tenant are
 * negligible at any realistic volume (birthday bound ≈ 2^48).
 *
 * Body: JSON ≤ 16 KiB, validated by zod; shingles are normalised by the session DO
 * (durable-objects/session/answer-shingles.ts). Nothing here logs: the shingles are the reply's
 * words (server.ts logs only the route, status and sizes).
 */
import type { IncomingMessage } from "node:http";
import { z } from "zod";
import { readBody } from "./body.ts";
import { TokenizerError } from "./errors.ts";
import type { Keystore } from "./keys/keystore.ts";

export const ANSWER_DIGESTS_PATH = "/v1/answers/digests";
export const ANSWER_SHINGLE_LABEL = "facet/answer-shingle/v1";
export const MAX_ANSWER_BODY_BYTES = 16 * 1024;
/** Bytes of HMAC output kept per digest (see header). */
export const DIGEST_BYTES = 12;

export const AnswerDigestsBody = z.strictObject({
  tenantId: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/),
  shingles: z.array(z.string().min(1).max(200)).min(1).max(128),
});

export interface AnswerDigests {
  keyVersion: number;
  digests: string[];
}

const LABEL = new TextEncoder().encode(`${ANSWER_SHINGLE_LABEL}\u0000`);

/** The keyed digest of each shingle, in order, under the tenant's current tokenization key. */
export async function digestShingles(
  keystore: Pick<Keystore, "tokenizationHmac" | "currentTokenizationVersion">,
  tenantId: string,
  shingles: readonly string[],
): Promise<AnswerDigests> {
  const keyVersion = await keystore.currentTokenizationVersion(tenantId);
  const digests = await Promise.all(
    shingles.map(async (s) => {
      const text = new TextEncoder().encode(s);
      const message = new Uint8Array(LABEL.length + text.length);
      message.set(LABEL, 0);
      message.set(text, LABEL.length);
      try {
        const mac = await keystore.tokenizationHmac(tenantId, keyVersion, message);
        return Buffer.from(mac.subarray(0, DIGEST_BYTES)).toString("base64url");
      } finally {
        message.fill(0);
        text.fill(0);
      }
    }),
  );
  return { keyVersion, digests };
}

/** Reads and validates the request, computes the digests; every failure is a TokenizerError. */
export async function handleAnswerDigests(
  req: IncomingMessage,
  keystore: Keystore | undefined,
): Promise<{ reply: AnswerDigests; bytesIn: number }> {
  if (req.method !== "POST") throw new TokenizerError("ERR_METHOD_NOT_ALLOWED", "use POST");
  const type = (req.headers["content-type"] ?? "").split(";")[0]?.trim().toLowerCase();
  if (type !== "application/json")
    throw new TokenizerError("ERR_UNSUPPORTED_MEDIA_TYPE", "send application/json");
  const body = await readBody(req, MAX_ANSWER_BODY_BYTES);
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString("utf8"));
  } catch {
    throw new TokenizerError("ERR_ANSWER_REQUEST", "the body is not JSON");
  } finally {
    body.fill(0);
  }
  const checked = AnswerDigestsBody.safeParse(parsed);
  // The path only: a message could quote the shingle.
  if (!checked.success)
    throw new TokenizerError(
      "ERR_ANSWER_REQUEST",
      `invalid field: ${checked.error.issues[0]?.path.join(".") || "body"}`,
    );
  if (!keystore) throw new TokenizerError("ERR_ANSWER_KEYS_UNAVAILABLE", "no key store configured");
  try {
    const reply = await digestShingles(keystore, checked.data.tenantId, checked.data.shingles);
    return { reply, bytesIn: body.byteLength };
  } catch {
    throw new TokenizerError("ERR_ANSWER_KEYS_UNAVAILABLE", "the key store failed");
  }
}
