/**
 * KMS-style key API on the tokenizer's mTLS listener (server.ts mounts it under /v1/keys/), so the
 * edge gets envelope encryption (product-spec §7: per-subject and per-tenant data keys wrapped by
 * an HSM key; erasure = key destruction) without ever holding a KEK:
 *
 *   POST   /v1/keys/data-key          {tenantId}                      → {plaintext, wrapped, kekVersion}
 *   POST   /v1/keys/unwrap            {tenantId, wrapped, kekVersion} → {plaintext}
 *   POST   /v1/keys/rewrap            {tenantId, wrapped, kekVersion} → {wrapped, kekVersion}
 *   POST   /v1/keys/rotate            {tenantId, kind: kek|tokenization} → {version}
 *   DELETE /v1/keys/tenants/{tenantId}                                → 204 (crypto-shredding)
 *
 * Bytes travel as standard base64 (RFC 4648 §4). Bodies are JSON, at most 16 KiB, validated by
 * zod (house-style 4). Errors are RFC 9457 problem details rendered by errors.ts, whose one code
 * table also lists the key-specific codes. Replies are `Cache-Control: no-store`. A reply carrying a
 * plaintext data key is assembled byte by byte into one buffer (no JS string ever holds the key
 * or its base64) and that buffer and the key are zeroed once the socket has taken the bytes.
 * Nothing here logs; server.ts logs the route template, status and sizes — never bodies, key
 * material or tenant ids (the DELETE route is logged as `/v1/keys/tenants/:tenantId`).
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { z } from "zod";
import { drain, readBody } from "./body.ts";
import { type ErrorCode, type Problem, problemOf, TokenizerError } from "./errors.ts";
import { type Keystore, KeystoreError, MAX_KEY_VERSION, WRAPPED_DATA_KEY_BYTES } from "./keys/keystore.ts";

export const KEYS_PREFIX = "/v1/keys/";
export const MAX_KEYS_BODY_BYTES = 16 * 1024;

const TenantId = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, "1-64 characters of [A-Za-z0-9_-]");
const Version = z.number().int().min(1).max(MAX_KEY_VERSION);
/** A KWP-wrapped AES-256 key: 40 bytes, i.e. 56 base64 characters with one `=`. */
const Wrapped = z
  .string()
  .max(128)
  .regex(/^[A-Za-z0-9+/]+={0,2}$/, "standard base64");

const DataKeyBody = z.strictObject({ tenantId: TenantId });
const WrappedBody = z.strictObject({ tenantId: TenantId, wrapped: Wrapped, kekVersion: Version });
const RotateBody = z.strictObject({ tenantId: TenantId, kind: z.enum(["kek", "tokenization"]) });

export interface KeysOutcome {
  /** route template for the log (no tenant id) */
  route: string;
  status: number;
  bytesIn: number;
  bytesOut: number;
  code?: string;
}

const B64 = new TextEncoder().encode("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/");

/** RFC 4648 §4 base64 of `bytes`, written into `out` at `at`; returns the end offset. */
function base64Into(bytes: Uint8Array, out: Uint8Array, at: number): number {
  let o = at;
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = ((bytes[i] ?? 0) << 16) | ((bytes[i + 1] ?? 0) << 8) | (bytes[i + 2] ?? 0);
    out[o++] = B64[(n >>> 18) & 63] ?? 0;
    out[o++] = B64[(n >>> 12) & 63] ?? 0;
    out[o++] = B64[(n >>> 6) & 63] ?? 0;
    out[o++] = B64[n & 63] ?? 0;
  }
  const rest = bytes.length - i;
  if (rest > 0) {
    const n = ((bytes[i] ?? 0) << 16) | (rest === 2 ? (bytes[i + 1] ?? 0) << 8 : 0);
    out[o++] = B64[(n >>> 18) & 63] ?? 0;
    out[o++] = B64[(n >>> 12) & 63] ?? 0;
    out[o++] = rest === 2 ? (B64[(n >>> 6) & 63] ?? 0) : 0x3d;
    out[o++] = 0x3d;
  }
  return o;
}

