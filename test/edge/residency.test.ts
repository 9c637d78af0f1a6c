/**
 * Data residency inside workerd (issue 6 item 6, docs/data-protection.md "Residency"): one
 * fixed tokenizer per region, each serving only its own zone, so which one saw a session's
 * batches proves where its frames went. The session's zone (request, or the tenant's default)
 * is in the view and the report; a forbidden zone is refused before anything is written; the
 * session's Durable Object lives under its zone's name and nowhere else; a tokenizer asked for a
 * zone it does not serve refuses loudly. Local workerd has no Durable Object jurisdictions, so
 * the platform runs the development emulation (lib/residency.ts); the last case shows that
 * without it the production path is taken and fails instead of falling back.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PROTOCOL } from "../../lib/widget-protocol.ts";
import { ScriptedClient } from "../../scripts/lib/scripted-client.ts";
import { type FixedTokenizer, startFixedTokenizer } from "../support/fixed-tokenizer.ts";
import { createSession, type Harness, startHarness, testCerts } from "../support/harness.ts";
import { LIVE_FRAME, TONE } from "../support/media.ts";
import { rawUpgrade } from "../support/raw-upgrade.ts";

interface Report {
  residency: { zone: string; durableObject: string | null; tokenizedIn: string[] } | null;
  degraded: { code: string }[];
}

let eu: FixedTokenizer;
let us: FixedTokenizer;
let h: Harness;
beforeAll(async () => {
  const certs = testCerts();
  [eu, us] = await Promise.all([
    startFixedTokenizer(certs, { zones: ["eu"] }),
    startFixedTokenizer(certs, { zones: ["us"] }),
  ]);
  h = await startHarness({ vars: { TOKENIZER_URL_EU: eu.url, TOKENIZER_URL_US: us.url } });
});
afterAll(async () => {
  await h?.dispose();
  await Promise.all([eu?.close(), us?.close()]);
});

/** Runs a session to its end and returns the view the API answers afterwards. */
async function runSession(harness: Harness, key: string, clientSecret: string, sessionId: string) {
  const client = await ScriptedClient.connect(harness.platform.url, clientSecret);
  await client.stream({ frames: [LIVE_FRAME], audio: TONE });
  const hook = await harness.receiver.waitFor(
    (w) =>
      w.json.type.startsWith("session.") &&
      w.json.type !== "session.created" &&
      w.json.type !== "session.started" &&
      w.json.data.session.id === sessionId,
  );
  const res = await harness.api(`/v1/sessions/${sessionId}`, { key });
  expect(res.status).toBe(200);
  const { session } = (await res.json()) as { session: { zone: string; status: string; report: Report } };
  return { session, hookReport: hook.json.data.session.report as Report };
}

/** The session Durable Object under `name` in the plain namespace, as the test sees it. */
async function sessionObject(harness: Harness, name: string) {
  const ns = (await harness.platform.mf.getDurableObjectNamespace(
    "SESSION",
    "facet-edge",
  )) as unknown as DurableObjectNamespace;
  return ns.get(ns.idFromName(name)) as unknown as { cancel(reason: "cancelled"): Promise<void> };
}

async function putSettings(key: string, settings: object) {
  const res = await h.api("/v1/settings", { method: "PUT", key, body: JSON.stringify(settings) });
  expect(res.status).toBe(200);
}

describe("zone routing", () => {
  for (const zone of ["eu", "us"] as const) {
    it(`a ${zone} session's frames reach only the ${zone} tokenizer, and the report says so`, async () => {
      const { session, clientSecret } = await createSession(h, { clientReferenceId: `r-${zone}`, zone });
      const { session: view, hookReport } = await runSession(
        h,
        h.tenant.apiKey,
        clientSecret.secret,
        session.id,
      );
      const [mine, other] = zone === "eu" ? [eu, us] : [us, eu];
      expect(mine.batches.get(session.id) ?? 0).toBeGreaterThan(0);
      expect(other.batches.has(session.id)).toBe(false);
      expect(other.refused.has(session.id)).toBe(false);
      expect(view.status).toBe("complete");
      expect(view.zone).toBe(zone);
      const residency = { zone, durableObject: zone, tokenizedIn: [zone] };
      expect(view.report.residency).toEqual(residency);
      expect(hookReport.residency).toEqual(residency);
      expect(view.report.degraded.map((d) => d.code)).not.toContain("TOKENIZER_ZONE_REFUSED");
    });
  }

  it("takes the tenant's defaultZone when the request names none", async () => {
    const tenant = await h.newTenant("residency-default");
    await putSettings(tenant.apiKey, { defaultZone: "us", forbiddenZones: ["eu"] });
    const { session, clientSecret } = await createSession(
      h,
      { clientReferenceId: "r-default" },
      tenant.apiKey,
    );
    expect(session).toMatchObject({ zone: "us" });
    const { session: view } = await runSession(h, tenant.apiKey, clientSecret.secret, session.id);
    expect(us.batches.get(session.id) ?? 0).toBeGreaterThan(0);
    expect(eu.batches.has(session.id)).toBe(false);
    expect(view.report.residency).toEqual({ zone: "us", durableObject: "us", tokenizedIn: ["us"] });
  });
});

