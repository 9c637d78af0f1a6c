/**
 * Per-subject data keys for fingerprints (product-spec §7: "fingerprint … AES-256-GCM, per-subject
 * data key wrapped by an HSM key; erasure = key destruction"; issue 6 §4).
 *
 * Hierarchy. Each subject (a tenant's `clientReferenceId`, known here only by its keyed hash) gets
 * its own key owner in the regional HSM, `subj_<random>`: the tokenizer's key API
 * (services/tokenizer/kms-routes.ts) creates that owner's KEK on its first `data-key` call, wraps
 * the subject's AES-256 data key under it (RFC 5649 KWP), and `DELETE /v1/keys/tenants/subj_…`
 * destroys it — the API's existing crypto-shredding route, applied to one subject instead of a
 * whole tenant. D1 keeps the wrapped key in `subject_keys.wrapped`, itself sealed under the
 * tenant's field key, so opening a fingerprint needs both the tenant's KEK and the subject's KEK:
 * destroying either (tenant shredding at contract end, or subject erasure) makes the template
 * unreadable, including every copy of the rows in D1 Time Travel or any other backup.
 *
 * In memory only: the unwrapped key becomes a non-extractable AES-GCM handle (HKDF-SHA256 with its
 * own `info`, RFC 5869), cached per isolate for at most 10 minutes; its bytes are zeroed at once.
 */
import { and, eq } from "drizzle-orm";
import { z } from "zod";
import type { FieldKey, FieldSlot } from "../crypto/field-encryption.ts";
import { KeyHandleCache } from "../crypto/key-handle-cache.ts";
import { newId } from "../crypto/random.ts";
import { decodeBase64, type KmsEnv, kms, type TenantKeys } from "../crypto/tenant-keys.ts";
import type { Db } from "../db/client.ts";
import { fingerprints, subjectKeys } from "../db/schema.ts";
import { FacetError } from "../errors.ts";

export type SubjectKeyRow = typeof subjectKeys.$inferSelect;
type Zone = "eu" | "us";

const KMS_TIMEOUT_MS = 5_000;
const cache = new KeyHandleCache<FieldKey>({ ttlMs: 10 * 60_000, max: 4096 });

const B64 = /^[A-Za-z0-9+/]+={0,2}$/;
const DataKeyReply = z.object({
  plaintext: z.string().regex(B64),
  wrapped: z.string().regex(B64).max(128),
  kekVersion: z.number().int().min(1),
});
const UnwrapReply = z.object({ plaintext: z.string().regex(B64) });
const INFO_FINGERPRINT = new TextEncoder().encode("facet/v1|fingerprint|aes-256-gcm");

/** The HSM key owner of a subject key: one KEK per subject, named after the key id. */
export function subjectKeyOwner(keyId: string): string {
  return `subj_${keyId.slice("dk_".length)}`;
}

/** Thrown when the subject's KEK no longer exists in the HSM: the subject was crypto-shredded. */
export class SubjectKeyDestroyedError extends Error {
  override readonly name = "SubjectKeyDestroyedError";
}

const slotOf = (keyId: string): FieldSlot => ({ table: "subject_keys", column: "wrapped", rowId: keyId });

async function deriveFingerprintKey(keyId: string, raw: Uint8Array): Promise<FieldKey> {
  try {
    if (raw.byteLength !== 32)
      throw new FacetError("ERR_UPSTREAM", "The key service returned a malformed key.");
    const base = await crypto.subtle.importKey("raw", raw, "HKDF", false, ["deriveKey"]);
    const key = await crypto.subtle.deriveKey(
      { name: "HKDF", hash: "SHA-256", salt: new Uint8Array(32), info: INFO_FINGERPRINT },
      base,
      { name: "AES-GCM", length: 256 },
      false,
      ["encrypt", "decrypt"],
    );
    return { id: keyId, key };
  } finally {
    raw.fill(0);
  }
}

/** Drops a key from this isolate's cache (after shredding). */
export function forgetSubjectKey(keyId: string): void {
  cache.forget(keyId);
}

function baseUrl(env: KmsEnv, zone: Zone): string {
  return zone === "us" ? env.TOKENIZER_URL_US : env.TOKENIZER_URL_EU;
}

