/**
 * Per-tenant data keys for field encryption (product-spec §7: per-tenant keys wrapped by the HSM).
 *
 * Hierarchy: the tenant's KEK lives in the regional tokenizer's HSM and never leaves it
 * (services/tokenizer/kms-routes.ts); it wraps 256-bit data keys (RFC 5649 KWP), which D1 keeps
 * only wrapped (`tenant_data_keys`). A data key is unwrapped over the TOKENIZER mTLS binding,
 * imported once as a non-extractable HKDF base key and zeroed; from it HKDF-SHA256 (RFC 5869)
 * derives two non-extractable keys with separate `info`: the AES-256-GCM field key and the
 * HMAC-SHA256 reference-hash key. The derived handles are cached in isolate memory only
 * (bounded, with a TTL); no key byte is logged or stored.
 *
 * Rotation: a new generation takes over new writes, older ones stay readable by the key id each
 * ciphertext names. The reference hash always uses generation 1, so lookups survive rotation.
 * KEK rotation re-wraps the stored data keys (`/v1/keys/rewrap`) and changes no field.
 */
import { and, asc, eq } from "drizzle-orm";
import { z } from "zod";
import type { Db } from "../db/client.ts";
import { tenantDataKeys, tenants } from "../db/schema.ts";
import { FacetError } from "../errors.ts";
import { parseTenantSettings } from "../tenant-settings.ts";
import {
  DataIntegrityError,
  decryptField,
  encryptField,
  type FieldKey,
  type FieldSlot,
  sealedKeyId,
} from "./field-encryption.ts";
import { KeyHandleCache } from "./key-handle-cache.ts";
import { newId } from "./random.ts";

/** The bindings the key ring needs: the mTLS tokenizer (`Env["TOKENIZER"]`) and its regional base URLs. */
export interface KmsEnv {
  TOKENIZER: { fetch(url: string, init: RequestInit): Promise<Response> };
  TOKENIZER_URL_EU: string;
  TOKENIZER_URL_US: string;
}

type Zone = "eu" | "us";
type KeyRow = typeof tenantDataKeys.$inferSelect;

interface DerivedKeys {
  field: FieldKey;
  reference: CryptoKey;
  request: CryptoKey;
}

/** One tenant's keys for one request (or one DO / queue invocation). */
export interface TenantKeys {
  readonly tenantId: string;
  /** AES-256-GCM under the tenant's current data key, bound to `slot` */
  seal(slot: FieldSlot, plaintext: string): Promise<string>;
  /** decrypts a value sealed for `slot`; a value that does not authenticate is `ERR_DATA_INTEGRITY` */
  open(slot: FieldSlot, sealed: string): Promise<string>;
  /** keyed hash of a client reference id, for equality lookups */
  referenceHash(reference: string): Promise<string>;
  /** keyed hash of a create request's body (it holds metadata), for Idempotency-Key replays */
  requestHash(body: string): Promise<string>;
}

const KMS_TIMEOUT_MS = 5_000;
/** isolate cache of derived key handles, keyed by key id */
const cache = new KeyHandleCache<DerivedKeys>({ ttlMs: 10 * 60_000, max: 512 });

const B64 = /^[A-Za-z0-9+/]+={0,2}$/;
const DataKeyReply = z.object({
  plaintext: z.string().regex(B64),
  wrapped: z.string().regex(B64).max(128),
  kekVersion: z.number().int().min(1),
});
const UnwrapReply = z.object({ plaintext: z.string().regex(B64) });

const INFO_FIELD = new TextEncoder().encode("facet/v1|field|aes-256-gcm");
const INFO_REFERENCE = new TextEncoder().encode("facet/v1|client_reference_hash|hmac-sha256");
const INFO_REQUEST = new TextEncoder().encode("facet/v1|idempotency_request_hash|hmac-sha256");

function baseUrl(env: KmsEnv, zone: Zone): string {
  return zone === "us" ? env.TOKENIZER_URL_US : env.TOKENIZER_URL_EU;
}

