/**
 * The tokenizer's keystore against a real SoftHSM2 token (a private token directory per run,
 * scripts/lib/dev-hsm.ts) and, for parity, the dev-only in-memory stand-in. The HSM properties
 * are checked with PKCS#11 itself, from a second pkcs11js handle on the same token: tenant keys
 * refuse C_GetAttributeValue(CKA_VALUE), refuse to become extractable or non-sensitive, refuse to
 * be wrapped out, and no data key outlives its operation as a session object. Throughput of the
 * HSM paths is measured and printed (the numbers go in the report, not in assertions beyond a
 * floor that catches a pathological regression).
 */
import { createHmac } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pkcs11js from "pkcs11js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DevHsm, ensureDevHsm, readDevPin } from "../../scripts/lib/dev-hsm.ts";
import {
  type Keystore,
  KeystoreError,
  keystoreConfigFromEnv,
} from "../../services/tokenizer/keys/keystore.ts";
import { Pkcs11Keystore } from "../../services/tokenizer/keys/pkcs11-keystore.ts";
import { kwpWrap, SoftwareDevKeystore } from "../../services/tokenizer/keys/software-keystore.ts";

const P = pkcs11js;
type Pkcs11 = InstanceType<typeof pkcs11js.PKCS11>;

let root: string;
let hsm: DevHsm;
let hsmStore: Pkcs11Keystore;
let devStore: SoftwareDevKeystore;
/** a second, independent view of the token: what an attacker with the PIN could ask for */
let raw: Pkcs11;
let rawSession: Buffer;

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), "facet-keys-"));
  const made = ensureDevHsm(join(root, "hsm"));
  if (!made) throw new Error("SoftHSM2 is required for these tests: apt-get install softhsm2");
  hsm = made;
  // SoftHSM reads its config at C_Initialize: point this process at the private token first.
  process.env.SOFTHSM2_CONF = hsm.conf;
  hsmStore = Pkcs11Keystore.open({
    kind: "pkcs11",
    module: hsm.module,
    tokenLabel: hsm.tokenLabel,
    pin: { file: hsm.pinFile },
    sessions: 4,
  });
  devStore = new SoftwareDevKeystore({ TOKENIZER_DEV_MODE: "1" });

  raw = new P.PKCS11();
  raw.load(hsm.module);
  try {
    raw.C_Initialize({ flags: P.CKF_OS_LOCKING_OK });
  } catch (error) {
    // the keystore initialised the module in this process already (v2.40 §5.4)
    if (!String(error).includes("CKR_CRYPTOKI_ALREADY_INITIALIZED")) throw error;
  }
  const slot = raw.C_GetSlotList(true).find((s) => raw.C_GetTokenInfo(s).label.trim() === hsm.tokenLabel);
  if (!slot) throw new Error("dev token not found");
  rawSession = raw.C_OpenSession(slot, P.CKF_SERIAL_SESSION | P.CKF_RW_SESSION);
  try {
    raw.C_Login(rawSession, P.CKU_USER, readDevPin(hsm));
  } catch (error) {
    if (!String(error).includes("CKR_USER_ALREADY_LOGGED_IN")) throw error;
  }
});

afterAll(async () => {
  raw?.C_CloseSession(rawSession);
  await hsmStore?.close();
  await devStore?.close();
  rmSync(root, { recursive: true, force: true });
});

function find(template: Array<{ type: number; value: boolean | number | string | Buffer }>): Buffer[] {
  raw.C_FindObjectsInit(rawSession, [{ type: P.CKA_CLASS, value: P.CKO_SECRET_KEY }, ...template]);
  try {
    return raw.C_FindObjects(rawSession, 1000);
  } finally {
    raw.C_FindObjectsFinal(rawSession);
  }
}

function byLabel(label: string): Buffer {
  const [handle, ...more] = find([{ type: P.CKA_LABEL, value: label }]);
  expect(more).toHaveLength(0);
  if (!handle) throw new Error(`no object labelled ${label}`);
  return handle;
}

function ckrOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    return /CKR_[A-Z_]+/.exec(String(error))?.[0] ?? String(error);
  }
  return "no error";
}

