/**
 * DEV ONLY — an in-memory stand-in for the HSM so the tokenizer runs on a machine without
 * SoftHSM2. It offers none of the HSM's guarantees: keys are plain bytes in this process's heap
 * (node:crypto), readable by anything that can read its memory, and vanish on restart, so every
 * wrapped data key and every token it produced becomes useless. The constructor refuses to run
 * unless TOKENIZER_DEV_MODE=1, and the service announces it on every start.
 *
 * It keeps the PKCS#11 keystore's semantics so code and tests behave the same on both: labels,
 * versions, version 1 created on first use, AES Key Wrap with Padding (RFC 5649, OpenSSL's
 * `id-aes256-wrap-pad`, alternative initial value A65959A6 from §3) whose integrity check turns
 * tampered or foreign blobs into ERR_KEY_UNWRAP, and crypto-shredding by forgetting (and zeroing)
 * a tenant's keys.
 */
import { createCipheriv, createDecipheriv, createHmac, randomBytes } from "node:crypto";
import {
  checkTenantId,
  checkVersion,
  DATA_KEY_BYTES,
  type KeyKind,
  type Keystore,
  KeystoreError,
  WRAPPED_DATA_KEY_BYTES,
} from "./keystore.ts";

/** RFC 5649 §3: the 32-bit alternative initial value (AIV) constant. */
const KWP_AIV = Buffer.from("a65959a6", "hex");
const KWP_CIPHER = "id-aes256-wrap-pad";

/** RFC 5649 §4.1 wrap under a 256-bit KEK. */
export function kwpWrap(kek: Uint8Array, key: Uint8Array): Uint8Array {
  const cipher = createCipheriv(KWP_CIPHER, kek, KWP_AIV);
  return new Uint8Array(Buffer.concat([cipher.update(key), cipher.final()]));
}

/** RFC 5649 §4.2 unwrap; throws ERR_KEY_UNWRAP when the integrity check fails. */
export function kwpUnwrap(kek: Uint8Array, wrapped: Uint8Array): Uint8Array {
  try {
    const decipher = createDecipheriv(KWP_CIPHER, kek, KWP_AIV);
    return new Uint8Array(Buffer.concat([decipher.update(wrapped), decipher.final()]));
  } catch (error) {
    throw new KeystoreError("ERR_KEY_UNWRAP", "the wrapped key does not unwrap", { cause: error });
  }
}

export class SoftwareDevKeystore implements Keystore {
  readonly kind = "software-dev" as const;
  /** `${kind}/${tenantId}` → version → key bytes */
  readonly #keys = new Map<string, Map<number, Uint8Array>>();

  constructor(env: NodeJS.ProcessEnv) {
    if (env.TOKENIZER_DEV_MODE !== "1") {
      throw new KeystoreError(
        "ERR_KEYSTORE_UNAVAILABLE",
        "the in-memory key store is for development only: set TOKENIZER_DEV_MODE=1 to use it",
      );
    }
  }

  #versions(kind: KeyKind, tenantId: string): Map<number, Uint8Array> {
    const group = `${kind}/${checkTenantId(tenantId)}`;
    let versions = this.#keys.get(group);
    if (!versions) {
      versions = new Map();
      this.#keys.set(group, versions);
    }
    if (versions.size === 0) versions.set(1, randomBytes(32));
    return versions;
  }

  #current(kind: KeyKind, tenantId: string): number {
    return Math.max(...this.#versions(kind, tenantId).keys());
  }

  #key(kind: KeyKind, tenantId: string, version: number): Uint8Array {
    checkVersion(version);
    const group = `${kind}/${checkTenantId(tenantId)}`;
    if (kind === "tok" && version === 1) this.#versions(kind, tenantId);
    const key = this.#keys.get(group)?.get(version);
    if (!key) throw new KeystoreError("ERR_KEY_NOT_FOUND", `no ${kind} key of that tenant and version`);
    return key;
  }

  #rotate(kind: KeyKind, tenantId: string): number {
    const versions = this.#versions(kind, tenantId);
    const next = checkVersion(this.#current(kind, tenantId) + 1);
    versions.set(next, randomBytes(32));
    return next;
  }

  async tokenizationHmac(tenantId: string, version: number, message: Uint8Array): Promise<Uint8Array> {
    const key = this.#key("tok", tenantId, version);
    return new Uint8Array(createHmac("sha256", key).update(message).digest());
  }

  async currentTokenizationVersion(tenantId: string): Promise<number> {
    return this.#current("tok", tenantId);
  }

  async rotateTokenizationKey(tenantId: string): Promise<number> {
    return this.#rotate("tok", tenantId);
  }

  async generateDataKey(
    tenantId: string,
  ): Promise<{ plaintext: Uint8Array; wrapped: Uint8Array; kekVersion: number }> {
    const kekVersion = this.#current("kek", tenantId);
    const plaintext = new Uint8Array(randomBytes(DATA_KEY_BYTES));
    return { plaintext, wrapped: kwpWrap(this.#key("kek", tenantId, kekVersion), plaintext), kekVersion };
  }

  async unwrapDataKey(tenantId: string, wrapped: Uint8Array, kekVersion: number): Promise<Uint8Array> {
    const kek = this.#key("kek", tenantId, kekVersion);
    if (wrapped.byteLength !== WRAPPED_DATA_KEY_BYTES) {
      throw new KeystoreError("ERR_KEY_UNWRAP", "the wrapped key does not unwrap");
    }
    const plaintext = kwpUnwrap(kek, wrapped);
    if (plaintext.byteLength !== DATA_KEY_BYTES) {
      plaintext.fill(0);
      throw new KeystoreError("ERR_KEY_UNWRAP", "the wrapped key is not an AES-256 key");
    }
    return plaintext;
  }

  async rotateKek(tenantId: string): Promise<number> {
    return this.#rotate("kek", tenantId);
  }

  async rewrapDataKey(
    tenantId: string,
    wrapped: Uint8Array,
    fromVersion: number,
  ): Promise<{ wrapped: Uint8Array; kekVersion: number }> {
    const plaintext = await this.unwrapDataKey(tenantId, wrapped, fromVersion);
    try {
      const kekVersion = this.#current("kek", tenantId);
      return { wrapped: kwpWrap(this.#key("kek", tenantId, kekVersion), plaintext), kekVersion };
    } finally {
      plaintext.fill(0);
    }
  }

  async destroyTenant(tenantId: string): Promise<void> {
    for (const kind of ["tok", "kek"] as const) {
      const group = `${kind}/${checkTenantId(tenantId)}`;
      for (const key of this.#keys.get(group)?.values() ?? []) key.fill(0);
      this.#keys.delete(group);
    }
  }

  async close(): Promise<void> {
    for (const versions of this.#keys.values()) for (const key of versions.values()) key.fill(0);
    this.#keys.clear();
  }
}
