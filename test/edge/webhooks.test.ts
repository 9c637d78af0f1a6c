/**
 * Webhook delivery inside workerd (product-spec §6): test pings through the real queue, signatures
 * checked with the reference `standardwebhooks` library, retries with one `webhook-id` across
 * attempts, the dead state after the whole schedule and a manual retry, redirects counted as
 * failures, SSRF targets refused at registration and at delivery, event filters, pagination, and
 * an endpoint that keeps failing being disabled and reported. The retry delays are scaled to 0
 * by the harness (`WEBHOOK_RETRY_SCALE`), so the 14-attempt schedule runs without sleeping.
 */
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MAX_ATTEMPTS } from "../../workers/edge/deliver-webhooks.ts";
import { createSession, type Harness, startHarness } from "../support/harness.ts";
import { startWebhookReceiver } from "../support/webhook-receiver.ts";

let h: Harness;
const servers: Server[] = [];
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  for (const s of servers) s.closeAllConnections();
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  await h?.dispose();
});

interface Delivery {
  id: string;
  endpointId: string;
  eventType: string;
  sessionId: string | null;
  status: string;
  attempts: number;
  lastStatusCode: number | null;
  lastError: string | null;
  createdAt: string;
  lastAttemptAt: string | null;
  deliveredAt: string | null;
}

interface Endpoint {
  id: string;
  url: string;
  events: string[];
  enabled: boolean;
  disabledReason: string | null;
  disabledAt: string | null;
  secret?: string;
}

interface Hit {
  headers: IncomingHttpHeaders;
  body: string;
  status: number;
}