function bool(handle: Buffer, type: number): boolean {
  const [attr] = raw.C_GetAttributeValue(rawSession, handle, [{ type }]);
  return attr?.value[0] === 1;
}

async function rejectsWith(promise: Promise<unknown>, code: string): Promise<void> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(KeystoreError);
  expect((error as KeystoreError).code).toBe(code);
}

let tenantSeq = 0;
const tenant = (name: string): string => `ten_${name}_${++tenantSeq}`;

describe("PKCS#11 key custody (SoftHSM2)", () => {
  it("tokenization keys and KEKs cannot be read, made extractable, made non-sensitive or wrapped out", async () => {
    const t = tenant("custody");
    await hsmStore.tokenizationHmac(t, 1, new Uint8Array([1]));
    await hsmStore.generateDataKey(t);
    const tok = byLabel(`facet/tok/${t}/v1`);
    const kek = byLabel(`facet/kek/${t}/v1`);
    for (const key of [tok, kek]) {
      expect(ckrOf(() => raw.C_GetAttributeValue(rawSession, key, [{ type: P.CKA_VALUE }]))).toBe(
        "CKR_ATTRIBUTE_SENSITIVE",
      );
      // PKCS#11 v2.40 §4.10: EXTRACTABLE may only change to false, SENSITIVE only to true
      expect(
        ckrOf(() => raw.C_SetAttributeValue(rawSession, key, [{ type: P.CKA_EXTRACTABLE, value: true }])),
      ).toBe("CKR_ATTRIBUTE_READ_ONLY");
      expect(
        ckrOf(() => raw.C_SetAttributeValue(rawSession, key, [{ type: P.CKA_SENSITIVE, value: false }])),
      ).toBe("CKR_ATTRIBUTE_READ_ONLY");
      expect(bool(key, P.CKA_TOKEN)).toBe(true);
      expect(bool(key, P.CKA_PRIVATE)).toBe(true);
      expect(bool(key, P.CKA_ALWAYS_SENSITIVE)).toBe(true);
      expect(bool(key, P.CKA_NEVER_EXTRACTABLE)).toBe(true);
    }
    // Wrapping is the other way out; C_WrapKey refuses a non-extractable key.
    expect(
      ckrOf(() =>
        raw.C_WrapKey(rawSession, { mechanism: P.CKM_AES_KEY_WRAP_PAD }, kek, tok, Buffer.alloc(64)),
      ),
    ).toBe("CKR_KEY_UNEXTRACTABLE");
    // Each key does one job only.
    expect([
      bool(tok, P.CKA_SIGN),
      bool(tok, P.CKA_WRAP),
      bool(tok, P.CKA_ENCRYPT),
      bool(tok, P.CKA_DERIVE),
    ]).toEqual([true, false, false, false]);
    expect([
      bool(kek, P.CKA_WRAP),
      bool(kek, P.CKA_UNWRAP),
      bool(kek, P.CKA_SIGN),
      bool(kek, P.CKA_ENCRYPT),
    ]).toEqual([true, true, false, false]);
  });

  it("leaves no data key behind as a session object", async () => {
    const t = tenant("sessionobjects");
    const { wrapped } = await hsmStore.generateDataKey(t);
    await hsmStore.unwrapDataKey(t, wrapped, 1);
    await hsmStore.rotateKek(t);
    await hsmStore.rewrapDataKey(t, wrapped, 1);
    await rejectsWith(
      hsmStore.unwrapDataKey(
        t,
        wrapped.map((b, i) => (i === 3 ? b ^ 1 : b)),
        1,
      ),
      "ERR_KEY_UNWRAP",
    );
    expect(find([{ type: P.CKA_TOKEN, value: false }])).toHaveLength(0);
  });

  it("speaks standard algorithms: CKM_AES_KEY_WRAP_PAD is RFC 5649, CKM_SHA256_HMAC is RFC 2104", async () => {
    // A throw-away, readable KEK as a session object: only to compare SoftHSM's output with node:crypto.
    const kekBytes = Buffer.alloc(32, 7);
    const dataBytes = Buffer.alloc(32, 9);
    const secret = (value: Buffer, extra: Array<{ type: number; value: boolean }>, type = P.CKK_AES) =>
      raw.C_CreateObject(rawSession, [
        { type: P.CKA_CLASS, value: P.CKO_SECRET_KEY },
        { type: P.CKA_KEY_TYPE, value: type },
        { type: P.CKA_TOKEN, value: false },
        { type: P.CKA_VALUE, value },
        ...extra,
      ]);
    const kek = secret(kekBytes, [{ type: P.CKA_WRAP, value: true }]);
    const data = secret(dataBytes, [{ type: P.CKA_EXTRACTABLE, value: true }]);
    const mac = secret(kekBytes, [{ type: P.CKA_SIGN, value: true }], P.CKK_GENERIC_SECRET);
    try {
      const wrapped = raw.C_WrapKey(
        rawSession,
        { mechanism: P.CKM_AES_KEY_WRAP_PAD },
        kek,
        data,
        Buffer.alloc(64),
      );
      expect(Buffer.from(wrapped)).toEqual(Buffer.from(kwpWrap(kekBytes, dataBytes)));
      raw.C_SignInit(rawSession, { mechanism: P.CKM_SHA256_HMAC }, mac);
      const tag = await raw.C_SignAsync(rawSession, Buffer.from("facet"), Buffer.alloc(32));
      expect(tag).toEqual(createHmac("sha256", kekBytes).update("facet").digest());
    } finally {
      for (const object of [kek, data, mac]) raw.C_DestroyObject(rawSession, object);
    }
  });

  it("creates a tenant's first KEK once under 50 concurrent data-key requests", async () => {
    const t = tenant("burst");
    const keys = await Promise.all(Array.from({ length: 50 }, () => hsmStore.generateDataKey(t)));
    expect(new Set(keys.map((k) => k.kekVersion))).toEqual(new Set([1]));
    expect(new Set(keys.map((k) => Buffer.from(k.plaintext).toString("hex"))).size).toBe(50);
    expect(find([{ type: P.CKA_ID, value: Buffer.from(`facet/kek/${t}`) }])).toHaveLength(1);
    const back = await Promise.all(keys.map((k) => hsmStore.unwrapDataKey(t, k.wrapped, k.kekVersion)));
    for (const [i, plaintext] of back.entries()) {
      expect(Buffer.from(plaintext)).toEqual(Buffer.from(keys[i]?.plaintext ?? []));
    }
  });

  it("destroying a tenant removes every token object of it", async () => {
    const t = tenant("shred");
    await hsmStore.generateDataKey(t);
    await hsmStore.rotateKek(t);
    await hsmStore.tokenizationHmac(t, 1, new Uint8Array(1));
    await hsmStore.rotateTokenizationKey(t);
    expect(find([{ type: P.CKA_ID, value: Buffer.from(`facet/kek/${t}`) }])).toHaveLength(2);
    expect(find([{ type: P.CKA_ID, value: Buffer.from(`facet/tok/${t}`) }])).toHaveLength(2);
    await hsmStore.destroyTenant(t);
    expect(find([{ type: P.CKA_ID, value: Buffer.from(`facet/kek/${t}`) }])).toHaveLength(0);
    expect(find([{ type: P.CKA_ID, value: Buffer.from(`facet/tok/${t}`) }])).toHaveLength(0);
  });

  it("measures HMAC, data-key and unwrap throughput", async () => {
    const t = tenant("bench");
    const message = new Uint8Array(64).fill(5);
    const wrapped = (await hsmStore.generateDataKey(t)).wrapped;
    await hsmStore.tokenizationHmac(t, 1, message);
    const rate = async (name: string, n: number, parallel: number, op: () => Promise<unknown>) => {
      const started = performance.now();
      let left = n;
      await Promise.all(
        Array.from({ length: parallel }, async () => {
          while (left-- > 0) await op();
        }),
      );
      const perSecond = Math.round(n / ((performance.now() - started) / 1000));
      console.log(`keystore pkcs11 ${name} (${parallel} in flight): ${perSecond} ops/s`);
      return perSecond;
    };
    const results = [
      await rate("HMAC-SHA256 64 B", 4000, 1, () => hsmStore.tokenizationHmac(t, 1, message)),
      await rate("HMAC-SHA256 64 B", 4000, 8, () => hsmStore.tokenizationHmac(t, 1, message)),
      await rate("generate+wrap data key", 2000, 1, () => hsmStore.generateDataKey(t)),
      await rate("generate+wrap data key", 2000, 8, () => hsmStore.generateDataKey(t)),
      await rate("unwrap data key", 2000, 8, () => hsmStore.unwrapDataKey(t, wrapped, 1)),
    ];
    for (const perSecond of results) expect(perSecond).toBeGreaterThan(200);
  });
});

