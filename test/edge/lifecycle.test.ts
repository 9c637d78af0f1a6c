/**
 * The data lifecycle inside workerd (product-spec §3, §7): settings round-trip and validation,
 * the retention purge (rows written with old timestamps, then the real Cron Trigger fired through
 * Miniflare — time is controlled by the data, never by sleeping), data-subject export and
 * erasure, and erasing one session, running or ended. Every access and erasure leaves an audit row
 * that names who and what, never the payload.
 */
import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sealOutcome, sealReportColumn, sealSession } from "../../lib/sessions/view.ts";
import { ScriptedClient } from "../../scripts/lib/scripted-client.ts";
import { RETENTION_CRON } from "../../workers/edge/retention.ts";
import { createSession, type Harness, startHarness } from "../support/harness.ts";
import { harnessKeys } from "../support/tenant-keys.ts";

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.dispose();
});

const DAY = 24 * 3600 * 1000;

async function problem(res: Response, status: number, code: string) {
  expect(res.status).toBe(status);
  expect(res.headers.get("content-type")).toContain("application/problem+json");
  const body = (await res.json()) as { code: string; detail?: string };
  expect(body.code).toBe(code);
  return body;
}

async function count(sql: string, ...binds: unknown[]): Promise<number> {
  const row = await h.platform.db
    .prepare(sql)
    .bind(...binds)
    .first<{ n: number }>();
  return row?.n ?? 0;
}

describe("settings", () => {
  const valid = {
    defaultZone: "us",
    forbiddenZones: ["eu"],
    allowedOrigins: ["https://app.acme.io", "http://localhost:5173"],
    thresholds: { review: 35, reject: 80 },
    retentionDays: { sessions: 14, reports: 10, transcripts: 3, fingerprints: 90, deliveries: 5 },
  };

  it("returns the documented defaults, then round-trips a PUT, audited", async () => {
    const tenant = await h.newTenant("settings");
    const first = await h.api("/v1/settings", { key: tenant.apiKey });
    expect(first.status).toBe(200);
    expect(first.headers.get("cache-control")).toBe("no-store");
    expect(await first.json()).toEqual({
      settings: {
        defaultZone: "eu",
        forbiddenZones: [],
        allowedOrigins: [],
        retentionDays: { sessions: 30, reports: 30, transcripts: 30, fingerprints: 365, deliveries: 7 },
      },
      sandboxRetentionDays: 7,
    });

    const put = await h.api("/v1/settings", {
      method: "PUT",
      key: tenant.apiKey,
      body: JSON.stringify(valid),
    });
    expect(put.status).toBe(200);
    expect(((await put.json()) as { settings: unknown }).settings).toEqual(valid);
    const again = (await (await h.api("/v1/settings", { key: tenant.apiKey })).json()) as {
      settings: unknown;
    };
    expect(again.settings).toEqual(valid);

    // The settings take effect: the default zone is now us, and eu is refused.
    const { session } = await createSession(h, { clientReferenceId: "zone-1" }, tenant.apiKey);
    expect(
      (await (await h.api(`/v1/sessions/${session.id}`, { key: tenant.apiKey })).json()) as object,
    ).toMatchObject({
      session: { zone: "us" },
    });
    await problem(
      await h.api("/v1/sessions", {
        method: "POST",
        key: tenant.apiKey,
        body: JSON.stringify({
          clientReferenceId: "zone-2",
          zone: "eu",
          flow: [
            { id: "s", type: "start", next: "e" },
            { id: "e", type: "end" },
          ],
        }),
      }),
      403,
      "ERR_ZONE_FORBIDDEN",
    );

    const audit = await h.platform.db
      .prepare(
        "SELECT actor, action, target FROM audit_log WHERE tenant_id = ? AND action LIKE 'settings.%' ORDER BY at",
      )
      .bind(tenant.tenantId)
      .all();
    expect(audit.results).toEqual([
      { actor: tenant.apiKeyId, action: "settings.read", target: tenant.tenantId },
      { actor: tenant.apiKeyId, action: "settings.update", target: tenant.tenantId },
      { actor: tenant.apiKeyId, action: "settings.read", target: tenant.tenantId },
    ]);
    // Another tenant is untouched.
    const other = (await (await h.api("/v1/settings")).json()) as { settings: { defaultZone: string } };
    expect(other.settings.defaultZone).toBe("eu");
  });

  it("refuses invalid settings with ERR_VALIDATION and keeps the stored ones", async () => {
    const tenant = await h.newTenant("settings-invalid");
    const invalid: Record<string, unknown>[] = [
      { ...valid, thresholds: { review: 90, reject: 10 } },
      { ...valid, thresholds: { review: 10, reject: 101 } },
      { ...valid, retentionDays: { ...valid.retentionDays, sessions: 0 } },
      { ...valid, retentionDays: { ...valid.retentionDays, deliveries: 1.5 } },
      { ...valid, retentionDays: { sessions: 1 } },
      { ...valid, allowedOrigins: ["https://app.acme.io/path"] },
      { ...valid, allowedOrigins: ["https://app.acme.io/"] },
      { ...valid, allowedOrigins: ["javascript:alert(1)"] },
      { ...valid, defaultZone: "eu", forbiddenZones: ["eu"] },
      { ...valid, defaultZone: "mars" },
      { ...valid, unknown: true },
    ];
    for (const body of invalid) {
      await problem(
        await h.api("/v1/settings", { method: "PUT", key: tenant.apiKey, body: JSON.stringify(body) }),
        400,
        "ERR_VALIDATION",
      );
    }
    await problem(
      await h.api("/v1/settings", { method: "PUT", key: tenant.apiKey, body: "{not json" }),
      400,
      "ERR_MALFORMED_JSON",
    );
    const stored = (await (await h.api("/v1/settings", { key: tenant.apiKey })).json()) as {
      settings: { retentionDays: { sessions: number } };
    };
    expect(stored.settings.retentionDays.sessions).toBe(30);
  });
});