export function decodeBase64(text: string): Uint8Array {
  const s = atob(text);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

export async function kms(env: KmsEnv, zone: Zone, path: string, body: object): Promise<unknown> {
  let response: Response;
  try {
    response = await env.TOKENIZER.fetch(`${baseUrl(env, zone)}/v1/keys/${path}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(KMS_TIMEOUT_MS),
    });
  } catch {
    throw new FacetError("ERR_UPSTREAM", "The key service could not be reached.");
  }
  if (!response.ok) {
    await response.body?.cancel();
    // 422 ERR_KEY_UNWRAP: the stored wrapped key failed RFC 5649 integrity (altered in D1)
    if (response.status === 422) throw new FacetError("ERR_DATA_INTEGRITY");
    throw new FacetError("ERR_UPSTREAM", `The key service answered ${response.status}.`);
  }
  return response.json();
}

/** Derives the field and reference keys from raw data-key bytes, then zeroes the bytes. */
async function derive(keyId: string, raw: Uint8Array): Promise<DerivedKeys> {
  try {
    if (raw.byteLength !== 32)
      throw new FacetError("ERR_UPSTREAM", "The key service returned a malformed key.");
    const base = await crypto.subtle.importKey("raw", raw, "HKDF", false, ["deriveKey"]);
    const hkdf = (info: Uint8Array) => ({ name: "HKDF", hash: "SHA-256", salt: new Uint8Array(32), info });
    const aes = await crypto.subtle.deriveKey(
      hkdf(INFO_FIELD),
      base,
      { name: "AES-GCM", length: 256 },
      false,
      ["encrypt", "decrypt"],
    );
    const hmac = (info: Uint8Array) =>
      crypto.subtle.deriveKey(hkdf(info), base, { name: "HMAC", hash: "SHA-256", length: 256 }, false, [
        "sign",
      ]);
    const [reference, request] = await Promise.all([hmac(INFO_REFERENCE), hmac(INFO_REQUEST)]);
    return { field: { id: keyId, key: aes }, reference, request };
  } finally {
    raw.fill(0);
  }
}

function unwrap(env: KmsEnv, row: KeyRow): Promise<DerivedKeys> {
  const hit = cache.get(row.keyId);
  if (hit) return hit;
  return cache.remember(
    row.keyId,
    (async () => {
      const reply = UnwrapReply.parse(
        await kms(env, row.zone, "unwrap", {
          tenantId: row.tenantId,
          wrapped: row.wrapped,
          kekVersion: row.kekVersion,
        }),
      );
      return derive(row.keyId, decodeBase64(reply.plaintext));
    })(),
  );
}

/**
 * Asks the HSM for a new data key and records it as `generation`. If another writer recorded
 * that generation first, its key wins and ours is discarded unused.
 */
export async function createDataKey(
  env: KmsEnv,
  db: Db,
  tenantId: string,
  generation: number,
  zone: Zone,
  now = Date.now(),
): Promise<void> {
  const reply = DataKeyReply.parse(await kms(env, zone, "data-key", { tenantId }));
  const keyId = newId("dk");
  const inserted = await db
    .insert(tenantDataKeys)
    .values({
      keyId,
      tenantId,
      generation,
      zone,
      kekVersion: reply.kekVersion,
      wrapped: reply.wrapped,
      createdAt: now,
    })
    .onConflictDoNothing()
    .returning({ keyId: tenantDataKeys.keyId });
  const raw = decodeBase64(reply.plaintext);
  if (inserted.length === 0) {
    raw.fill(0);
    return;
  }
  await cache.remember(keyId, derive(keyId, raw));
}

/**
 * Rotation: generation n+1 takes over new writes; older generations are marked retired and stay
 * readable. Returns the new generation.
 */
export async function rotateDataKey(
  env: KmsEnv,
  db: Db,
  tenantId: string,
  now = Date.now(),
): Promise<number> {
  const rows = await loadRows(db, tenantId);
  const last = rows.at(-1);
  const generation = (last?.generation ?? 0) + 1;
  await createDataKey(env, db, tenantId, generation, last?.zone ?? (await tenantZone(db, tenantId)), now);
  if (last)
    await db.update(tenantDataKeys).set({ retiredAt: now }).where(eq(tenantDataKeys.keyId, last.keyId));
  return generation;
}

const RewrapReply = z.object({
  wrapped: z.string().regex(B64).max(128),
  kekVersion: z.number().int().min(1),
});

/**
 * KEK rotation without downtime (run after `POST /v1/keys/rotate {kind: "kek"}`): every stored data
 * key of the tenant is re-wrapped under the current KEK, one row at a time. The data keys do not
 * change, so no field is re-encrypted and readers keep working throughout: a row not yet moved
 * still unwraps under its old KEK version. Returns how many rows moved.
 */
export async function rewrapDataKeys(env: KmsEnv, db: Db, tenantId: string): Promise<number> {
  let moved = 0;
  for (const row of await loadRows(db, tenantId)) {
    const reply = RewrapReply.parse(
      await kms(env, row.zone, "rewrap", { tenantId, wrapped: row.wrapped, kekVersion: row.kekVersion }),
    );
    if (reply.kekVersion === row.kekVersion) continue;
    await db
      .update(tenantDataKeys)
      .set({ wrapped: reply.wrapped, kekVersion: reply.kekVersion })
      .where(and(eq(tenantDataKeys.keyId, row.keyId), eq(tenantDataKeys.kekVersion, row.kekVersion)));
    moved++;
  }
  return moved;
}

async function tenantZone(db: Db, tenantId: string): Promise<Zone> {
  const [tenant] = await db
    .select({ settings: tenants.settings })
    .from(tenants)
    .where(eq(tenants.id, tenantId));
  return tenant ? parseTenantSettings(tenant.settings).defaultZone : "eu";
}

function loadRows(db: Db, tenantId: string): Promise<KeyRow[]> {
  return db
    .select()
    .from(tenantDataKeys)
    .where(eq(tenantDataKeys.tenantId, tenantId))
    .orderBy(asc(tenantDataKeys.generation));
}

function toBase64url(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

/**
 * The tenant's key ring. Which keys exist is read from D1 once per ring (one small query), so a
 * rotation takes effect in every isolate at once; only the unwrapped handles are cached.
 */
export function tenantKeys(env: KmsEnv, db: Db, tenantId: string): TenantKeys {
  let rowsPromise: Promise<KeyRow[]> | null = null;
  const rows = async (): Promise<KeyRow[]> => {
    rowsPromise ??= (async () => {
      const found = await loadRows(db, tenantId);
      if (found.length > 0) return found;
      await createDataKey(env, db, tenantId, 1, await tenantZone(db, tenantId));
      return loadRows(db, tenantId);
    })();
    try {
      return await rowsPromise;
    } catch (error) {
      rowsPromise = null;
      throw error;
    }
  };
  const byGeneration = async (pick: (all: KeyRow[]) => KeyRow | undefined) => {
    const row = pick(await rows());
    if (!row) throw new FacetError("ERR_INTERNAL");
    return unwrap(env, row);
  };
  return {
    tenantId,
    async seal(slot, plaintext) {
      const keys = await byGeneration((all) => all.at(-1));
      return encryptField(keys.field, slot, plaintext);
    },
    async open(slot, sealed) {
      const keyId = sealedKeyId(sealed);
      let row = keyId === null ? undefined : (await rows()).find((r) => r.keyId === keyId);
      if (keyId !== null && !row) {
        // a generation recorded after this ring loaded its list (rotation in between)
        rowsPromise = null;
        row = (await rows()).find((r) => r.keyId === keyId);
      }
      if (!row) throw new FacetError("ERR_DATA_INTEGRITY");
      const keys = await unwrap(env, row);
      try {
        return await decryptField(keys.field, slot, sealed);
      } catch (error) {
        if (error instanceof DataIntegrityError) throw new FacetError("ERR_DATA_INTEGRITY");
        throw error;
      }
    },
    async referenceHash(reference) {
      const keys = await byGeneration((all) => all[0]);
      const mac = await crypto.subtle.sign("HMAC", keys.reference, new TextEncoder().encode(reference));
      return toBase64url(new Uint8Array(mac));
    },
    async requestHash(body) {
      const keys = await byGeneration((all) => all[0]);
      const mac = await crypto.subtle.sign("HMAC", keys.request, new TextEncoder().encode(body));
      return toBase64url(new Uint8Array(mac));
    },
  };
}