describe("forbidden zones", () => {
  it("refuses a session in a forbidden zone with ERR_ZONE_FORBIDDEN and writes nothing", async () => {
    const tenant = await h.newTenant("residency-forbidden");
    await putSettings(tenant.apiKey, { defaultZone: "eu", forbiddenZones: ["us"] });
    const res = await h.api("/v1/sessions", {
      method: "POST",
      key: tenant.apiKey,
      headers: { "idempotency-key": "residency-forbidden-1" },
      body: JSON.stringify({
        clientReferenceId: "r-forbidden",
        zone: "us",
        flow: [
          { id: "s", type: "start", next: "e" },
          { id: "e", type: "end" },
        ],
      }),
    });
    expect(res.status).toBe(403);
    expect(res.headers.get("content-type")).toContain("application/problem+json");
    expect(await res.json()).toMatchObject({
      code: "ERR_ZONE_FORBIDDEN",
      zone: "us",
      forbiddenZones: ["us"],
    });
    const written = await h.platform.db
      .prepare(
        `SELECT (SELECT COUNT(*) FROM sessions WHERE tenant_id = ?1)
              + (SELECT COUNT(*) FROM idempotency_keys WHERE tenant_id = ?1)
              + (SELECT COUNT(*) FROM audit_log WHERE tenant_id = ?1 AND action = 'session.create') AS n`,
      )
      .bind(tenant.tenantId)
      .first<{ n: number }>();
    expect(written?.n).toBe(0);
    // The allowed zone still works for the same tenant.
    const { session } = await createSession(h, { clientReferenceId: "r-allowed", zone: "eu" }, tenant.apiKey);
    expect(session).toMatchObject({ zone: "eu" });
  });
});

describe("OpenAPI", () => {
  it("documents the zone settings, the report's residency and the 403 of a forbidden zone", async () => {
    const doc = (await (await h.api("/openapi.json", { key: "" })).json()) as {
      paths: Record<string, Record<string, { responses: Record<string, unknown> }>>;
      components: { schemas: Record<string, { properties?: Record<string, { description?: string }> }> };
    };
    expect(doc.paths["/v1/sessions"]?.post?.responses).toHaveProperty("403");
    expect(Object.keys(doc.components.schemas.Residency?.properties ?? {}).sort()).toEqual([
      "durableObject",
      "tokenizedIn",
      "zone",
    ]);
    expect(doc.components.schemas.Report?.properties).toHaveProperty("residency");
    const settings = JSON.stringify(doc.components.schemas.TenantSettings);
    expect(settings).toContain("ERR_ZONE_FORBIDDEN");
    expect(settings).toContain("defaultZone");
  });
});

describe("Durable Object placement", () => {
  it("keeps a running session in the object named for its zone, not the plain or other-zone one", async () => {
    const { session, clientSecret } = await createSession(h, {
      clientReferenceId: "r-placement",
      zone: "eu",
    });
    const client = await ScriptedClient.connect(h.platform.url, clientSecret.secret);
    await client.waitFor((m) => m.type === "ready");
    // Objects under the wrong names hold nothing: cancelling them leaves the session running.
    for (const name of [session.id, `us/${session.id}`]) {
      await (await sessionObject(h, name)).cancel("cancelled");
    }
    const running = (await (await h.api(`/v1/sessions/${session.id}`)).json()) as {
      session: { status: string };
    };
    expect(running.session.status).toBe("in_progress");
    // The object under the eu name is the session's: cancelling it ends the session.
    await (await sessionObject(h, `eu/${session.id}`)).cancel("cancelled");
    const ended = (await (await h.api(`/v1/sessions/${session.id}`)).json()) as {
      session: { status: string; incompleteReason: string; report: Report };
    };
    expect(ended.session).toMatchObject({ status: "incomplete", incompleteReason: "cancelled" });
    expect(ended.session.report.residency).toMatchObject({ zone: "eu", durableObject: "eu" });
    await client.closed;
  });
});

describe("misrouting", () => {
  let misrouted: Harness;
  beforeAll(async () => {
    // The us endpoint points at the eu-only tokenizer: an operator's configuration mistake.
    misrouted = await startHarness({ vars: { TOKENIZER_URL_EU: eu.url, TOKENIZER_URL_US: eu.url } });
  });
  afterAll(async () => {
    await misrouted?.dispose();
  });

  it("a tokenizer refuses a zone it does not serve, and the report shows nothing was tokenized", async () => {
    const { session, clientSecret } = await createSession(misrouted, {
      clientReferenceId: "r-mis",
      zone: "us",
    });
    const { session: view } = await runSession(
      misrouted,
      misrouted.tenant.apiKey,
      clientSecret.secret,
      session.id,
    );
    expect(eu.refused.get(session.id) ?? 0).toBeGreaterThan(0);
    expect(eu.batches.has(session.id)).toBe(false);
    expect(view.report.residency).toEqual({ zone: "us", durableObject: "us", tokenizedIn: [] });
    expect(view.report.degraded.map((d) => d.code)).toContain("TOKENIZER_ZONE_REFUSED");
  });
});

describe("without the development emulation", () => {
  let production: Harness;
  beforeAll(async () => {
    production = await startHarness({ vars: { DEV_EMULATE_DO_JURISDICTION: "false" } });
  });
  afterAll(async () => {
    await production?.dispose();
  });

  it("takes the jurisdiction path, which local workerd refuses, instead of an unrestricted object", async () => {
    const { session, clientSecret } = await createSession(production, {
      clientReferenceId: "r-prod",
      zone: "eu",
    });
    const answer = await rawUpgrade(production.platform.url, `${PROTOCOL}, ${clientSecret.secret}`);
    expect(answer.status).toBe(500);
    expect(JSON.parse(answer.body)).toMatchObject({ code: "ERR_INTERNAL" });
    // Nothing ran in the plain namespace's object for this session.
    await (await sessionObject(production, session.id)).cancel("cancelled");
    const view = (await (await production.api(`/v1/sessions/${session.id}`)).json()) as {
      session: { status: string; report: unknown };
    };
    expect(view.session.status).toBe("in_progress");
    expect(view.session.report).toBeNull();
  });
});