interface SeedSession {
  id: string;
  mode: "test" | "live";
  ageDays: number;
  status?: "complete" | "incomplete" | "in_progress";
  report?: boolean;
}

/** Writes an ended session as the platform would have, `ageDays` ago, with outcomes, report and a delivery. */
async function seed(tenantId: string, endpointId: string, s: SeedSession): Promise<void> {
  const at = Date.now() - s.ageDays * DAY;
  const db = h.platform.db;
  // sealed under the tenant's data key, as the platform stores them (docs/storage.md)
  const keys = harnessKeys(h, tenantId);
  const sealed = await sealSession(keys, s.id, {
    clientReferenceId: `ref-${s.id}`,
    metadata: '{"plan":"gold"}',
    providedData: null,
  });
  await db
    .prepare(
      `INSERT INTO sessions (id, tenant_id, client_reference_id, client_reference_hash, status, mode, zone, locale, flow, metadata,
        created_at, started_at, finished_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, 'eu', 'en', '[]', ?, ?, ?, ?, ?)`,
    )
    .bind(
      s.id,
      tenantId,
      sealed.clientReferenceId,
      sealed.clientReferenceHash,
      s.status ?? "complete",
      s.mode,
      sealed.metadata,
      at,
      at,
      at,
      at + 3600_000,
    )
    .run();
  if (s.report !== false) {
    const column = (name: "risk" | "transcript" | "device" | "degraded", json: string) =>
      sealReportColumn(keys, s.id, name, json);
    await db.batch([
      db
        .prepare(
          "INSERT INTO node_outcomes (session_id, seq, node_id, node_type, outcome, at) VALUES (?, 0, 'start', 'start', ?, ?)",
        )
        .bind(s.id, await sealOutcome(keys, s.id, 0, "next"), at),
      db
        .prepare(
          `INSERT INTO reports (session_id, tenant_id, risk, transcript, device, degraded, created_at)
           VALUES (?, ?, ?, ?, ?, ?, ?)`,
        )
        .bind(
          s.id,
          tenantId,
          await column("risk", "{}"),
          await column("transcript", '[{"nodeId":"c","speaker":"user","text":"yes","atMs":1}]'),
          await column("device", "{}"),
          await column("degraded", "[]"),
          at,
        ),
      db
        .prepare(
          "INSERT INTO answer_digests (session_id, seq, tenant_id, key_version, digests, created_at) VALUES (?, 0, ?, 1, ?, ?)",
        )
        .bind(
          s.id,
          tenantId,
          await keys.seal(
            { table: "answer_digests", column: "digests", rowId: `${s.id}/0` },
            '["AAAAAAAAAAAAAAAA"]',
          ),
          at,
        ),
    ]);
  }
  await db
    .prepare(
      `INSERT INTO deliveries (id, tenant_id, endpoint_id, event_type, session_id, status, attempts, payload, created_at)
       VALUES (?, ?, ?, 'session.completed', ?, 'delivered', 1, NULL, ?)`,
    )
    .bind(`msg_${s.id}`, tenantId, endpointId, s.id, at)
    .run();
}