/** A receiver at the network edge that answers each request with `answer(n)` and records all of them. */
async function scriptedReceiver(answer: (n: number) => { status: number; location?: string }) {
  const hits: Hit[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const { status, location } = answer(hits.length);
      hits.push({ headers: req.headers, body: Buffer.concat(chunks).toString("utf8"), status });
      res.writeHead(status, location ? { location } : {}).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  servers.push(server);
  const address = server.address();
  if (!address || typeof address === "string") throw new Error("receiver did not bind");
  return { url: `http://127.0.0.1:${address.port}/hooks`, hits };
}

async function register(key: string, url: string, events: string[] = ["*"]): Promise<Endpoint> {
  const res = await h.api("/v1/webhook-endpoints", {
    method: "POST",
    key,
    body: JSON.stringify({ url, events }),
  });
  expect(res.status).toBe(201);
  return (await res.json()) as Endpoint;
}

async function ping(key: string, endpointId: string): Promise<Delivery> {
  const res = await h.api(`/v1/webhook-endpoints/${endpointId}/test`, { method: "POST", key });
  expect(res.status).toBe(202);
  return ((await res.json()) as { delivery: Delivery }).delivery;
}

async function delivery(key: string, id: string): Promise<Delivery> {
  const res = await h.api(`/v1/deliveries/${id}`, { key });
  expect(res.status).toBe(200);
  return ((await res.json()) as { delivery: Delivery }).delivery;
}

/** Waits for the consumer to settle a delivery (bounded; the schedule itself is scaled to 0). */
function settled(key: string, id: string, status: string, timeout = 45_000) {
  return expect.poll(async () => (await delivery(key, id)).status, { timeout, interval: 200 }).toBe(status);
}

function verify(secret: string, hit: { headers: IncomingHttpHeaders; body: string }) {
  return new Webhook(secret).verify(hit.body, {
    "webhook-id": String(hit.headers["webhook-id"]),
    "webhook-timestamp": String(hit.headers["webhook-timestamp"]),
    "webhook-signature": String(hit.headers["webhook-signature"]),
  }) as { type: string; data: Record<string, unknown> };
}

async function problem(res: Response, status: number, code: string) {
  expect(res.status).toBe(status);
  expect(res.headers.get("content-type")).toContain("application/problem+json");
  expect(((await res.json()) as { code: string }).code).toBe(code);
}

describe("test ping", () => {
  it("sends a signed webhook.test through the queue; the delivery log shows it delivered", async () => {
    const tenant = await h.newTenant("ping");
    const list = (await (await h.api("/v1/webhook-endpoints", { key: tenant.apiKey })).json()) as {
      data: Endpoint[];
    };
    const endpoint = list.data[0];
    if (!endpoint) throw new Error("no endpoint");
    const queued = await ping(tenant.apiKey, endpoint.id);
    expect(queued).toMatchObject({ endpointId: endpoint.id, eventType: "webhook.test", status: "pending" });

    const hook = await h.receiver.waitFor((w) => w.headers["webhook-id"] === queued.id);
    const verified = verify(tenant.webhookSecret, hook);
    expect(verified).toMatchObject({ type: "webhook.test", data: { endpoint: { id: endpoint.id } } });

    await settled(tenant.apiKey, queued.id, "delivered");
    const done = await delivery(tenant.apiKey, queued.id);
    expect(done).toMatchObject({ attempts: 1, lastStatusCode: 204, lastError: null });
    expect(done.deliveredAt).not.toBeNull();
    // Once delivered, the payload is no longer kept in D1.
    const row = await h.platform.db
      .prepare("SELECT payload FROM deliveries WHERE id = ?")
      .bind(queued.id)
      .first<{ payload: string | null }>();
    expect(row?.payload).toBeNull();
    // Another tenant cannot see or ping it.
    const other = await h.newTenant("ping-other");
    await problem(await h.api(`/v1/deliveries/${queued.id}`, { key: other.apiKey }), 404, "ERR_NOT_FOUND");
    await problem(
      await h.api(`/v1/webhook-endpoints/${endpoint.id}/test`, { method: "POST", key: other.apiKey }),
      404,
      "ERR_NOT_FOUND",
    );
  });
});

describe("retries", () => {
  it("a receiver failing 3 times gets the event on attempt 4, always with the same webhook-id", async () => {
    const flaky = await scriptedReceiver((n) => ({ status: n < 3 ? 503 : 204 }));
    const tenant = await h.newTenant("flaky");
    const endpoint = await register(tenant.apiKey, flaky.url, ["session.created"]);
    const { session } = await createSession(h, { clientReferenceId: "flaky-1" }, tenant.apiKey);

    await expect.poll(() => flaky.hits.length, { timeout: 30_000, interval: 100 }).toBe(4);
    expect(flaky.hits.map((hit) => hit.status)).toEqual([503, 503, 503, 204]);
    const ids = new Set(flaky.hits.map((hit) => hit.headers["webhook-id"]));
    expect(ids.size).toBe(1);
    // every attempt is signed afresh and verifies; the body is byte-identical
    for (const hit of flaky.hits) {
      expect(verify(endpoint.secret ?? "", hit)).toMatchObject({
        type: "session.created",
        data: { session: { id: session.id } },
      });
    }
    expect(new Set(flaky.hits.map((hit) => hit.body)).size).toBe(1);

    const [id] = [...ids];
    await settled(tenant.apiKey, String(id), "delivered");
    expect(await delivery(tenant.apiKey, String(id))).toMatchObject({
      endpointId: endpoint.id,
      sessionId: session.id,
      attempts: 4,
      lastStatusCode: 204,
    });
  });

  it("a receiver down past the whole schedule leaves a dead delivery; a manual retry delivers it", async () => {
    const receiver = await startWebhookReceiver();
    try {
      receiver.failNext(MAX_ATTEMPTS);
      const tenant = await h.newTenant("down");
      const endpoint = await register(tenant.apiKey, receiver.url, ["webhook.test"]);
      const queued = await ping(tenant.apiKey, endpoint.id);

      await settled(tenant.apiKey, queued.id, "dead", 50_000);
      const dead = await delivery(tenant.apiKey, queued.id);
      expect(dead).toMatchObject({ attempts: MAX_ATTEMPTS, lastStatusCode: 503, lastError: "HTTP 503" });
      expect(dead.deliveredAt).toBeNull();
      const page = (await (
        await h.api(`/v1/webhook-endpoints/${endpoint.id}/deliveries?status=dead`, { key: tenant.apiKey })
      ).json()) as { data: Delivery[] };
      expect(page.data.map((d) => d.id)).toEqual([queued.id]);
      expect(receiver.received).toHaveLength(0);

      // The receiver is back: a manual retry sends the stored payload with the same webhook-id.
      const res = await h.api(`/v1/deliveries/${queued.id}/retry`, { method: "POST", key: tenant.apiKey });
      expect(res.status).toBe(202);
      expect(((await res.json()) as { delivery: Delivery }).delivery.status).toBe("pending");
      const hook = await receiver.waitFor((w) => w.headers["webhook-id"] === queued.id);
      expect(verify(endpoint.secret ?? "", hook).type).toBe("webhook.test");
      await settled(tenant.apiKey, queued.id, "delivered");
      expect((await delivery(tenant.apiKey, queued.id)).attempts).toBe(MAX_ATTEMPTS + 1);

      // Delivered: nothing left to retry, and the retry is audited.
      await problem(
        await h.api(`/v1/deliveries/${queued.id}/retry`, { method: "POST", key: tenant.apiKey }),
        409,
        "ERR_CONFLICT",
      );
      const audit = await h.platform.db
        .prepare("SELECT actor FROM audit_log WHERE action = 'delivery.retry' AND target = ?")
        .bind(queued.id)
        .all<{ actor: string }>();
      expect(audit.results).toEqual([{ actor: tenant.apiKeyId }]);
    } finally {
      await receiver.close();
    }
  });

  it("never follows a redirect: a 3xx is a failed attempt and the redirect target gets nothing", async () => {
    const redirecting = await scriptedReceiver(() => ({ status: 302, location: h.receiver.url }));
    const tenant = await h.newTenant("redirect");
    const endpoint = await register(tenant.apiKey, redirecting.url, ["webhook.test"]);
    const queued = await ping(tenant.apiKey, endpoint.id);
    await expect
      .poll(async () => (await delivery(tenant.apiKey, queued.id)).attempts, {
        timeout: 20_000,
        interval: 100,
      })
      .toBeGreaterThanOrEqual(1);
    const first = await delivery(tenant.apiKey, queued.id);
    expect(first.lastStatusCode).toBe(302);
    expect(first.lastError).toBe("HTTP 302 (redirects are not followed)");
    expect(first.status).not.toBe("delivered");
    expect(h.receiver.received.some((w) => w.headers["webhook-id"] === queued.id)).toBe(false);
    // Deleting the endpoint stops the schedule: the delivery ends cancelled, not delivered.
    expect(
      (await h.api(`/v1/webhook-endpoints/${endpoint.id}`, { method: "DELETE", key: tenant.apiKey })).status,
    ).toBe(204);
    await settled(tenant.apiKey, queued.id, "cancelled");
    expect(h.receiver.received.some((w) => w.headers["webhook-id"] === queued.id)).toBe(false);
  });
});

describe("SSRF", () => {
  it("refuses non-public targets at registration with ERR_VALIDATION", async () => {
    for (const url of [
      "https://10.1/hook",
      "https://0xa9.0xfe.0xa9.0xfe/latest/meta-data",
      "https://169.254.169.254/latest/meta-data",
      "https://[::ffff:a9fe:a9fe]/",
      "https://[64:ff9b::a00:1]/",
      "https://[fe80::1]/",
      "https://metadata.google.internal./computeMetadata/v1/",
      "https://0.0.0.0/",
      "https://[::]/",
      "https://100.64.0.1/",
      "https://224.0.0.1/",
      "https://255.255.255.255/",
      "http://hooks.acme.io/",
    ]) {
      const res = await h.api("/v1/webhook-endpoints", { method: "POST", body: JSON.stringify({ url }) });
      await problem(res, 400, "ERR_VALIDATION");
    }
  });

  it("re-checks the target at delivery: a stored private URL is dead at once, nothing sent", async () => {
    const tenant = await h.newTenant("ssrf-delivery");
    const endpointId = "whe_storedprivate0001";
    // A row written before the rules tightened (or by hand): registration would refuse it.
    await h.platform.db
      .prepare(
        "INSERT INTO webhook_endpoints (id, tenant_id, url, secret, events, enabled, created_at) VALUES (?, ?, ?, ?, ?, 1, ?)",
      )
      .bind(
        endpointId,
        tenant.tenantId,
        "https://169.254.169.254/latest/meta-data",
        tenant.webhookSecret,
        '["*"]',
        Date.now(),
      )
      .run();
    const queued = await ping(tenant.apiKey, endpointId);
    await settled(tenant.apiKey, queued.id, "dead");
    expect(await delivery(tenant.apiKey, queued.id)).toMatchObject({
      attempts: 1,
      lastStatusCode: null,
      lastError: "refused target: address is not public",
    });
  });
});

describe("endpoints", () => {
  it("honours the event filter, and PATCH changes it", async () => {
    const recorder = await scriptedReceiver(() => ({ status: 204 }));
    const tenant = await h.newTenant("filter");
    const endpoint = await register(tenant.apiKey, recorder.url, ["session.incomplete"]);
    const { session } = await createSession(h, { clientReferenceId: "filter-1" }, tenant.apiKey);
    await h.api(`/v1/sessions/${session.id}/cancel`, { method: "POST", key: tenant.apiKey });
    await expect.poll(() => recorder.hits.length, { timeout: 20_000, interval: 100 }).toBe(1);
    expect(JSON.parse(recorder.hits[0]?.body ?? "{}")).toMatchObject({ type: "session.incomplete" });

    const patched = await h.api(`/v1/webhook-endpoints/${endpoint.id}`, {
      method: "PATCH",
      key: tenant.apiKey,
      body: JSON.stringify({ events: ["session.created"] }),
    });
    expect(patched.status).toBe(200);
    expect(((await patched.json()) as Endpoint).events).toEqual(["session.created"]);
    await createSession(h, { clientReferenceId: "filter-2" }, tenant.apiKey);
    await expect.poll(() => recorder.hits.length, { timeout: 20_000, interval: 100 }).toBe(2);
    expect(JSON.parse(recorder.hits[1]?.body ?? "{}")).toMatchObject({ type: "session.created" });

    await problem(
      await h.api(`/v1/webhook-endpoints/${endpoint.id}`, {
        method: "PATCH",
        key: tenant.apiKey,
        body: "{}",
      }),
      400,
      "ERR_VALIDATION",
    );
    await problem(
      await h.api(`/v1/webhook-endpoints/${endpoint.id}`, {
        method: "PATCH",
        key: tenant.apiKey,
        body: JSON.stringify({ events: ["session.nope"] }),
      }),
      400,
      "ERR_VALIDATION",
    );
  });

  it("pages through deliveries newest first with a cursor", async () => {
    const tenant = await h.newTenant("pages");
    const endpoint = await register(tenant.apiKey, h.receiver.url, ["webhook.test"]);
    const sent: string[] = [];
    for (let i = 0; i < 3; i++) sent.push((await ping(tenant.apiKey, endpoint.id)).id);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const query: string = cursor ? `?limit=2&cursor=${cursor}` : "?limit=2";
      const res = await h.api(`/v1/webhook-endpoints/${endpoint.id}/deliveries${query}`, {
        key: tenant.apiKey,
      });
      expect(res.status).toBe(200);
      expect(res.headers.get("cache-control")).toBe("no-store");
      const page = (await res.json()) as { data: Delivery[]; nextCursor: string | null };
      expect(page.data.length).toBeLessThanOrEqual(2);
      seen.push(...page.data.map((d) => d.id));
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen.sort()).toEqual([...sent].sort());
    await problem(
      await h.api(`/v1/webhook-endpoints/${endpoint.id}/deliveries?cursor=bogus`, { key: tenant.apiKey }),
      400,
      "ERR_VALIDATION",
    );
  });

  it("a deleted endpoint is gone from the API and its deletion is audited", async () => {
    const tenant = await h.newTenant("delete");
    const endpoint = await register(tenant.apiKey, h.receiver.url);
    expect(
      (await h.api(`/v1/webhook-endpoints/${endpoint.id}`, { method: "DELETE", key: tenant.apiKey })).status,
    ).toBe(204);
    await problem(
      await h.api(`/v1/webhook-endpoints/${endpoint.id}`, { key: tenant.apiKey }),
      404,
      "ERR_NOT_FOUND",
    );
    const list = (await (await h.api("/v1/webhook-endpoints", { key: tenant.apiKey })).json()) as {
      data: Endpoint[];
    };
    expect(list.data.map((e) => e.id)).not.toContain(endpoint.id);
    await problem(
      await h.api(`/v1/webhook-endpoints/${endpoint.id}`, { method: "DELETE", key: tenant.apiKey }),
      404,
      "ERR_NOT_FOUND",
    );
    const audit = await h.platform.db
      .prepare("SELECT action FROM audit_log WHERE target = ? ORDER BY at")
      .bind(endpoint.id)
      .all<{ action: string }>();
    expect(audit.results.map((a) => a.action)).toEqual([
      "webhook_endpoint.create",
      "webhook_endpoint.delete",
    ]);
  });

  it("disables an endpoint whose deliveries all die, reports endpoint.disabled, and can be re-enabled", async () => {
    const down = await scriptedReceiver(() => ({ status: 500 }));
    const tenant = await h.newTenant("disable"); // its first endpoint is h.receiver, subscribed to "*"
    const failing = await register(tenant.apiKey, down.url, ["webhook.test"]);
    const pings = [];
    for (let i = 0; i < 3; i++) pings.push(await ping(tenant.apiKey, failing.id));

    const notice = await h.receiver.waitFor(
      (w) =>
        w.json.type === "endpoint.disabled" &&
        (w.json.data as unknown as { endpoint: { id: string } }).endpoint.id === failing.id,
      55_000,
    );
    expect(verify(tenant.webhookSecret, notice)).toMatchObject({
      type: "endpoint.disabled",
      data: { endpoint: { id: failing.id, url: down.url } },
    });
    for (const p of pings) expect((await delivery(tenant.apiKey, p.id)).status).toBe("dead");
    expect(down.hits).toHaveLength(3 * MAX_ATTEMPTS);

    const shown = (await (
      await h.api(`/v1/webhook-endpoints/${failing.id}`, { key: tenant.apiKey })
    ).json()) as Endpoint;
    expect(shown.enabled).toBe(false);
    expect(shown.disabledReason).toBe("3 deliveries dead and none delivered in the last 72 h");
    expect(shown.disabledAt).not.toBeNull();
    // While disabled it receives no events, whatever its filter says…
    await h.api(`/v1/webhook-endpoints/${failing.id}`, {
      method: "PATCH",
      key: tenant.apiKey,
      body: JSON.stringify({ events: ["*"] }),
    });
    const { session } = await createSession(h, { clientReferenceId: "disabled-1" }, tenant.apiKey);
    await h.receiver.waitFor(
      (w) => w.json.type === "session.created" && w.json.data.session.id === session.id,
    );
    const log = (await (
      await h.api(`/v1/webhook-endpoints/${failing.id}/deliveries`, { key: tenant.apiKey })
    ).json()) as { data: Delivery[] };
    expect(log.data.map((d) => d.eventType)).toEqual(["webhook.test", "webhook.test", "webhook.test"]);
    // …and re-enabling clears the reason.
    const res = await h.api(`/v1/webhook-endpoints/${failing.id}`, {
      method: "PATCH",
      key: tenant.apiKey,
      body: JSON.stringify({ enabled: true }),
    });
    expect(await res.json()).toMatchObject({ enabled: true, disabledReason: null, disabledAt: null });
  }, 90_000);
});

describe("OpenAPI", () => {
  it("documents the webhook, delivery, settings and subject routes", async () => {
    const doc = (await (await h.api("/openapi.json", { key: "" })).json()) as {
      paths: Record<string, object>;
    };
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        "/v1/webhook-endpoints/{id}",
        "/v1/webhook-endpoints/{id}/test",
        "/v1/webhook-endpoints/{id}/deliveries",
        "/v1/deliveries/{id}",
        "/v1/deliveries/{id}/retry",
        "/v1/settings",
        "/v1/subjects/{ref}",
      ]),
    );
    expect(doc.paths["/v1/sessions/{id}"]).toHaveProperty("delete");
  });
});