describe.each([
  ["pkcs11", () => hsmStore as Keystore],
  ["software-dev", () => devStore as Keystore],
])("keystore contract: %s", (_name, store) => {
  it("round-trips a data key through wrap and unwrap", async () => {
    const t = tenant("roundtrip");
    const key = await store().generateDataKey(t);
    expect(key.plaintext.byteLength).toBe(32);
    expect(key.wrapped.byteLength).toBe(40);
    expect(key.kekVersion).toBe(1);
    const back = await store().unwrapDataKey(t, key.wrapped, 1);
    expect(Buffer.from(back)).toEqual(Buffer.from(key.plaintext));
  });

  it("refuses tampered, truncated and foreign wrapped keys with ERR_KEY_UNWRAP", async () => {
    const t = tenant("tamper");
    const other = tenant("other");
    const { wrapped } = await store().generateDataKey(t);
    await store().generateDataKey(other);
    for (const at of [0, 7, 8, 20, 39]) {
      const tampered = Uint8Array.from(wrapped);
      tampered[at] = (tampered[at] ?? 0) ^ 0x01;
      await rejectsWith(store().unwrapDataKey(t, tampered, 1), "ERR_KEY_UNWRAP");
    }
    await rejectsWith(store().unwrapDataKey(t, wrapped.subarray(0, 32), 1), "ERR_KEY_UNWRAP");
    await rejectsWith(store().unwrapDataKey(other, wrapped, 1), "ERR_KEY_UNWRAP");
    await rejectsWith(store().unwrapDataKey(t, wrapped, 2), "ERR_KEY_NOT_FOUND");
    await rejectsWith(store().unwrapDataKey(tenant("nobody"), wrapped, 1), "ERR_KEY_NOT_FOUND");
  });

  it("rotates the KEK without downtime: old blobs unwrap by version, rewrap moves them", async () => {
    const t = tenant("kek");
    const old = await store().generateDataKey(t);
    expect(await store().rotateKek(t)).toBe(2);
    expect(Buffer.from(await store().unwrapDataKey(t, old.wrapped, 1))).toEqual(Buffer.from(old.plaintext));
    await rejectsWith(store().unwrapDataKey(t, old.wrapped, 2), "ERR_KEY_UNWRAP");
    const moved = await store().rewrapDataKey(t, old.wrapped, 1);
    expect(moved.kekVersion).toBe(2);
    expect(Buffer.from(moved.wrapped)).not.toEqual(Buffer.from(old.wrapped));
    expect(Buffer.from(await store().unwrapDataKey(t, moved.wrapped, 2))).toEqual(Buffer.from(old.plaintext));
    expect((await store().generateDataKey(t)).kekVersion).toBe(2);
    await rejectsWith(
      store().rewrapDataKey(
        t,
        old.wrapped.map((b) => b ^ 0xff),
        1,
      ),
      "ERR_KEY_UNWRAP",
    );
  });

  it("HMAC is deterministic per (tenant, version) and differs across versions and tenants", async () => {
    const a = tenant("hmac-a");
    const b = tenant("hmac-b");
    const message = new TextEncoder().encode("facet/biohash/v1/seed");
    expect(await store().currentTokenizationVersion(a)).toBe(1);
    const a1 = Buffer.from(await store().tokenizationHmac(a, 1, message));
    expect(a1).toHaveLength(32);
    expect(Buffer.from(await store().tokenizationHmac(a, 1, message))).toEqual(a1);
    expect(Buffer.from(await store().tokenizationHmac(a, 1, new Uint8Array(0)))).not.toEqual(a1);
    await rejectsWith(store().tokenizationHmac(a, 2, message), "ERR_KEY_NOT_FOUND");
    expect(await store().rotateTokenizationKey(a)).toBe(2);
    expect(await store().currentTokenizationVersion(a)).toBe(2);
    const a2 = Buffer.from(await store().tokenizationHmac(a, 2, message));
    expect(a2).not.toEqual(a1);
    expect(Buffer.from(await store().tokenizationHmac(a, 1, message))).toEqual(a1); // old version still matches
    const b1 = Buffer.from(await store().tokenizationHmac(b, 1, message));
    expect(b1).not.toEqual(a1);
  });

  it("crypto-shreds a tenant: wrapped keys and token versions are gone for good", async () => {
    const t = tenant("destroy");
    const key = await store().generateDataKey(t);
    const message = new Uint8Array([1, 2, 3]);
    const before = Buffer.from(await store().tokenizationHmac(t, 1, message));
    await store().rotateTokenizationKey(t);
    await store().destroyTenant(t);
    await rejectsWith(store().unwrapDataKey(t, key.wrapped, 1), "ERR_KEY_NOT_FOUND");
    await rejectsWith(store().tokenizationHmac(t, 2, message), "ERR_KEY_NOT_FOUND");
    // a later first use makes a new, unrelated key: old tokens do not match and old blobs do not open
    expect(Buffer.from(await store().tokenizationHmac(t, 1, message))).not.toEqual(before);
    await store().generateDataKey(t);
    await rejectsWith(store().unwrapDataKey(t, key.wrapped, 1), "ERR_KEY_UNWRAP");
  });

  it("rejects tenant ids that could forge a label, and versions out of range", async () => {
    for (const bad of ["", "a/b", "../x", "ten 1", "é", "x".repeat(65)]) {
      await rejectsWith(store().generateDataKey(bad), "ERR_KEY_INPUT");
    }
    await rejectsWith(store().tokenizationHmac("ok", 0, new Uint8Array(1)), "ERR_KEY_INPUT");
    await rejectsWith(store().tokenizationHmac("ok", 1.5, new Uint8Array(1)), "ERR_KEY_INPUT");
  });
});