/** Fires the real Cron Trigger through Miniflare (`unsafeTriggerHandlers`); `time` sets `scheduledTime`. */
async function fireRetentionCron(time?: number): Promise<void> {
  const url = new URL("/cdn-cgi/local/scheduled", h.platform.url);
  url.searchParams.set("cron", RETENTION_CRON);
  if (time !== undefined) url.searchParams.set("time", String(time));
  const res = await fetch(url);
  expect(res.status).toBe(200);
  await res.body?.cancel();
}

describe("retention purge", () => {
  it("deletes what outlived its class, per tenant policy, sandbox capped at 7 days", async () => {
    const tenant = await h.newTenant("retention");
    const endpoints = (await (await h.api("/v1/webhook-endpoints", { key: tenant.apiKey })).json()) as {
      data: { id: string }[];
    };
    const endpointId = endpoints.data[0]?.id ?? "";
    // Live policy: sessions 20 d, reports 12 d, transcripts 5 d, deliveries 3 d; sandbox still ≤ 7 d.
    const put = await h.api("/v1/settings", {
      method: "PUT",
      key: tenant.apiKey,
      body: JSON.stringify({
        retentionDays: { sessions: 20, reports: 12, transcripts: 5, fingerprints: 20, deliveries: 3 },
      }),
    });
    expect(put.status).toBe(200);
    const p = tenant.tenantId.slice(4, 14);
    const ids = {
      sandboxOld: `ses_${p}sandboxold0`,
      sandboxYoung: `ses_${p}sandboxyng0`,
      liveOld: `ses_${p}liveold0000`,
      liveReportOld: `ses_${p}livereport0`,
      liveTranscriptOld: `ses_${p}livetrans00`,
      liveYoung: `ses_${p}liveyoung00`,
      liveRunningOld: `ses_${p}liverun0000`,
    };
    await seed(tenant.tenantId, endpointId, { id: ids.sandboxOld, mode: "test", ageDays: 8 });
    await seed(tenant.tenantId, endpointId, { id: ids.sandboxYoung, mode: "test", ageDays: 2 });
    await seed(tenant.tenantId, endpointId, { id: ids.liveOld, mode: "live", ageDays: 21 });
    await seed(tenant.tenantId, endpointId, { id: ids.liveReportOld, mode: "live", ageDays: 13 });
    await seed(tenant.tenantId, endpointId, { id: ids.liveTranscriptOld, mode: "live", ageDays: 6 });
    await seed(tenant.tenantId, endpointId, { id: ids.liveYoung, mode: "live", ageDays: 1 });
    await seed(tenant.tenantId, endpointId, {
      id: ids.liveRunningOld,
      mode: "live",
      ageDays: 30,
      status: "in_progress",
      report: false,
    });
    // A delivery still inside its retry schedule outlives the class until the schedule is over.
    await h.platform.db
      .prepare(
        `INSERT INTO deliveries (id, tenant_id, endpoint_id, event_type, session_id, status, attempts, payload, created_at)
         VALUES (?, ?, ?, 'webhook.test', NULL, 'failed', 3, '{}', ?)`,
      )
      .bind(`msg_${p}retrying00`, tenant.tenantId, endpointId, Date.now() - 3.5 * DAY)
      .run();
    // Outbox rows (class deliveries, counted from sent_at): sent 4 d ago goes, sent 1 d ago and a
    // row still pending after 10 d (an event still owed) stay.
    const outbox = {
      sentOld: `terminal:${ids.liveOld}`,
      sentYoung: `terminal:${ids.liveYoung}`,
      pendingOld: `started:${ids.liveRunningOld}`,
    };
    for (const [id, sessionId, eventType, createdDays, sentDays] of [
      [outbox.sentOld, ids.liveOld, "session.completed", 21, 4],
      [outbox.sentYoung, ids.liveYoung, "session.completed", 1, 1],
      [outbox.pendingOld, ids.liveRunningOld, "session.started", 10, null],
    ] as const) {
      await h.platform.db
        .prepare(
          `INSERT INTO event_outbox (id, tenant_id, session_id, event_type, created_at, messages, sent_at, attempts)
           VALUES (?, ?, ?, ?, ?, '[]', ?, 1)`,
        )
        .bind(
          id,
          tenant.tenantId,
          sessionId,
          eventType,
          Date.now() - createdDays * DAY,
          sentDays === null ? null : Date.now() - sentDays * DAY,
        )
        .run();
    }
    // Another tenant's old data follows that tenant's policy (defaults: live sessions 30 d).
    const bystander = await h.newTenant("retention-bystander");
    await seed(bystander.tenantId, endpointId, { id: `ses_${p}bystander0`, mode: "live", ageDays: 21 });

    await fireRetentionCron();

    const sessionsLeft = await h.platform.db
      .prepare("SELECT id FROM sessions WHERE tenant_id = ? ORDER BY id")
      .bind(tenant.tenantId)
      .all<{ id: string }>();
    expect(sessionsLeft.results.map((r) => r.id).sort()).toEqual(
      [ids.sandboxYoung, ids.liveReportOld, ids.liveTranscriptOld, ids.liveYoung, ids.liveRunningOld].sort(),
    );
    for (const gone of [ids.sandboxOld, ids.liveOld]) {
      expect(await count("SELECT COUNT(*) AS n FROM node_outcomes WHERE session_id = ?", gone)).toBe(0);
      expect(await count("SELECT COUNT(*) AS n FROM reports WHERE session_id = ?", gone)).toBe(0);
    }
    // reports class: the 13-day report and its outcomes are gone, the session row stays
    expect(await count("SELECT COUNT(*) AS n FROM reports WHERE session_id = ?", ids.liveReportOld)).toBe(0);
    expect(
      await count("SELECT COUNT(*) AS n FROM node_outcomes WHERE session_id = ?", ids.liveReportOld),
    ).toBe(0);
    const view = (await (
      await h.api(`/v1/sessions/${ids.liveReportOld}`, { key: tenant.apiKey })
    ).json()) as {
      session: { report: unknown };
    };
    expect(view.session.report).toBeNull();
    // transcripts class: emptied, the report stays
    const transcripts = await h.platform.db
      .prepare("SELECT session_id, transcript FROM reports WHERE tenant_id = ? ORDER BY session_id")
      .bind(tenant.tenantId)
      .all<{ session_id: string; transcript: string }>();
    expect(Object.fromEntries(transcripts.results.map((r) => [r.session_id, r.transcript !== "[]"]))).toEqual(
      {
        [ids.sandboxYoung]: true,
        [ids.liveTranscriptOld]: false,
        [ids.liveYoung]: true,
      },
    );
    // transcripts class also deletes the keyed answer digests (docs/conversation.md)
    const digestsLeft = await h.platform.db
      .prepare("SELECT session_id FROM answer_digests WHERE tenant_id = ?")
      .bind(tenant.tenantId)
      .all<{ session_id: string }>();
    expect(digestsLeft.results.map((r) => r.session_id).sort()).toEqual(
      [ids.sandboxYoung, ids.liveYoung].sort(),
    );
    // deliveries class (3 d): settled old ones gone, the one still retrying kept, young ones kept
    const deliveriesLeft = await h.platform.db
      .prepare("SELECT id FROM deliveries WHERE tenant_id = ? AND id LIKE ?")
      .bind(tenant.tenantId, `msg_ses_${p}%`)
      .all<{ id: string }>();
    expect(deliveriesLeft.results.map((r) => r.id).sort()).toEqual(
      [`msg_${ids.sandboxYoung}`, `msg_${ids.liveYoung}`].sort(),
    );
    expect(await count("SELECT COUNT(*) AS n FROM deliveries WHERE id = ?", `msg_${p}retrying00`)).toBe(1);
    const outboxLeft = await h.platform.db
      .prepare("SELECT id FROM event_outbox WHERE tenant_id = ?")
      .bind(tenant.tenantId)
      .all<{ id: string }>();
    expect(outboxLeft.results.map((r) => r.id).sort()).toEqual([outbox.sentYoung, outbox.pendingOld].sort());
    expect(await count("SELECT COUNT(*) AS n FROM sessions WHERE id = ?", `ses_${p}bystander0`)).toBe(1);
    expect(
      await count(
        "SELECT COUNT(*) AS n FROM audit_log WHERE tenant_id = ? AND actor = 'system' AND action = 'retention.purge'",
        tenant.tenantId,
      ),
    ).toBe(1);

    // Running it again finds nothing more: the purge is idempotent.
    await fireRetentionCron();
    expect(await count("SELECT COUNT(*) AS n FROM sessions WHERE tenant_id = ?", tenant.tenantId)).toBe(5);

    // The purge's clock is the trigger's scheduledTime: six days on, the young sandbox session is due too.
    await fireRetentionCron(Date.now() + 6 * DAY);
    expect(await count("SELECT COUNT(*) AS n FROM sessions WHERE id = ?", ids.sandboxYoung)).toBe(0);
    expect(await count("SELECT COUNT(*) AS n FROM sessions WHERE id = ?", ids.liveYoung)).toBe(1);
  });
});