/** A JSON object of base64 byte fields and number fields, built in one zeroizable buffer. */
function jsonWithSecrets(fields: Array<[string, Uint8Array | number]>): Buffer {
  const parts = fields.map(([name, value], index) => ({
    head: `${index === 0 ? "{" : ","}${JSON.stringify(name)}:`,
    value,
  }));
  let length = 1;
  for (const { head, value } of parts) {
    length +=
      Buffer.byteLength(head) +
      (typeof value === "number" ? String(value).length : 2 + 4 * Math.ceil(value.length / 3));
  }
  const out = Buffer.alloc(length); // never from the shared pool: we zero it afterwards
  let at = 0;
  for (const { head, value } of parts) {
    at += out.write(head, at, "latin1");
    if (typeof value === "number") {
      at += out.write(String(value), at, "latin1");
    } else {
      out[at++] = 0x22;
      at = base64Into(value, out, at);
      out[at++] = 0x22;
    }
  }
  out[at] = 0x7d;
  return out;
}

/** Decodes a schema-checked base64 field; a non-canonical encoding is refused. */
function fromBase64(text: string): Uint8Array {
  const bytes = Buffer.from(text, "base64");
  if (bytes.toString("base64") !== text)
    throw new TokenizerError("ERR_VALIDATION", "wrapped is not canonical base64");
  return new Uint8Array(bytes);
}

/** Any failure of a key route as problem details, in errors.ts's one table. */
function keysProblem(error: unknown): Problem {
  if (error instanceof KeystoreError) {
    const code: ErrorCode = error.code === "ERR_KEY_INPUT" ? "ERR_VALIDATION" : error.code;
    // the HSM's own return codes are internals: the caller learns only that it should retry
    return problemOf(
      code,
      code === "ERR_KEYSTORE_UNAVAILABLE" ? "the key store could not complete the operation" : error.message,
    );
  }
  if (!(error instanceof TokenizerError)) return problemOf("ERR_INTERNAL", "the key operation failed");
  // from readBody: the batch wording does not fit this API
  if (error.code === "ERR_BATCH_TOO_LARGE")
    return problemOf("ERR_BODY_TOO_LARGE", `body larger than ${MAX_KEYS_BODY_BYTES} bytes`);
  if (error.code === "ERR_EMPTY_BODY") return problemOf("ERR_EMPTY_BODY", "the body is empty");
  if (error.code === "ERR_BATCH_FORMAT") return problemOf("ERR_VALIDATION", "invalid Content-Length");
  return problemOf(error.code, error.message);
}

/**
 * Sends a complete reply and resolves once the socket has taken it (or closed). With
 * `holdUntil` the bytes go out at once but the response ends only after it settles, i.e. after a
 * refused body has been drained, so closing does not reset the connection under the reply.
 */
function write(
  res: ServerResponse,
  status: number,
  contentType: string | null,
  body: Buffer | null,
  holdUntil?: Promise<void>,
): Promise<void> {
  return new Promise((resolve) => {
    if (res.headersSent || res.destroyed) return resolve();
    res.once("close", () => resolve());
    res.writeHead(status, {
      ...(contentType ? { "content-type": contentType } : {}),
      ...(body ? { "content-length": body.length } : {}),
      "cache-control": "no-store",
      "x-content-type-options": "nosniff",
    });
    if (holdUntil) {
      if (body) res.write(body);
      void holdUntil.then(() => res.end(() => resolve()));
    } else {
      res.end(body ?? undefined, () => resolve());
    }
  });
}

async function readJson<T>(req: IncomingMessage, schema: z.ZodType<T>): Promise<{ value: T; bytes: number }> {
  const type = (req.headers["content-type"] ?? "").split(";")[0]?.trim().toLowerCase();
  if (type !== "application/json")
    throw new TokenizerError("ERR_UNSUPPORTED_MEDIA_TYPE", "send application/json");
  const body = await readBody(req, MAX_KEYS_BODY_BYTES);
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString("utf8"));
  } catch {
    throw new TokenizerError("ERR_VALIDATION", "the body is not JSON");
  } finally {
    body.fill(0);
  }
  const checked = schema.safeParse(parsed);
  if (!checked.success) {
    const issue = checked.error.issues[0];
    throw new TokenizerError(
      "ERR_VALIDATION",
      `${issue?.path.join(".") || "body"}: ${issue?.message ?? "invalid"}`,
    );
  }
  return { value: checked.data, bytes: body.byteLength };
}

