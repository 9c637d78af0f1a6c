/**
 * The key API of the tokenization service (kms-routes.ts), end to end: the real service process
 * on a private SoftHSM2 token, called over real mutual TLS 1.3 (support.ts). Each case asserts the
 * whole contract — status, `Cache-Control: no-store`, problem+json code, the effect on later
 * calls — and the log is searched for key material and tenant ids. Also: the service refuses to
 * start without a key store, or with a wrong PIN, saying why and never echoing the PIN.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureDevCerts } from "../../scripts/lib/dev-certs.ts";
import { devKeystoreEnv } from "../../scripts/lib/dev-hsm.ts";
import { call, REPO, type Reply, type RunningService, startService } from "./support.ts";

let service: RunningService;
beforeAll(async () => {
  service = await startService({ TOKENIZER_FACE: "none" });
  expect(service.stderr()).not.toContain("DEV ONLY"); // SoftHSM2 backs this run, not memory
});
afterAll(async () => {
  expect(await service.stop()).toBe(0);
});

const JSON_HEADERS = { "content-type": "application/json" };

function post(path: string, body: unknown, headers: Record<string, string> = JSON_HEADERS): Promise<Reply> {
  return call(service, { path, headers, body: Buffer.from(JSON.stringify(body)) });
}

interface DataKey {
  plaintext: string;
  wrapped: string;
  kekVersion: number;
}

function expectOk(reply: Reply, status = 200): void {
  expect(reply.status, reply.body.toString()).toBe(status);
  expect(reply.headers["cache-control"]).toBe("no-store");
  if (status !== 204) expect(reply.headers["content-type"]).toBe("application/json");
}

function expectProblem(reply: Reply, status: number, code: string): void {
  expect(reply.status, reply.body.toString()).toBe(status);
  expect(reply.headers["cache-control"]).toBe("no-store");
  expect(reply.headers["content-type"]).toBe("application/problem+json");
  expect(reply.json()).toMatchObject({ type: `urn:facet:tokenizer:${code}`, status, code });
}

async function dataKey(tenantId: string): Promise<DataKey> {
  const reply = await post("/v1/keys/data-key", { tenantId });
  expectOk(reply);
  return reply.json() as DataKey;
}

const flip = (b64: string, at: number): string => {
  const bytes = Buffer.from(b64, "base64");
  bytes[at] = (bytes[at] ?? 0) ^ 0x80;
  return bytes.toString("base64");
};

const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/** Same bytes, but a padding bit set: base64 that lenient decoders accept and we must not. */
function nonCanonical(b64: string): string {
  expect(b64.endsWith("==")).toBe(true); // 40 bytes = 13 × 3 + 1
  const last = B64[B64.indexOf(b64.at(-3) ?? "A") | 1] ?? "B";
  return `${b64.slice(0, -3)}${last}==`;
}