describe("data subject rights", () => {
  it("exports everything held about a subject, erases it, and the export is empty after", async () => {
    const tenant = await h.newTenant("subjects");
    const ref = "subject-erase-1";
    const first = await createSession(
      h,
      { clientReferenceId: ref, metadata: { plan: "gold" } },
      tenant.apiKey,
    );
    const second = await createSession(h, { clientReferenceId: ref }, tenant.apiKey);
    const bystander = await createSession(h, { clientReferenceId: "subject-keep-1" }, tenant.apiKey);
    await h.api(`/v1/sessions/${second.session.id}/cancel`, { method: "POST", key: tenant.apiKey });
    await h.receiver.waitFor(
      (w) => w.json.type === "session.incomplete" && w.json.data.session.id === second.session.id,
    );

    const res = await h.api(`/v1/subjects/${encodeURIComponent(ref)}`, { key: tenant.apiKey });
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe("no-store");
    const exported = (await res.json()) as {
      subject: {
        clientReferenceId: string;
        sessions: { id: string; metadata: unknown; status: string }[];
        deliveries: { sessionId: string; eventType: string }[];
        audit: { action: string; actor: string; target: string }[];
      };
    };
    expect(exported.subject.clientReferenceId).toBe(ref);
    expect(exported.subject.sessions.map((s) => s.id)).toEqual([first.session.id, second.session.id]);
    expect(exported.subject.sessions[0]?.metadata).toEqual({ plan: "gold" });
    expect(exported.subject.sessions[1]?.status).toBe("incomplete");
    expect(exported.subject.deliveries.map((d) => `${d.sessionId} ${d.eventType}`).sort()).toEqual(
      [
        `${first.session.id} session.created`,
        `${second.session.id} session.created`,
        `${second.session.id} session.incomplete`,
      ].sort(),
    );
    expect(exported.subject.audit.map((a) => a.action)).toEqual(
      expect.arrayContaining(["session.create", "session.cancel", "subject.export"]),
    );
    expect(JSON.stringify(exported)).not.toContain(bystander.session.id);

    const erase = await h.api(`/v1/subjects/${encodeURIComponent(ref)}`, {
      method: "DELETE",
      key: tenant.apiKey,
    });
    expect(erase.status).toBe(200);
    const erased = (await erase.json()) as { clientReferenceId: string; sessionIds: string[] };
    expect(erased.sessionIds.sort()).toEqual([first.session.id, second.session.id].sort());

    const hook = await h.receiver.waitFor(
      (w) =>
        w.json.type === "subject.erased" &&
        (w.json.data as unknown as { subject: { clientReferenceId: string } }).subject.clientReferenceId ===
          ref,
    );
    const verified = new Webhook(tenant.webhookSecret).verify(hook.body, {
      "webhook-id": String(hook.headers["webhook-id"]),
      "webhook-timestamp": String(hook.headers["webhook-timestamp"]),
      "webhook-signature": String(hook.headers["webhook-signature"]),
    });
    expect(verified).toMatchObject({ type: "subject.erased", data: { subject: { clientReferenceId: ref } } });

    const after = (await (
      await h.api(`/v1/subjects/${encodeURIComponent(ref)}`, { key: tenant.apiKey })
    ).json()) as {
      subject: { sessions: unknown[]; deliveries: unknown[]; audit: { action: string }[] };
    };
    expect(after.subject.sessions).toEqual([]);
    expect(after.subject.deliveries).toEqual([]);
    // What remains is the record that the subject was exported and erased, by whom and when.
    expect(after.subject.audit.map((a) => a.action)).toEqual([
      "subject.export",
      "subject.erase",
      "subject.export",
    ]);

    for (const id of [first.session.id, second.session.id]) {
      expect(await count("SELECT COUNT(*) AS n FROM sessions WHERE id = ?", id)).toBe(0);
      expect(await count("SELECT COUNT(*) AS n FROM reports WHERE session_id = ?", id)).toBe(0);
      expect(await count("SELECT COUNT(*) AS n FROM node_outcomes WHERE session_id = ?", id)).toBe(0);
      expect(
        await count("SELECT COUNT(*) AS n FROM deliveries WHERE session_id = ? AND payload IS NOT NULL", id),
      ).toBe(0);
      await problem(await h.api(`/v1/sessions/${id}`, { key: tenant.apiKey }), 404, "ERR_NOT_FOUND");
    }
    // The audit log proves the erasure without keeping the reference it erased.
    const audit = await h.platform.db
      .prepare("SELECT actor, action, target FROM audit_log WHERE tenant_id = ? AND action LIKE 'subject.%'")
      .bind(tenant.tenantId)
      .all<{ actor: string; action: string; target: string }>();
    expect(audit.results.length).toBe(3);
    for (const row of audit.results) {
      expect(row.actor).toBe(tenant.apiKeyId);
      expect(row.target).toMatch(/^subject:[0-9a-f]{64}$/);
      expect(row.target).not.toContain(ref);
    }
    // The other subject is untouched; erasing a subject with nothing held still answers 200.
    expect((await h.api(`/v1/sessions/${bystander.session.id}`, { key: tenant.apiKey })).status).toBe(200);
    const empty = await h.api("/v1/subjects/nobody-here", { method: "DELETE", key: tenant.apiKey });
    expect(await empty.json()).toMatchObject({ clientReferenceId: "nobody-here", sessionIds: [] });
  });

  it("scopes subjects to the tenant", async () => {
    const owner = await h.newTenant("subject-owner");
    const other = await h.newTenant("subject-other");
    const { session } = await createSession(h, { clientReferenceId: "shared-ref" }, owner.apiKey);
    const seen = (await (await h.api("/v1/subjects/shared-ref", { key: other.apiKey })).json()) as {
      subject: { sessions: unknown[] };
    };
    expect(seen.subject.sessions).toEqual([]);
    await h.api("/v1/subjects/shared-ref", { method: "DELETE", key: other.apiKey });
    expect((await h.api(`/v1/sessions/${session.id}`, { key: owner.apiKey })).status).toBe(200);
  });
});