describe("keystore configuration", () => {
  it("refuses to run without a PKCS#11 module unless dev mode is explicit", () => {
    expect(keystoreConfigFromEnv({})).toMatch(/TOKENIZER_PKCS11_MODULE/);
    expect(keystoreConfigFromEnv({ TOKENIZER_DEV_MODE: "true" })).toMatch(/TOKENIZER_DEV_MODE=1/);
    expect(keystoreConfigFromEnv({ TOKENIZER_DEV_MODE: "1" })).toEqual({ kind: "software-dev" });
    expect(() => new SoftwareDevKeystore({})).toThrow(/development only/);
    expect(
      keystoreConfigFromEnv({
        TOKENIZER_DEV_MODE: "1",
        TOKENIZER_PKCS11_MODULE: "/m.so",
        TOKENIZER_PKCS11_TOKEN_LABEL: "t",
        TOKENIZER_PKCS11_PIN_FILE: "/p",
      }),
    ).toEqual({ kind: "pkcs11", module: "/m.so", tokenLabel: "t", pin: { file: "/p" }, sessions: 4 });
    expect(
      keystoreConfigFromEnv({ TOKENIZER_PKCS11_MODULE: "/m.so", TOKENIZER_PKCS11_TOKEN_LABEL: "t" }),
    ).toMatch(/PIN/);
  });

  it("fails to open an unknown token label", () => {
    // (a wrong PIN is checked against the service process: in this process the token is logged in)
    expect(() =>
      Pkcs11Keystore.open({
        kind: "pkcs11",
        module: hsm.module,
        tokenLabel: "no-such-token",
        pin: { value: readDevPin(hsm) },
        sessions: 1,
      }),
    ).toThrow(/no PKCS#11 token with that label/);
  });
});
