/**
 * The tokenizer's key custody contract (product-spec §7: fingerprints keyed by an HSM key, data
 * keys wrapped by the HSM, erasure = key destruction). Everything else in the service sees keys
 * only through `Keystore`: one operation per method, keys as names (tenant, version) and never as
 * bytes, except the data-key plaintext that `generateDataKey` / `unwrapDataKey` hand back for the
 * edge to use and forget (house-style 11).
 *
 * Two implementations: `pkcs11-keystore.ts` (production; any PKCS#11 v2.40 token, SoftHSM2 in
 * dev and CI) and `software-keystore.ts` (in-memory, DEV ONLY, refused unless
 * TOKENIZER_DEV_MODE=1). Keys are per tenant and per version, named by label
 * `facet/tok/<tenantId>/v<n>` (HMAC-SHA256 tokenization keys) and `facet/kek/<tenantId>/v<n>`
 * (AES-256 key-encryption keys). Data keys are AES-256, wrapped with AES Key Wrap with Padding
 * (RFC 5649; NIST SP 800-38F §6.3 KWP), so a wrapped key is 40 bytes and carries its own
 * integrity check: a tampered blob, a blob of another tenant or of another KEK version fails to
 * unwrap rather than yielding a wrong key.
 */

export interface Keystore {
  readonly kind: "pkcs11" | "software-dev";
  /** HMAC-SHA256 under the tenant's tokenization key of that version (created on first use of version 1) */
  tokenizationHmac(tenantId: string, version: number, message: Uint8Array): Promise<Uint8Array>;
  currentTokenizationVersion(tenantId: string): Promise<number>;
  /** creates version n+1 and makes it current; old versions stay usable for matching until destroyed */
  rotateTokenizationKey(tenantId: string): Promise<number>;
  /** AES-256 data key: plaintext (for the edge to use, then forget) + wrapped under the tenant's current KEK */
  generateDataKey(
    tenantId: string,
  ): Promise<{ plaintext: Uint8Array; wrapped: Uint8Array; kekVersion: number }>;
  unwrapDataKey(tenantId: string, wrapped: Uint8Array, kekVersion: number): Promise<Uint8Array>;
  /** new KEK version for the tenant; rewrap(old) → wrapped under the new one, for rotation without downtime */
  rotateKek(tenantId: string): Promise<number>;
  rewrapDataKey(
    tenantId: string,
    wrapped: Uint8Array,
    fromVersion: number,
  ): Promise<{ wrapped: Uint8Array; kekVersion: number }>;
  /** destroys every key of the tenant (crypto-shredding) */
  destroyTenant(tenantId: string): Promise<void>;
  close(): Promise<void>;
}

export const KEYSTORE_ERROR_CODES = [
  /** the wrapped key failed RFC 5649 integrity (tampered, other tenant, other KEK version) */
  "ERR_KEY_UNWRAP",
  /** no key of that tenant and version (never created, or destroyed) */
  "ERR_KEY_NOT_FOUND",
  /** a tenant id, version or wrapped-key length outside what this module accepts */
  "ERR_KEY_INPUT",
  /** the HSM refused or failed an operation that should have worked */
  "ERR_KEYSTORE_UNAVAILABLE",
] as const;
export type KeystoreErrorCode = (typeof KEYSTORE_ERROR_CODES)[number];