describe("erasing one session", () => {
  it("erases an ended session with its report and payloads, emits session.erased, audited", async () => {
    const tenant = await h.newTenant("erase-one");
    const { session } = await createSession(h, { clientReferenceId: "erase-one" }, tenant.apiKey);
    await h.api(`/v1/sessions/${session.id}/cancel`, { method: "POST", key: tenant.apiKey });
    const other = await h.newTenant("erase-one-other");
    await problem(
      await h.api(`/v1/sessions/${session.id}`, { method: "DELETE", key: other.apiKey }),
      404,
      "ERR_NOT_FOUND",
    );

    const res = await h.api(`/v1/sessions/${session.id}`, { method: "DELETE", key: tenant.apiKey });
    expect(res.status).toBe(204);
    const hook = await h.receiver.waitFor(
      (w) => w.json.type === "session.erased" && w.json.data.session.id === session.id,
    );
    expect(hook.json.data.session).toMatchObject({ id: session.id, clientReferenceId: "erase-one" });
    await problem(await h.api(`/v1/sessions/${session.id}`, { key: tenant.apiKey }), 404, "ERR_NOT_FOUND");
    await problem(
      await h.api(`/v1/sessions/${session.id}`, { method: "DELETE", key: tenant.apiKey }),
      404,
      "ERR_NOT_FOUND",
    );
    expect(await count("SELECT COUNT(*) AS n FROM sessions WHERE id = ?", session.id)).toBe(0);
    expect(
      await count(
        "SELECT COUNT(*) AS n FROM deliveries WHERE session_id = ? AND payload IS NOT NULL",
        session.id,
      ),
    ).toBe(0);
    const audit = await h.platform.db
      .prepare("SELECT actor FROM audit_log WHERE action = 'session.erase' AND target = ?")
      .bind(session.id)
      .all<{ actor: string }>();
    expect(audit.results).toEqual([{ actor: tenant.apiKeyId }]);
  });

  it("cancels a running session through its Durable Object before erasing it", async () => {
    const tenant = await h.newTenant("erase-running");
    const { session, clientSecret } = await createSession(
      h,
      { clientReferenceId: "erase-running" },
      tenant.apiKey,
    );
    const client = await ScriptedClient.connect(h.platform.url, clientSecret.secret);
    await h.receiver.waitFor(
      (w) => w.json.type === "session.started" && w.json.data.session.id === session.id,
    );

    const res = await h.api(`/v1/sessions/${session.id}`, { method: "DELETE", key: tenant.apiKey });
    expect(res.status).toBe(204);
    // The browser is told the session ended, and nothing of it is left in D1.
    const closed = await client.closed;
    expect(closed.code).not.toBe(1006);
    expect(client.messages.find((m) => m.type === "complete")).toMatchObject({ status: "incomplete" });
    await h.receiver.waitFor(
      (w) => w.json.type === "session.erased" && w.json.data.session.id === session.id,
    );
    expect(await count("SELECT COUNT(*) AS n FROM sessions WHERE id = ?", session.id)).toBe(0);
    expect(await count("SELECT COUNT(*) AS n FROM reports WHERE session_id = ?", session.id)).toBe(0);
    expect(await count("SELECT COUNT(*) AS n FROM node_outcomes WHERE session_id = ?", session.id)).toBe(0);
    // The session.incomplete written by the cancel was never sent: its payload went with the session.
    const pending = await h.platform.db
      .prepare(
        "SELECT status, last_error, payload FROM deliveries WHERE session_id = ? AND event_type = 'session.incomplete'",
      )
      .bind(session.id)
      .all<{ status: string; last_error: string | null; payload: string | null }>();
    for (const row of pending.results) {
      expect(row.payload).toBeNull();
      expect(["cancelled", "delivered"]).toContain(row.status);
    }
  });
});
