/**
 * Tenant isolation as a matrix: every tenant-scoped operation in `GET /openapi.json`, called
 * with another tenant's key on tenant A's real resources, must answer as if they did not exist
 * (404), and must leave them untouched. Every operation with a revoked key answers 401. The
 * matrix is derived from the OpenAPI document, so a new route without a row here fails.
 *
 * Then every credential the platform issues, forged, altered, expired, for the wrong audience
 * and for another session or tenant (docs/security.md "Tokens and credentials"): API keys,
 * client secrets, webhook signatures, idempotency keys, and JWT-shaped tokens (Facet issues
 * none, so `alg: none` and algorithm confusion must buy nothing). The tokenizer's mTLS identity
 * (and with it the key API) is covered in test/tokenizer/tls.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { verifyWebhook } from "../../lib/webhook-signature.ts";
import { ScriptedClient } from "../../scripts/lib/scripted-client.ts";
import { createSession, type Harness, LIVENESS_FLOW, startHarness } from "../support/harness.ts";
import { LIVE_FRAME } from "../support/media.ts";
import { rawUpgrade } from "../support/raw-upgrade.ts";

let h: Harness;
let owner: Awaited<ReturnType<Harness["newTenant"]>>;
let intruder: Awaited<ReturnType<Harness["newTenant"]>>;
const ids: Record<string, string> = {};

beforeAll(async () => {
  h = await startHarness();
  owner = await h.newTenant("owner");
  intruder = await h.newTenant("intruder");
  const created = await createSession(h, { clientReferenceId: "subject-A" }, owner.apiKey);
  const client = await ScriptedClient.connect(h.platform.url, created.clientSecret.secret);
  await client.stream({ frames: [LIVE_FRAME], audio: null });
  await h.receiver.waitFor(
    (w) => w.json.data.session.id === created.session.id && w.json.type === "session.completed",
  );
  ids.session = created.session.id;
  ids.subject = "subject-A";
  const endpoints = (await (await h.api("/v1/webhook-endpoints", { key: owner.apiKey })).json()) as {
    data: { id: string }[];
  };
  ids.endpoint = endpoints.data[0]?.id ?? "";
  const deliveries = (await (
    await h.api(`/v1/webhook-endpoints/${ids.endpoint}/deliveries`, { key: owner.apiKey })
  ).json()) as {
    data: { id: string }[];
  };
  ids.delivery = deliveries.data[0]?.id ?? "";
});
afterAll(async () => {
  await h?.dispose();
});

/** Which of A's resources fills a path template's parameter. */
function fill(path: string): string {
  if (path.startsWith("/v1/sessions/")) return path.replace("{id}", ids.session ?? "");
  if (path.startsWith("/v1/webhook-endpoints/")) return path.replace("{id}", ids.endpoint ?? "");
  if (path.startsWith("/v1/deliveries/")) return path.replace("{id}", ids.delivery ?? "");
  if (path.startsWith("/v1/subjects/")) return path.replace(/\{[^}]+\}/, ids.subject ?? "");
  if (path.includes("{")) throw new Error(`no isolation fixture for ${path}: add one`);
  return path;
}

const BODIES: Record<string, unknown> = {
  "PATCH /v1/webhook-endpoints/{id}": { enabled: false },
};

async function operations(): Promise<{ method: string; path: string }[]> {
  const doc = (await (await h.api("/openapi.json", { key: "" })).json()) as {
    paths: Record<string, Record<string, unknown>>;
  };
  return Object.entries(doc.paths).flatMap(([path, methods]) =>
    Object.keys(methods).map((m) => ({ method: m.toUpperCase(), path })),
  );
}

