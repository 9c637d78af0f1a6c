/**
 * Tenant isolation as a matrix: every tenant-scoped operation in `GET /openapi.json`, called
 * with another tenant's key on tenant A's real resources, must answer as if they did not exist
 * (404), and must leave them untouched. Every operation with a revoked key answers 401. The
 * matrix is derived from the OpenAPI document, so a new route without a row here fails.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ScriptedClient } from "../../scripts/lib/scripted-client.ts";
import { createSession, type Harness, startHarness } from "../support/harness.ts";

const LIVE_FRAME = new Uint8Array([0x4c, 0xff, 0xd8, 1, 2, 3]);

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