describe("key API over mTLS", () => {
  it("issues a data key and unwraps it again", async () => {
    const key = await dataKey("ten_roundtrip");
    expect(Object.keys(key).sort()).toEqual(["kekVersion", "plaintext", "wrapped"]);
    expect(Buffer.from(key.plaintext, "base64")).toHaveLength(32);
    expect(Buffer.from(key.wrapped, "base64")).toHaveLength(40);
    expect(key.kekVersion).toBe(1);
    const reply = await post("/v1/keys/unwrap", {
      tenantId: "ten_roundtrip",
      wrapped: key.wrapped,
      kekVersion: 1,
    });
    expectOk(reply);
    expect(reply.json()).toEqual({ plaintext: key.plaintext });
  });

  it("answers 422 ERR_KEY_UNWRAP for tampered blobs and for another tenant's blob", async () => {
    const key = await dataKey("ten_tamper");
    await dataKey("ten_neighbour");
    for (const at of [0, 12, 39]) {
      const reply = await post("/v1/keys/unwrap", {
        tenantId: "ten_tamper",
        wrapped: flip(key.wrapped, at),
        kekVersion: 1,
      });
      expectProblem(reply, 422, "ERR_KEY_UNWRAP");
    }
    const short = Buffer.from(key.wrapped, "base64").subarray(0, 32).toString("base64");
    expectProblem(
      await post("/v1/keys/unwrap", { tenantId: "ten_tamper", wrapped: short, kekVersion: 1 }),
      422,
      "ERR_KEY_UNWRAP",
    );
    expectProblem(
      await post("/v1/keys/unwrap", { tenantId: "ten_neighbour", wrapped: key.wrapped, kekVersion: 1 }),
      422,
      "ERR_KEY_UNWRAP",
    );
    expectProblem(
      await post("/v1/keys/unwrap", { tenantId: "ten_tamper", wrapped: key.wrapped, kekVersion: 9 }),
      404,
      "ERR_KEY_NOT_FOUND",
    );
  });

  it("rotates the KEK, still unwraps old blobs by version, and rewraps them", async () => {
    const tenantId = "ten_rotate";
    const old = await dataKey(tenantId);
    const rotated = await post("/v1/keys/rotate", { tenantId, kind: "kek" });
    expectOk(rotated);
    expect(rotated.json()).toEqual({ version: 2 });
    const stillOld = await post("/v1/keys/unwrap", { tenantId, wrapped: old.wrapped, kekVersion: 1 });
    expect(stillOld.json()).toEqual({ plaintext: old.plaintext });
    const rewrap = await post("/v1/keys/rewrap", { tenantId, wrapped: old.wrapped, kekVersion: 1 });
    expectOk(rewrap);
    const moved = rewrap.json() as { wrapped: string; kekVersion: number };
    expect(Object.keys(moved).sort()).toEqual(["kekVersion", "wrapped"]); // never the plaintext
    expect(moved.kekVersion).toBe(2);
    const viaNew = await post("/v1/keys/unwrap", { tenantId, wrapped: moved.wrapped, kekVersion: 2 });
    expect(viaNew.json()).toEqual({ plaintext: old.plaintext });
    expect((await dataKey(tenantId)).kekVersion).toBe(2);
    const tok = await post("/v1/keys/rotate", { tenantId, kind: "tokenization" });
    expectOk(tok);
    expect(tok.json()).toEqual({ version: 2 });
  });

  it("crypto-shreds a tenant with DELETE: 204, then its blobs no longer unwrap", async () => {
    const tenantId = "ten_shred";
    const key = await dataKey(tenantId);
    const reply = await call(service, { method: "DELETE", path: `/v1/keys/tenants/${tenantId}` });
    expectOk(reply, 204);
    expect(reply.body).toHaveLength(0);
    expectProblem(
      await post("/v1/keys/unwrap", { tenantId, wrapped: key.wrapped, kekVersion: 1 }),
      404,
      "ERR_KEY_NOT_FOUND",
    );
    expectOk(await call(service, { method: "DELETE", path: `/v1/keys/tenants/${tenantId}` }), 204); // idempotent
  });

  it("serves 50 parallel data-key requests", async () => {
    const keys = await Promise.all(Array.from({ length: 50 }, () => dataKey("ten_parallel")));
    expect(new Set(keys.map((k) => k.plaintext)).size).toBe(50);
    expect(new Set(keys.map((k) => k.kekVersion))).toEqual(new Set([1]));
    const back = await Promise.all(
      keys.map((k) =>
        post("/v1/keys/unwrap", { tenantId: "ten_parallel", wrapped: k.wrapped, kekVersion: 1 }),
      ),
    );
    for (const [i, reply] of back.entries()) expect(reply.json()).toEqual({ plaintext: keys[i]?.plaintext });
  });

  it("validates every input and names the problem", async () => {
    const key = await dataKey("ten_validate");
    const bad: Array<[string, unknown]> = [
      ["/v1/keys/data-key", { tenantId: "a/b" }],
      ["/v1/keys/data-key", { tenantId: "x".repeat(65) }],
      ["/v1/keys/data-key", { tenantId: "ok", extra: 1 }],
      ["/v1/keys/data-key", {}],
      ["/v1/keys/unwrap", { tenantId: "ten_validate", wrapped: key.wrapped, kekVersion: 0 }],
      ["/v1/keys/unwrap", { tenantId: "ten_validate", wrapped: key.wrapped, kekVersion: "1" }],
      ["/v1/keys/unwrap", { tenantId: "ten_validate", wrapped: "not base64!", kekVersion: 1 }],
      ["/v1/keys/unwrap", { tenantId: "ten_validate", wrapped: nonCanonical(key.wrapped), kekVersion: 1 }],
      ["/v1/keys/rotate", { tenantId: "ten_validate", kind: "everything" }],
    ];
    for (const [path, body] of bad) expectProblem(await post(path, body), 400, "ERR_VALIDATION");
    expectProblem(
      await call(service, { path: "/v1/keys/data-key", headers: JSON_HEADERS, body: Buffer.from("{") }),
      400,
      "ERR_VALIDATION",
    );
    expectProblem(
      await post("/v1/keys/data-key", { tenantId: "ok" }, { "content-type": "text/plain" }),
      415,
      "ERR_UNSUPPORTED_MEDIA_TYPE",
    );
    expectProblem(
      await post("/v1/keys/data-key", { tenantId: "x".repeat(20_000) }),
      413,
      "ERR_BODY_TOO_LARGE",
    );
    const get = await call(service, { method: "GET", path: "/v1/keys/data-key" });
    expectProblem(get, 405, "ERR_METHOD_NOT_ALLOWED");
    expect(get.headers.allow).toBe("POST");
    expectProblem(
      await call(service, { method: "DELETE", path: "/v1/keys/tenants/a%2Fb" }),
      400,
      "ERR_VALIDATION",
    );
    expectProblem(await post("/v1/keys/nothing", { tenantId: "ok" }), 404, "ERR_NOT_FOUND");
  });

  it("refuses clients without a valid client certificate", async () => {
    await expect(
      call(service, {
        path: "/v1/keys/data-key",
        headers: JSON_HEADERS,
        body: Buffer.from("{}"),
        client: null,
      }),
    ).rejects.toBeInstanceOf(Error);
    await expect(
      call(service, {
        path: "/v1/keys/data-key",
        headers: JSON_HEADERS,
        body: Buffer.from('{"tenantId":"ten_x"}'),
        client: service.certs.foreignClient,
      }),
    ).rejects.toBeInstanceOf(Error);
  });

  it("logs route templates and sizes, never key material, bodies or tenant ids", async () => {
    const tenantId = "ten_canary_log";
    const key = await dataKey(tenantId);
    await post("/v1/keys/unwrap", { tenantId, wrapped: key.wrapped, kekVersion: 1 });
    await call(service, { method: "DELETE", path: `/v1/keys/tenants/${tenantId}` });
    const log = service.stderr() + service.stdout();
    for (const secret of [
      key.plaintext,
      key.wrapped,
      tenantId,
      Buffer.from(key.plaintext, "base64").toString("hex"),
    ]) {
      expect(log).not.toContain(secret);
    }
    expect(log).toContain('"route":"DELETE /v1/keys/tenants/:tenantId","status":204');
    expect(log).toContain('"route":"POST /v1/keys/unwrap","status":200');
  });
});