/** One call to the key API that tells "key gone" (404) apart from an outage (anything else). */
async function kmsSubject(env: KmsEnv, zone: Zone, method: "POST" | "DELETE", path: string, body?: object) {
  let response: Response;
  try {
    response = await env.TOKENIZER.fetch(`${baseUrl(env, zone)}/v1/keys/${path}`, {
      method,
      headers: { "content-type": "application/json" },
      ...(body ? { body: JSON.stringify(body) } : {}),
      signal: AbortSignal.timeout(KMS_TIMEOUT_MS),
    });
  } catch {
    throw new FacetError("ERR_UPSTREAM", "The key service could not be reached.");
  }
  if (response.status === 404 && method === "POST") {
    await response.body?.cancel();
    throw new SubjectKeyDestroyedError("the subject's key no longer exists");
  }
  if (!response.ok) {
    await response.body?.cancel();
    if (response.status === 422) throw new FacetError("ERR_DATA_INTEGRITY");
    throw new FacetError("ERR_UPSTREAM", `The key service answered ${response.status}.`);
  }
  return response.status === 204 ? null : response.json();
}

/** The subject's key row, or null when the subject has none (never enrolled, or erased). */
export async function findSubjectKey(
  db: Db,
  tenantId: string,
  subjectHash: string,
): Promise<SubjectKeyRow | null> {
  const [row] = await db
    .select()
    .from(subjectKeys)
    .where(and(eq(subjectKeys.tenantId, tenantId), eq(subjectKeys.subjectHash, subjectHash)));
  return row ?? null;
}

/**
 * The subject's key, created on first enrolment: a fresh HSM owner and data key. Concurrent first
 * enrolments of one subject agree on one row (unique index); the loser's key is discarded and its
 * owner destroyed, so no orphan KEK stays in the HSM.
 */
export async function subjectKeyForEnrolment(
  env: KmsEnv,
  db: Db,
  keys: TenantKeys,
  subjectHash: string,
  zone: Zone,
  now = Date.now(),
): Promise<{ row: SubjectKeyRow; key: FieldKey }> {
  const existing = await findSubjectKey(db, keys.tenantId, subjectHash);
  if (existing) return { row: existing, key: await openSubjectKey(env, keys, existing) };
  const keyId = newId("dk");
  const reply = DataKeyReply.parse(await kms(env, zone, "data-key", { tenantId: subjectKeyOwner(keyId) }));
  const raw = decodeBase64(reply.plaintext);
  const row: SubjectKeyRow = {
    keyId,
    tenantId: keys.tenantId,
    subjectHash,
    zone,
    kekVersion: reply.kekVersion,
    wrapped: await keys.seal(slotOf(keyId), reply.wrapped),
    createdAt: now,
  };
  const inserted = await db
    .insert(subjectKeys)
    .values(row)
    .onConflictDoNothing()
    .returning({ keyId: subjectKeys.keyId });
  if (inserted.length === 0) {
    raw.fill(0);
    await kmsSubject(env, zone, "DELETE", `tenants/${subjectKeyOwner(keyId)}`);
    const winner = await findSubjectKey(db, keys.tenantId, subjectHash);
    if (!winner) throw new FacetError("ERR_INTERNAL");
    return { row: winner, key: await openSubjectKey(env, keys, winner) };
  }
  return { row, key: await cache.remember(keyId, deriveFingerprintKey(keyId, raw)) };
}

/**
 * Unwraps a subject's key (cached). `SubjectKeyDestroyedError` when the subject's KEK is gone
 * from the HSM: whatever row copy was passed in can no longer be opened.
 */
export function openSubjectKey(env: KmsEnv, keys: TenantKeys, row: SubjectKeyRow): Promise<FieldKey> {
  const hit = cache.get(row.keyId);
  if (hit) return hit;
  return cache.remember(
    row.keyId,
    (async () => {
      const wrapped = await keys.open(slotOf(row.keyId), row.wrapped);
      const reply = UnwrapReply.parse(
        await kmsSubject(env, row.zone, "POST", "unwrap", {
          tenantId: subjectKeyOwner(row.keyId),
          wrapped,
          kekVersion: row.kekVersion,
        }),
      );
      return deriveFingerprintKey(row.keyId, decodeBase64(reply.plaintext));
    })(),
  );
}

/**
 * Crypto-shredding of one subject: the HSM destroys the subject's KEK first (an outage fails the
 * erasure, which the integrator retries), then its fingerprints and key row go. Idempotent: destroying an owner
 * that is already gone succeeds.
 */
export async function destroySubjectKey(env: KmsEnv, db: Db, row: SubjectKeyRow): Promise<void> {
  await kmsSubject(env, row.zone, "DELETE", `tenants/${subjectKeyOwner(row.keyId)}`);
  forgetSubjectKey(row.keyId);
  await db.batch([
    db
      .delete(fingerprints)
      .where(and(eq(fingerprints.tenantId, row.tenantId), eq(fingerprints.subjectKeyId, row.keyId))),
    db
      .delete(subjectKeys)
      .where(and(eq(subjectKeys.tenantId, row.tenantId), eq(subjectKeys.keyId, row.keyId))),
  ]);
}
