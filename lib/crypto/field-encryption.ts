/**
 * Field-level encryption for D1 columns (product-spec §7: metadata, scores, outcomes and
 * transcripts under AES-256-GCM). One operation per function, keys as opaque non-extractable
 * CryptoKey handles (house-style 11).
 *
 * Stored form, self-describing so any row names the key that opens it:
 *
 *   v1.<keyId>.<base64url(iv ‖ ciphertext ‖ tag)>
 *
 * `v1` fixes the algorithm (AES-256-GCM, 96-bit random IV, 128-bit tag; NIST SP 800-38D §5.2.1.1,
 * §8.2.2 — random IVs are safe up to 2^32 messages per key, far above one data key's use, and
 * rotation bounds it further). The associated data binds the value to where it is stored,
 * `facet/v1|<table>|<column>|<rowId>`, so a ciphertext copied to another row or column fails
 * authentication instead of decrypting there. The KEK version is not in the field: it belongs to
 * the wrapped data key (`tenant_data_keys`), so re-wrapping under a new KEK touches no row.
 */

export const FIELD_VERSION = "v1";
const IV_BYTES = 12;
const TAG_BYTES = 16;
/** key ids are `dk_` + base64url: never a `.` */
const KEY_ID = /^dk_[A-Za-z0-9_-]{10,64}$/;
const SEALED = /^v1\.(dk_[A-Za-z0-9_-]{10,64})\.([A-Za-z0-9_-]+)$/;

/** A data key as a handle: the key id stored beside each ciphertext, and the AES-GCM key. */
export interface FieldKey {
  readonly id: string;
  readonly key: CryptoKey;
}

/** Where a value lives; it is bound into the ciphertext as associated data. */
export interface FieldSlot {
  table: string;
  column: string;
  rowId: string;
}

/** A stored value that does not authenticate (tampered, moved, truncated, or of an unknown format). */
export class DataIntegrityError extends Error {
  override readonly name = "DataIntegrityError";
}

function associatedData(slot: FieldSlot): Uint8Array {
  for (const part of [slot.table, slot.column, slot.rowId]) {
    // the separator must not occur inside a part, or two slots could share one encoding
    if (part.length === 0 || part.includes("|")) throw new TypeError("invalid field slot");
  }
  return new TextEncoder().encode(`facet/${FIELD_VERSION}|${slot.table}|${slot.column}|${slot.rowId}`);
}

function toBase64url(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

function fromBase64url(text: string): Uint8Array {
  const s = atob(text.replaceAll("-", "+").replaceAll("_", "/"));
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

/** Imports 32 raw bytes as a non-extractable AES-256-GCM key; the caller zeroes the bytes. */
export async function importFieldKey(id: string, raw: Uint8Array): Promise<FieldKey> {
  if (!KEY_ID.test(id)) throw new TypeError("invalid key id");
  if (raw.byteLength !== 32) throw new TypeError("a data key is 32 bytes");
  const key = await crypto.subtle.importKey("raw", raw, { name: "AES-GCM", length: 256 }, false, [
    "encrypt",
    "decrypt",
  ]);
  return { id, key };
}

/** The key id a stored value names, or null when it is not a v1 ciphertext. */
export function sealedKeyId(sealed: string): string | null {
  return SEALED.exec(sealed)?.[1] ?? null;
}

export async function encryptField(key: FieldKey, slot: FieldSlot, plaintext: string): Promise<string> {
  const iv = crypto.getRandomValues(new Uint8Array(IV_BYTES));
  const ct = new Uint8Array(
    await crypto.subtle.encrypt(
      { name: "AES-GCM", iv, additionalData: associatedData(slot), tagLength: TAG_BYTES * 8 },
      key.key,
      new TextEncoder().encode(plaintext),
    ),
  );
  const out = new Uint8Array(IV_BYTES + ct.byteLength);
  out.set(iv, 0);
  out.set(ct, IV_BYTES);
  return `${FIELD_VERSION}.${key.id}.${toBase64url(out)}`;
}

/**
 * Opens a value sealed by `encryptField` for the same slot. Only `v1` is accepted (algorithm
 * allowlist at decrypt time); anything else, and any authentication failure, is a
 * `DataIntegrityError` that never says which check failed.
 */
export async function decryptField(key: FieldKey, slot: FieldSlot, sealed: string): Promise<string> {
  const match = SEALED.exec(sealed);
  if (!match || match[1] !== key.id) throw new DataIntegrityError("stored value does not authenticate");
  let bytes: Uint8Array;
  try {
    bytes = fromBase64url(match[2] ?? "");
  } catch {
    throw new DataIntegrityError("stored value does not authenticate");
  }
  if (bytes.byteLength < IV_BYTES + TAG_BYTES)
    throw new DataIntegrityError("stored value does not authenticate");
  try {
    const pt = await crypto.subtle.decrypt(
      {
        name: "AES-GCM",
        iv: bytes.subarray(0, IV_BYTES),
        additionalData: associatedData(slot),
        tagLength: TAG_BYTES * 8,
      },
      key.key,
      bytes.subarray(IV_BYTES),
    );
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(pt);
  } catch {
    throw new DataIntegrityError("stored value does not authenticate");
  }
}