describe("tenant isolation matrix", () => {
  it("every operation on another tenant's resource answers 404 and changes nothing", async () => {
    const ops = (await operations()).filter((o) => o.path.includes("{"));
    expect(ops.length).toBeGreaterThanOrEqual(8);
    const before = await (await h.api(`/v1/subjects/${ids.subject}`, { key: owner.apiKey })).text();
    const rows: string[] = [];
    for (const op of ops) {
      const body = BODIES[`${op.method} ${op.path}`];
      const res = await h.api(fill(op.path), {
        method: op.method,
        key: intruder.apiKey,
        ...(op.method === "POST" || op.method === "PUT" || op.method === "PATCH"
          ? { body: JSON.stringify(body ?? {}) }
          : {}),
      });
      rows.push(`${op.method} ${op.path} → ${res.status}`);
      const text = await res.text();
      if (op.path.startsWith("/v1/subjects/")) {
        // A subject reference lives in each tenant's own namespace: the intruder reaches its
        // own (empty) subject, never the owner's.
        expect([200, 204, 404], `${op.method} ${op.path}`).toContain(res.status);
        expect(text).not.toContain(ids.session);
        continue;
      }
      expect(res.status, `${op.method} ${op.path}`).toBe(404);
      expect((JSON.parse(text) as { code?: string }).code).toBe("ERR_NOT_FOUND");
    }
    console.log(`isolation matrix:\n${rows.join("\n")}`);
    // A's data is exactly as it was, and A can still read it.
    const after = await (await h.api(`/v1/subjects/${ids.subject}`, { key: owner.apiKey })).text();
    expect(JSON.parse(after).sessions).toEqual(JSON.parse(before).sessions);
    const own = await h.api(`/v1/sessions/${ids.session}`, { key: owner.apiKey });
    expect(own.status).toBe(200);
  });

  it("lists seen through another tenant's key hold none of the owner's resources", async () => {
    for (const path of ["/v1/sessions", "/v1/webhook-endpoints", `/v1/subjects/${ids.subject}`]) {
      const text = await (await h.api(path, { key: intruder.apiKey })).text();
      expect(text).not.toContain(ids.session);
      expect(text).not.toContain(ids.endpoint);
    }
  });

  it("a revoked key is refused on every operation", async () => {
    await h.platform.db
      .prepare("UPDATE api_keys SET revoked_at = ? WHERE id = ?")
      .bind(Date.now(), intruder.apiKeyId)
      .run();
    for (const op of (await operations()).filter((o) => o.path.startsWith("/v1/"))) {
      const res = await h.api(fill(op.path), {
        method: op.method,
        key: intruder.apiKey,
        ...(op.method === "GET" || op.method === "DELETE" ? {} : { body: "{}" }),
      });
      expect(res.status, `${op.method} ${op.path}`).toBe(401);
      expect(((await res.json()) as { code: string }).code).toBe("ERR_API_KEY_REVOKED");
    }
  });
});

/** Flips one character in the middle of a token (stays in its alphabet). */
function alter(token: string): string {
  const i = Math.floor(token.length / 2) + 3;
  const c = token[i] === "A" ? "B" : "A";
  return token.slice(0, i) + c + token.slice(i + 1);
}

const b64url = (s: string) => Buffer.from(s).toString("base64url");
/** JWT-shaped tokens: `alg: none`, and HS256 "signed" with a public value (algorithm confusion). */
async function jwtShapes(): Promise<string[]> {
  const claims = b64url(JSON.stringify({ sub: owner.tenantId, aud: "facet", exp: 4102444800 }));
  const none = `${b64url(JSON.stringify({ alg: "none", typ: "JWT" }))}.${claims}.`;
  const header = b64url(JSON.stringify({ alg: "HS256", typ: "JWT" }));
  const key = await crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode(owner.apiKeyId),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const mac = await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(`${header}.${claims}`));
  const hs = `${header}.${claims}.${Buffer.from(mac).toString("base64url")}`;
  const rsHeader = b64url(JSON.stringify({ alg: "RS256", typ: "JWT" }));
  return [none, hs, `${rsHeader}.${claims}.${b64url("x".repeat(256))}`];
}