/** Runs the service expecting it to exit; resolves with the exit code and stderr. */
function runToExit(
  env: Record<string, string>,
): Promise<{ code: number | null; stderr: string; stdout: string }> {
  const child = spawn(process.execPath, [join(REPO, "services/tokenizer/main.ts"), "--port", "0"], {
    env: { PATH: process.env.PATH ?? "", TOKENIZER_FACE: "none", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  let stdout = "";
  child.stderr.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  child.stdout.on("data", (d: Buffer) => {
    stdout += d.toString();
  });
  const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
  return new Promise((resolve) =>
    child.on("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, stderr, stdout });
    }),
  );
}

describe("key store at startup", () => {
  let root: string;
  let tls: Record<string, string>;
  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), "facet-kms-start-"));
    const certs = ensureDevCerts(join(root, "certs"));
    tls = {
      TOKENIZER_TLS_CERT: certs.server.cert,
      TOKENIZER_TLS_KEY: certs.server.key,
      TOKENIZER_CLIENT_CA: certs.ca.cert,
    };
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it("refuses to start without a PKCS#11 module unless TOKENIZER_DEV_MODE=1", async () => {
    const { code, stderr, stdout } = await runToExit(tls);
    expect(code).not.toBe(0);
    expect(stdout).toBe("");
    const fatal = JSON.parse(stderr.trim().split("\n").at(-1) ?? "{}") as {
      fatal?: string;
      message?: string;
    };
    expect(fatal.fatal).toBe("config");
    expect(fatal.message).toMatch(/TOKENIZER_PKCS11_MODULE/);
    expect(fatal.message).toMatch(/TOKENIZER_DEV_MODE=1/);
  });

  it("refuses to start with a wrong PIN, without echoing it", async () => {
    const { env } = devKeystoreEnv(join(root, "hsm"));
    const { TOKENIZER_PKCS11_PIN_FILE: _file, ...rest } = env;
    const { code, stderr } = await runToExit({ ...tls, ...rest, TOKENIZER_PKCS11_PIN: "not-the-pin-4711" });
    expect(code).not.toBe(0);
    expect(stderr).toMatch(/"fatal":"keystore".*CKR_PIN_INCORRECT/);
    expect(stderr).not.toContain("not-the-pin-4711");
  });

  it("starts on the in-memory dev key store only when asked, and says so", async () => {
    const dev = await startService({ TOKENIZER_FACE: "none", TOKENIZER_DEV_MODE: "1" });
    try {
      expect(dev.stderr()).toMatch(/DEV ONLY: keys in process memory/);
      const reply = await call(dev, {
        path: "/v1/keys/data-key",
        headers: JSON_HEADERS,
        body: Buffer.from('{"tenantId":"ten_dev"}'),
      });
      expect(reply.status).toBe(200);
    } finally {
      expect(await dev.stop()).toBe(0);
    }
  });
});
