/**
 * The integrator API inside workerd: authentication and tenant scoping, flow validation (every
 * rule), Idempotency-Key, reads, pagination, refresh, cancel, problem+json and no-store.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FLOW_RULES } from "../../lib/flow-validate.ts";
import { createSession, type Harness, LIVENESS_FLOW, startHarness } from "../support/harness.ts";
import { harnessKeys } from "../support/tenant-keys.ts";

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.dispose();
});

const PROBLEM = "application/problem+json";

async function problem(res: Response, status: number, code: string) {
  expect(res.status).toBe(status);
  expect(res.headers.get("content-type")).toContain(PROBLEM);
  expect(res.headers.get("cache-control")).toBe("no-store");
  const body = (await res.json()) as {
    code: string;
    status: number;
    title: string;
    detail?: string;
    errors?: { rule: string; nodeId: string | null }[];
  };
  expect(body.code).toBe(code);
  expect(body.status).toBe(status);
  return body;
}

describe("authentication", () => {
  it("refuses a missing, malformed or unknown key with ERR_UNAUTHENTICATED", async () => {
    await problem(await h.api("/v1/sessions", { key: "" }), 401, "ERR_UNAUTHENTICATED");
    await problem(await h.api("/v1/sessions", { key: "sk_test_short" }), 401, "ERR_UNAUTHENTICATED");
    await problem(
      await h.api("/v1/sessions", { key: `sk_test_${"A".repeat(43)}` }),
      401,
      "ERR_UNAUTHENTICATED",
    );
    const res = await h.api("/v1/sessions", { key: "" });
    expect(res.headers.get("www-authenticate")).toContain("Bearer");
  });

  it("refuses a revoked key with ERR_API_KEY_REVOKED", async () => {
    const other = await h.newTenant("revoked");
    await h.platform.db
      .prepare("UPDATE api_keys SET revoked_at = ? WHERE id = ?")
      .bind(Date.now(), other.apiKeyId)
      .run();
    await problem(await h.api("/v1/sessions", { key: other.apiKey }), 401, "ERR_API_KEY_REVOKED");
  });

  it("scopes every session route to the key's tenant: another tenant's session is a 404", async () => {
    const { session } = await createSession(h);
    const other = await h.newTenant("other");
    await problem(await h.api(`/v1/sessions/${session.id}`, { key: other.apiKey }), 404, "ERR_NOT_FOUND");
    await problem(
      await h.api(`/v1/sessions/${session.id}/cancel`, { method: "POST", key: other.apiKey }),
      404,
      "ERR_NOT_FOUND",
    );
    await problem(
      await h.api(`/v1/sessions/${session.id}/client-secret`, { method: "POST", key: other.apiKey }),
      404,
      "ERR_NOT_FOUND",
    );
    const list = (await (await h.api("/v1/sessions", { key: other.apiKey })).json()) as { data: unknown[] };
    expect(list.data).toEqual([]);
    // the owner still sees it, untouched
    const own = (await (await h.api(`/v1/sessions/${session.id}`)).json()) as { session: { status: string } };
    expect(own.session.status).toBe("created");
  });
});

describe("flow validation", () => {
  const end = { id: "e", type: "end" };
  const liveness = (id: string, to: string) => ({
    id,
    type: "liveness",
    outcomes: { live: to, spoof: to, no_face: to, inconclusive: to },
  });
  const perm = (id: string, to: string) => ({
    id,
    type: "permissions",
    outcomes: { granted: to, denied: "e" },
  });
  const cases: Record<(typeof FLOW_RULES)[number], { flow: unknown[]; nodeId: string | null }> = {
    too_many_nodes: {
      flow: [
        { id: "s", type: "start", next: "e" },
        end,
        ...Array.from({ length: 64 }, (_, i) => ({ id: `x${i}`, type: "end" })),
      ],
      nodeId: null,
    },
    invalid_node: {
      flow: [
        { id: "s", type: "start", next: "l" },
        { id: "l", type: "liveness", outcomes: { live: "e" } },
        end,
      ],
      nodeId: "l",
    },
    exactly_one_start: { flow: [end, { id: "f", type: "end" }], nodeId: null },
    challenge_actions: {
      flow: [
        { id: "s", type: "start", next: "p" },
        perm("p", "l"),
        { ...liveness("l", "e"), challenges: 3, actions: ["blink", "turn_right"] },
        end,
      ],
      nodeId: "l",
    },
    at_least_one_end: { flow: [{ id: "s", type: "start", next: "p" }, perm("p", "p")], nodeId: null },
    unique_ids: { flow: [{ id: "s", type: "start", next: "e" }, end, { id: "e", type: "end" }], nodeId: "e" },
    dangling_reference: { flow: [{ id: "s", type: "start", next: "nowhere" }, end], nodeId: "s" },
    unreachable_node: {
      flow: [{ id: "s", type: "start", next: "e" }, end, { id: "lonely", type: "end" }],
      nodeId: "lonely",
    },
    no_exit_cycle: {
      flow: [
        { id: "s", type: "start", next: "a" },
        {
          id: "a",
          type: "data_validation",
          field: "metadata.x",
          operator: "exists",
          outcomes: { pass: "b", fail: "e" },
        },
        {
          id: "b",
          type: "data_validation",
          field: "metadata.y",
          operator: "exists",
          outcomes: { pass: "c", fail: "c" },
        },
        {
          id: "c",
          type: "data_validation",
          field: "metadata.z",
          operator: "exists",
          outcomes: { pass: "b", fail: "b" },
        },
        end,
      ],
      nodeId: "b",
    },
    condition_syntax: {
      flow: [
        { id: "s", type: "start", next: "p" },
        { id: "p", type: "permissions", outcomes: { granted: "c", denied: "e" } },
        {
          id: "c",
          type: "conversation",
          prompt: "Hi?",
          outcomes: [
            { when: "maybe_later", next: "e" },
            { when: "", next: "e" },
          ],
        },
        end,
      ],
      nodeId: "c",
    },
    last_condition_fallback: {
      flow: [
        { id: "s", type: "start", next: "p" },
        { id: "p", type: "permissions", outcomes: { granted: "c", denied: "e" } },
        { id: "c", type: "conversation", prompt: "Hi?", outcomes: [{ when: "affirm", next: "e" }] },
        end,
      ],
      nodeId: "c",
    },
    data_validation_field: {
      flow: [
        { id: "s", type: "start", next: "d" },
        {
          id: "d",
          type: "data_validation",
          field: "secrets.x",
          operator: "exists",
          outcomes: { pass: "e", fail: "e" },
        },
        end,
      ],
      nodeId: "d",
    },
    data_validation_value: {
      flow: [
        { id: "s", type: "start", next: "d" },
        {
          id: "d",
          type: "data_validation",
          field: "metadata.amount",
          operator: "gt",
          value: "lots",
          outcomes: { pass: "e", fail: "e" },
        },
        end,
      ],
      nodeId: "d",
    },
    permissions_needed: {
      flow: [{ id: "s", type: "start", next: "l" }, liveness("l", "e"), end],
      nodeId: "l",
    },
  };

  for (const rule of FLOW_RULES) {
    it(`rejects a flow breaking ${rule} with ERR_INVALID_FLOW naming the rule and node`, async () => {
      const testCase = cases[rule];
      const res = await h.api("/v1/sessions", {
        method: "POST",
        body: JSON.stringify({ clientReferenceId: "u", flow: testCase.flow }),
      });
      const body = await problem(res, 400, "ERR_INVALID_FLOW");
      const finding = body.errors?.find((e) => e.rule === rule);
      expect(finding, JSON.stringify(body.errors)).toBeDefined();
      if (testCase.nodeId !== null) expect(finding?.nodeId).toBe(testCase.nodeId);
    });
  }

  it("rejects a body that is not JSON with ERR_MALFORMED_JSON and a wrong field with ERR_VALIDATION", async () => {
    await problem(
      await h.api("/v1/sessions", { method: "POST", body: "{not json" }),
      400,
      "ERR_MALFORMED_JSON",
    );
    const res = await h.api("/v1/sessions", {
      method: "POST",
      body: JSON.stringify({ clientReferenceId: 5, flow: LIVENESS_FLOW }),
    });
    const body = await problem(res, 400, "ERR_VALIDATION");
    expect(body.detail).toContain("clientReferenceId");
  });

  it("leaves no session behind when a create is refused", async () => {
    const before = await h.platform.db.prepare("SELECT COUNT(*) AS n FROM sessions").first<{ n: number }>();
    await h.api("/v1/sessions", {
      method: "POST",
      body: JSON.stringify({ clientReferenceId: "u", flow: cases.dangling_reference.flow }),
    });
    const after = await h.platform.db.prepare("SELECT COUNT(*) AS n FROM sessions").first<{ n: number }>();
    expect(after?.n).toBe(before?.n);
  });
});

describe("idempotent create", () => {
  it("replays the same session for the same key and body, and refuses a different body", async () => {
    const body = JSON.stringify({ clientReferenceId: "idem-1", flow: LIVENESS_FLOW });
    const headers = { "idempotency-key": "order-7781" };
    const first = await h.api("/v1/sessions", { method: "POST", body, headers });
    expect(first.status).toBe(201);
    const a = (await first.json()) as { session: { id: string }; clientSecret: { secret: string } };
    const second = await h.api("/v1/sessions", { method: "POST", body, headers });
    expect(second.status).toBe(200);
    expect(second.headers.get("idempotent-replayed")).toBe("true");
    const b = (await second.json()) as { session: { id: string }; clientSecret: { secret: string } };
    expect(b.session.id).toBe(a.session.id);
    // the replay re-issues the secret: the first one, never delivered, stops working
    expect(b.clientSecret.secret).not.toBe(a.clientSecret.secret);
    // the reference is stored encrypted; its keyed hash is the lookup column (docs/storage.md)
    const rows = await h.platform.db
      .prepare("SELECT COUNT(*) AS n FROM sessions WHERE client_reference_hash = ?")
      .bind(await harnessKeys(h, h.tenant.tenantId).referenceHash("idem-1"))
      .first<{ n: number }>();
    expect(rows?.n).toBe(1);
    const conflict = await h.api("/v1/sessions", {
      method: "POST",
      headers,
      body: JSON.stringify({ clientReferenceId: "idem-2", flow: LIVENESS_FLOW }),
    });
    await problem(conflict, 409, "ERR_IDEMPOTENCY_CONFLICT");
  });

  it("creates exactly one session when the same key races", async () => {
    const body = JSON.stringify({ clientReferenceId: "idem-race", flow: LIVENESS_FLOW });
    const responses = await Promise.all(
      Array.from({ length: 5 }, () =>
        h.api("/v1/sessions", { method: "POST", body, headers: { "idempotency-key": "race-1" } }),
      ),
    );
    const ids = new Set(
      await Promise.all(
        responses.map(async (r) => ((await r.json()) as { session: { id: string } }).session.id),
      ),
    );
    expect(ids.size).toBe(1);
  });
});

describe("reading sessions", () => {
  it("lists newest first with cursor pagination and filters", async () => {
    const tenant = await h.newTenant("lister");
    const created: string[] = [];
    for (let i = 0; i < 5; i++)
      created.push(
        (await createSession(h, { clientReferenceId: i % 2 ? "odd" : "even" }, tenant.apiKey)).session.id,
      );
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const query: string = `/v1/sessions?limit=2${cursor ? `&cursor=${cursor}` : ""}`;
      const res = await h.api(query, { key: tenant.apiKey });
      expect(res.status).toBe(200);
      expect(res.headers.get("cache-control")).toBe("no-store");
      const page = (await res.json()) as { data: { id: string }[]; nextCursor: string | null };
      expect(page.data.length).toBeLessThanOrEqual(2);
      seen.push(...page.data.map((s) => s.id));
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen).toEqual([...created].reverse());
    const odd = (await (
      await h.api("/v1/sessions?clientReferenceId=odd", { key: tenant.apiKey })
    ).json()) as { data: unknown[] };
    expect(odd.data).toHaveLength(2);
    const status = (await (await h.api("/v1/sessions?status=complete", { key: tenant.apiKey })).json()) as {
      data: unknown[];
    };
    expect(status.data).toHaveLength(0);
    await problem(await h.api("/v1/sessions?cursor=garbage", { key: tenant.apiKey }), 400, "ERR_VALIDATION");
    await problem(await h.api("/v1/sessions?limit=1000", { key: tenant.apiKey }), 400, "ERR_VALIDATION");
  });

  it("answers unknown ids and routes with problem+json 404", async () => {
    await problem(await h.api("/v1/sessions/ses_doesnotexist000"), 404, "ERR_NOT_FOUND");
    await problem(await h.api("/v1/nothing-here"), 404, "ERR_NOT_FOUND");
  });
});

describe("client secret refresh and cancel", () => {
  it("refreshes the secret of a session not yet started; the old one stops working", async () => {
    const { session, clientSecret } = await createSession(h);
    const res = await h.api(`/v1/sessions/${session.id}/client-secret`, { method: "POST" });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { clientSecret: { secret: string; expiresAt: string } };
    expect(body.clientSecret.secret).not.toBe(clientSecret.secret);
    expect(Date.parse(body.clientSecret.expiresAt) - Date.now()).toBeLessThanOrEqual(600_000);
    const stored = await h.platform.db
      .prepare("SELECT client_secret_hash FROM sessions WHERE id = ?")
      .bind(session.id)
      .first<{ client_secret_hash: string }>();
    expect(stored?.client_secret_hash).not.toContain(body.clientSecret.secret);
  });

  it("cancels a created session: incomplete/cancelled, session.incomplete delivered, second cancel refused", async () => {
    const { session } = await createSession(h);
    const res = await h.api(`/v1/sessions/${session.id}/cancel`, { method: "POST" });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { session: { status: string; incompleteReason: string } };
    expect(body.session).toMatchObject({ status: "incomplete", incompleteReason: "cancelled" });
    const hook = await h.receiver.waitFor(
      (w) => w.json.type === "session.incomplete" && w.json.data.session.id === session.id,
    );
    expect(hook.json.data.session.incompleteReason).toBe("cancelled");
    await problem(
      await h.api(`/v1/sessions/${session.id}/cancel`, { method: "POST" }),
      409,
      "ERR_SESSION_STATE",
    );
    await problem(
      await h.api(`/v1/sessions/${session.id}/client-secret`, { method: "POST" }),
      409,
      "ERR_SESSION_STATE",
    );
  });
});

describe("OpenAPI", () => {
  it("serves an OpenAPI 3.1 document generated from the request schemas", async () => {
    const res = await h.api("/openapi.json", { key: "" });
    expect(res.status).toBe(200);
    const doc = (await res.json()) as {
      openapi: string;
      paths: Record<string, Record<string, unknown>>;
      components: { schemas: Record<string, unknown> };
    };
    expect(doc.openapi).toBe("3.1.0");
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        "/v1/sessions",
        "/v1/sessions/{id}",
        "/v1/sessions/{id}/cancel",
        "/v1/sessions/{id}/client-secret",
        "/v1/webhook-endpoints",
      ]),
    );
    expect(doc.components.schemas).toHaveProperty("CreateSession");
    expect(doc.components.schemas).toHaveProperty("FlowNode");
    expect(doc.components.schemas).toHaveProperty("Risk");
  });
});