function route(method: string, path: string): { template: string; allow: string; tenantId?: string } | null {
  const tenant = /^\/v1\/keys\/tenants\/([^/]+)$/.exec(path);
  if (tenant) {
    // tenant ids are [A-Za-z0-9_-]: anything percent-encoded is invalid, so no decoding
    return { template: `${method} /v1/keys/tenants/:tenantId`, allow: "DELETE", tenantId: tenant[1] ?? "" };
  }
  if (["/v1/keys/data-key", "/v1/keys/unwrap", "/v1/keys/rewrap", "/v1/keys/rotate"].includes(path)) {
    return { template: `${method} ${path}`, allow: "POST" };
  }
  return null;
}

/** Serves one /v1/keys/* request; never throws. */
export async function handleKeys(
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  keystore: Keystore | undefined,
): Promise<KeysOutcome> {
  const method = req.method ?? "?";
  const outcome: KeysOutcome = { route: `${method} /v1/keys/…`, status: 500, bytesIn: 0, bytesOut: 0 };
  const secrets: Uint8Array[] = [];
  try {
    const matched = route(method, path);
    if (matched) outcome.route = matched.template;
    if (!matched) throw new TokenizerError("ERR_NOT_FOUND", "no such route");
    if (method !== matched.allow) {
      res.setHeader("allow", matched.allow);
      throw new TokenizerError("ERR_METHOD_NOT_ALLOWED", `use ${matched.allow}`);
    }
    if (!keystore) throw new TokenizerError("ERR_KEYSTORE_UNAVAILABLE", "no key store configured");

    if (matched.tenantId !== undefined) {
      const tenantId = TenantId.safeParse(matched.tenantId);
      if (!tenantId.success)
        throw new TokenizerError("ERR_VALIDATION", "tenantId: 1-64 characters of [A-Za-z0-9_-]");
      await keystore.destroyTenant(tenantId.data);
      outcome.status = 204;
      await write(res, 204, null, null);
      return outcome;
    }

    let reply: Buffer;
    if (path === "/v1/keys/data-key") {
      const { value, bytes } = await readJson(req, DataKeyBody);
      outcome.bytesIn = bytes;
      const key = await keystore.generateDataKey(value.tenantId);
      secrets.push(key.plaintext);
      reply = jsonWithSecrets([
        ["plaintext", key.plaintext],
        ["wrapped", key.wrapped],
        ["kekVersion", key.kekVersion],
      ]);
    } else if (path === "/v1/keys/rotate") {
      const { value, bytes } = await readJson(req, RotateBody);
      outcome.bytesIn = bytes;
      const version =
        value.kind === "kek"
          ? await keystore.rotateKek(value.tenantId)
          : await keystore.rotateTokenizationKey(value.tenantId);
      reply = jsonWithSecrets([["version", version]]);
    } else {
      const { value, bytes } = await readJson(req, WrappedBody);
      outcome.bytesIn = bytes;
      const wrapped = fromBase64(value.wrapped);
      if (wrapped.byteLength !== WRAPPED_DATA_KEY_BYTES) {
        throw new TokenizerError("ERR_KEY_UNWRAP", "the wrapped key does not unwrap");
      }
      if (path === "/v1/keys/unwrap") {
        const plaintext = await keystore.unwrapDataKey(value.tenantId, wrapped, value.kekVersion);
        secrets.push(plaintext);
        reply = jsonWithSecrets([["plaintext", plaintext]]);
      } else {
        const moved = await keystore.rewrapDataKey(value.tenantId, wrapped, value.kekVersion);
        reply = jsonWithSecrets([
          ["wrapped", moved.wrapped],
          ["kekVersion", moved.kekVersion],
        ]);
      }
    }
    secrets.push(reply);
    outcome.status = 200;
    outcome.bytesOut = reply.length;
    await write(res, 200, "application/json", reply);
    return outcome;
  } catch (error) {
    const problem = keysProblem(error);
    outcome.status = problem.status;
    outcome.code = problem.code;
    const body = Buffer.from(JSON.stringify(problem));
    outcome.bytesOut = body.length;
    // A body refused before it was read: reply, drain it, then close (as server.ts does).
    if (!req.complete) {
      res.setHeader("connection", "close");
      await write(res, problem.status, "application/problem+json", body, drain(req));
    } else {
      await write(res, problem.status, "application/problem+json", body);
    }
    return outcome;
  } finally {
    for (const secret of secrets) secret.fill(0);
  }
}