async function expectProblem(res: Response, status: number, code: string, what: string) {
  expect(res.status, what).toBe(status);
  expect(res.headers.get("content-type"), what).toBe("application/problem+json");
  expect(((await res.json()) as { code: string }).code, what).toBe(code);
}

describe("forged and misused credentials", () => {
  it("API keys: forged, altered, truncated, extended, re-cased, other environment, other scheme or place → 401", async () => {
    const key = owner.apiKey;
    const other = key.startsWith("sk_test_")
      ? key.replace("sk_test_", "sk_live_")
      : key.replace("sk_live_", "sk_test_");
    const forged = `${key.slice(0, key.indexOf("_", 3) + 1)}${Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("base64url")}`;
    const cases: [string, RequestInit & { key?: string }][] = [
      ["forged", { key: forged }],
      ["altered", { key: alter(key) }],
      ["truncated", { key: key.slice(0, -1) }],
      ["extended", { key: `${key}A` }],
      ["re-cased", { key: key.toUpperCase() }],
      ["other environment prefix", { key: other }],
      [
        "Basic scheme",
        { key: "", headers: { authorization: `Basic ${Buffer.from(`${key}:`).toString("base64")}` } },
      ],
      ["no scheme", { key: "", headers: { authorization: key } }],
      ["key id instead of key", { key: owner.apiKeyId }],
      ...(await jwtShapes()).map((jwt, i): [string, RequestInit & { key?: string }] => [
        `JWT shape ${i}`,
        { key: jwt },
      ]),
    ];
    for (const [what, init] of cases) {
      await expectProblem(await h.api("/v1/sessions", init), 401, "ERR_UNAUTHENTICATED", `API key ${what}`);
    }
    // Only the Authorization header authenticates: a key in the query string is ignored.
    await expectProblem(
      await h.api(`/v1/sessions?api_key=${encodeURIComponent(key)}`, { key: "" }),
      401,
      "ERR_UNAUTHENTICATED",
      "API key in the query",
    );
  });

  it("client secrets: forged, altered, spent, JWT-shaped or sent in the URL are refused before any upgrade; a secret opens only its own session", async () => {
    const created = await createSession(h, { clientReferenceId: "token-subject" }, owner.apiKey);
    const secret = created.clientSecret.secret;
    const forged = `cs_${Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("base64url")}`;
    for (const [what, candidate] of [
      ["forged", forged],
      ["altered", alter(secret)],
      ["truncated", secret.slice(0, -1)],
      ...(await jwtShapes()).map((jwt, i) => [`JWT shape ${i}`, jwt]),
    ] as [string, string][]) {
      const refused = await rawUpgrade(h.platform.url, `facet.v1, ${candidate}`);
      expect(refused.status, `client secret ${what}`).toBe(401);
      expect(JSON.parse(refused.body).code, what).toBe("ERR_CLIENT_SECRET_INVALID");
    }
    const inUrl = await rawUpgrade(
      h.platform.url,
      "facet.v1",
      `/v1/connect?client_secret=${encodeURIComponent(secret)}`,
    );
    expect(inUrl.status, "client secret in the URL").toBe(401);
    // None of the refusals consumed it: it opens its own session (the secret alone names it).
    const client = await ScriptedClient.connect(h.platform.url, secret);
    const ready = await client.waitFor((m) => m.type === "ready");
    expect(ready.type === "ready" && ready.sessionId).toBe(created.session.id);
    await client.stream({ frames: [LIVE_FRAME], audio: null });
    // Spent: single use, and cleared when the session ended.
    const spent = await rawUpgrade(h.platform.url, `facet.v1, ${secret}`);
    expect(spent.status, "spent client secret").toBe(401);
    // Another tenant cannot mint a secret for it (the intruder's key is revoked by now).
    const stranger = await h.newTenant("secret-stranger");
    await expectProblem(
      await h.api(`/v1/sessions/${created.session.id}/client-secret`, {
        method: "POST",
        key: stranger.apiKey,
        body: "{}",
      }),
      404,
      "ERR_NOT_FOUND",
      "refresh by another tenant",
    );
  });

  it("webhook signatures: a delivery verifies only with its own endpoint's secret, unaltered and fresh", async () => {
    const hook = h.receiver.received.find((w) => w.json.data.session.id === ids.session);
    if (!hook) throw new Error("no delivery for the owner's session");
    const headers = hook.headers as Record<string, string>;
    const now = Math.floor(Date.now() / 1000);
    const ts = Number(headers["webhook-timestamp"]);
    expect((await verifyWebhook(owner.webhookSecret, headers, hook.body, ts)).ok).toBe(true);
    // wrong audience: the other tenant's endpoint secret
    expect((await verifyWebhook(intruder.webhookSecret, headers, hook.body, ts)).ok).toBe(false);
    // altered body, altered id (another delivery's), forged signature
    expect((await verifyWebhook(owner.webhookSecret, headers, alter(hook.body), ts)).ok).toBe(false);
    expect(
      (
        await verifyWebhook(
          owner.webhookSecret,
          { ...headers, "webhook-id": `${headers["webhook-id"]}x` },
          hook.body,
          ts,
        )
      ).ok,
    ).toBe(false);
    const forgedSig = `v1,${Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("base64")}`;
    expect(
      (
        await verifyWebhook(
          owner.webhookSecret,
          { ...headers, "webhook-signature": forgedSig },
          hook.body,
          ts,
        )
      ).ok,
    ).toBe(false);
    // no unsigned version is accepted in place of v1 (the webhook analogue of `alg: none`)
    const [, mac] = headers["webhook-signature"]?.split(",") ?? [];
    expect(
      (
        await verifyWebhook(
          owner.webhookSecret,
          { ...headers, "webhook-signature": `v0,${mac}` },
          hook.body,
          ts,
        )
      ).ok,
    ).toBe(false);
    // expired: a replay an hour later is outside the 5-minute tolerance
    expect(await verifyWebhook(owner.webhookSecret, headers, hook.body, ts + 3600)).toEqual({
      ok: false,
      reason: "timestamp_too_old",
    });
    expect(ts).toBeLessThanOrEqual(now + 1);
    // the secret is shown once: it is in no API answer afterwards
    const listed = await (await h.api("/v1/webhook-endpoints", { key: owner.apiKey })).text();
    expect(listed).not.toContain(owner.webhookSecret);
    expect(listed).not.toContain(owner.webhookSecret.slice("whsec_".length));
  });

  it("idempotency keys are scoped to the tenant: another tenant's same key and body creates its own session", async () => {
    const body = JSON.stringify({ clientReferenceId: "idem-subject", flow: LIVENESS_FLOW });
    const headers = { "idempotency-key": "shared-idem-key-1" };
    const mine = await h.api("/v1/sessions", { method: "POST", key: owner.apiKey, headers, body });
    expect(mine.status).toBe(201);
    const other = await h.newTenant("idem-other");
    const theirs = await h.api("/v1/sessions", { method: "POST", key: other.apiKey, headers, body });
    expect(theirs.status).toBe(201);
    const a = (await mine.json()) as { session: { id: string }; clientSecret: { secret: string } };
    const b = (await theirs.json()) as { session: { id: string }; clientSecret: { secret: string } };
    expect(b.session.id).not.toBe(a.session.id);
    expect(b.clientSecret.secret).not.toBe(a.clientSecret.secret);
    // and a replay by the owner returns the owner's session, never the other tenant's
    const replay = await h.api("/v1/sessions", { method: "POST", key: owner.apiKey, headers, body });
    expect(((await replay.json()) as { session: { id: string } }).session.id).toBe(a.session.id);
  });
});