/** Typed keystore failure; `message` is written here and never carries key bytes or PINs. */
export class KeystoreError extends Error {
  override readonly name = "KeystoreError";
  readonly code: KeystoreErrorCode;
  constructor(code: KeystoreErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** Data keys are AES-256 (FIPS 197); wrapped with KWP they are 32 + 8 bytes (RFC 5649 §4.1). */
export const DATA_KEY_BYTES = 32;
export const WRAPPED_DATA_KEY_BYTES = 40;

/**
 * Tenant ids as lib/crypto/random.ts `newId` makes them (`ten_` + base64url). The charset keeps
 * `/` out, so a tenant id can never forge another tenant's label; the length bounds the label.
 */
const TENANT_ID = /^[A-Za-z0-9_-]{1,64}$/;
/** Versions are small positive integers; the bound keeps labels short and parsing exact. */
export const MAX_KEY_VERSION = 1_000_000;
/** Some HSMs cap CKA_LABEL (e.g. 32–128 bytes); ours are at most 10 + 64 + 2 + 7 = 83. */
export const MAX_LABEL_BYTES = 128;

export type KeyKind = "tok" | "kek";

export function checkTenantId(tenantId: string): string {
  if (typeof tenantId !== "string" || !TENANT_ID.test(tenantId)) {
    throw new KeystoreError("ERR_KEY_INPUT", "tenantId must be 1-64 characters of [A-Za-z0-9_-]");
  }
  return tenantId;
}

export function checkVersion(version: number): number {
  if (!Number.isSafeInteger(version) || version < 1 || version > MAX_KEY_VERSION) {
    throw new KeystoreError("ERR_KEY_INPUT", `key version must be an integer 1..${MAX_KEY_VERSION}`);
  }
  return version;
}

/** The CKA_ID shared by every version of one tenant's keys of one kind (finds all versions). */
export function keyGroup(kind: KeyKind, tenantId: string): string {
  return `facet/${kind}/${checkTenantId(tenantId)}`;
}

/** CKA_LABEL of one key version: `facet/<kind>/<tenantId>/v<n>`. */
export function keyLabel(kind: KeyKind, tenantId: string, version: number): string {
  const label = `${keyGroup(kind, tenantId)}/v${checkVersion(version)}`;
  if (Buffer.byteLength(label) > MAX_LABEL_BYTES) throw new KeystoreError("ERR_KEY_INPUT", "label too long");
  return label;
}

/** Inverse of keyLabel for one group; null for anything that is not exactly `<group>/v<n>`. */
export function labelVersion(group: string, label: string): number | null {
  const prefix = `${group}/v`;
  if (!label.startsWith(prefix)) return null;
  const digits = label.slice(prefix.length);
  if (!/^[1-9][0-9]{0,6}$/.test(digits)) return null;
  const version = Number(digits);
  return version <= MAX_KEY_VERSION ? version : null;
}

export type KeystoreConfig =
  | {
      kind: "pkcs11";
      /** path of the PKCS#11 module (.so) */
      module: string;
      tokenLabel: string;
      pin: { value: string } | { file: string };
      /** sessions in the pool: concurrent HSM operations */
      sessions: number;
    }
  | { kind: "software-dev" };

/**
 * Keystore settings from the environment, or a message saying what is missing. Without a
 * PKCS#11 module the service refuses to start unless TOKENIZER_DEV_MODE=1 asks for the in-memory
 * development keystore; a module, when given, always wins over dev mode.
 */
export function keystoreConfigFromEnv(env: NodeJS.ProcessEnv): KeystoreConfig | string {
  const module = env.TOKENIZER_PKCS11_MODULE;
  if (!module) {
    if (env.TOKENIZER_DEV_MODE === "1") return { kind: "software-dev" };
    return (
      "no key store: set TOKENIZER_PKCS11_MODULE (the HSM's PKCS#11 library, e.g. " +
      "/usr/lib/softhsm/libsofthsm2.so), TOKENIZER_PKCS11_TOKEN_LABEL and TOKENIZER_PKCS11_PIN " +
      "or TOKENIZER_PKCS11_PIN_FILE; TOKENIZER_DEV_MODE=1 allows an in-memory development key store " +
      "(never in production)"
    );
  }
  const tokenLabel = env.TOKENIZER_PKCS11_TOKEN_LABEL;
  if (!tokenLabel) return "TOKENIZER_PKCS11_TOKEN_LABEL is required with TOKENIZER_PKCS11_MODULE";
  const pinValue = env.TOKENIZER_PKCS11_PIN;
  const pinFile = env.TOKENIZER_PKCS11_PIN_FILE;
  if (!pinValue === !pinFile) return "set exactly one of TOKENIZER_PKCS11_PIN and TOKENIZER_PKCS11_PIN_FILE";
  const sessions = Number(env.TOKENIZER_PKCS11_SESSIONS ?? "4");
  if (!Number.isInteger(sessions) || sessions < 1 || sessions > 64) {
    return "TOKENIZER_PKCS11_SESSIONS must be 1..64";
  }
  return {
    kind: "pkcs11",
    module,
    tokenLabel,
    pin: pinValue ? { value: pinValue } : { file: pinFile ?? "" },
    sessions,
  };
}

/**
 * Opens the configured keystore. The PKCS#11 binding (a native addon) is imported only when a
 * module is configured, so dev mode runs where pkcs11js is not built.
 */
export async function openKeystore(config: KeystoreConfig): Promise<Keystore> {
  if (config.kind === "software-dev") {
    const { SoftwareDevKeystore } = await import("./software-keystore.ts");
    return new SoftwareDevKeystore(process.env);
  }
  const { Pkcs11Keystore } = await import("./pkcs11-keystore.ts");
  return Pkcs11Keystore.open(config);
}
