/**
 * Storage and queue faults against the whole running platform (docs/reliability.md, "D1 faults"
 * and "Outbox"). Nothing in the code under test is mocked:
 *
 * - D1: the platform persists D1 to disk (Miniflare's `resourcePersistencePath`); the test opens
 *   that SQLite file itself and holds `BEGIN EXCLUSIVE` on it for the length of the fault. D1
 *   runs in WAL mode, so reads still succeed and every write fails with SQLITE_BUSY, as a locked
 *   or overloaded database does. Cases: API writes during the fault, session creation, the
 *   connect transition (`created` → `in_progress`), and the end of a session (status + report).
 * - Queue: the edge's `EVENTS` producer goes through a gate Worker (scripts/lib/platform.ts) that
 *   forwards to the real queue or refuses every send; it is closed after the terminal status is
 *   written, and while a session is created and started: the windows the transactional outbox
 *   (lib/outbox.ts) exists for.
 *
 * - The session Durable Object restarted: workerd stopped and started again on the same state
 *   (moved here from faults.test.ts so that one persisted platform serves every case).
 *
 * Every session case asserts the fault contract of faults.test.ts: a terminal status, exactly one
 * terminal event per session by `webhook-id`, every delivery row delivered and received, and a
 * report whose `degraded` list says what happened.
 */
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { gateQueue } from "../../scripts/lib/platform.ts";
import { ScriptedClient } from "../../scripts/lib/scripted-client.ts";
import { rawUpgrade } from "../support/raw-upgrade.ts";
import { sleep, until } from "../support/wait.ts";
import { expectSettled as expectSettledFor } from "./fault-contract.ts";
import {
  fireSweepCron,
  LIVE_FRAME,
  type ReliabilityHarness,
  type SessionPayload,
  startReliabilityHarness,
  TONE,
  terminalEvents,
} from "./support.ts";

let h: ReliabilityHarness;
let persistDir: string;
beforeAll(async () => {
  persistDir = mkdtempSync(join(tmpdir(), "facet-storage-faults-"));
  h = await startReliabilityHarness({ persistDir, queueGate: true });
});
afterAll(async () => {
  await h?.dispose();
  if (persistDir) rmSync(persistDir, { recursive: true, force: true });
});

/** The D1 database file Miniflare persists (not its metadata database). */
function d1File(): string {
  const dir = join(persistDir, "d1", "miniflare-D1DatabaseObject");
  const file = readdirSync(dir).find((f) => f.endsWith(".sqlite") && f !== "metadata.sqlite");
  if (!file) throw new Error("no persisted D1 database");
  return join(dir, file);
}

/** Holds an exclusive lock on D1's file until `release()`: writes fail, WAL readers go on. */
function lockD1(): { release(): void } {
  const db = new DatabaseSync(d1File());
  db.exec("PRAGMA busy_timeout = 10000");
  db.exec("BEGIN EXCLUSIVE");
  return {
    release() {
      db.exec("ROLLBACK");
      db.close();
    },
  };
}

async function expectStorageProblem(res: Response, what: string) {
  expect(res.status, what).toBe(503);
  expect(res.headers.get("content-type"), what).toBe("application/problem+json");
  expect(res.headers.get("retry-after"), what).toBe("2");
  expect(res.headers.get("cache-control"), what).toBe("no-store");
  const problem = (await res.json()) as { code: string; status: number };
  expect(problem.code, what).toBe("ERR_STORAGE_UNAVAILABLE");
  expect(problem.status).toBe(503);
}

/** The fault contract (fault-contract.ts). */
const expectSettled = (sessionId: string) => expectSettledFor(h, sessionId);

/** Streams one liveness session, by default at 5× real time. */
async function streamSession(secret: string, msPerCaptureSecond = 200) {
  const client = await ScriptedClient.connect(h.platform.url, secret);
  const closed = client.stream({ frames: [LIVE_FRAME], audio: TONE, msPerCaptureSecond }, 60);
  return { client, closed };
}

describe("D1 unavailable (exclusive lock on the database file)", () => {
  it("API writes during the fault get a documented 503 with Retry-After; reads go on; a retried create lands once", async () => {
    const { sessionId } = await h.createSession();
    const lock = lockD1();
    let createAfter: Response;
    try {
      const create = () =>
        h.api("/v1/sessions", {
          method: "POST",
          headers: { "idempotency-key": "d1-fault-create" },
          body: JSON.stringify({ clientReferenceId: "d1-user", flow: LIVE_FLOW }),
        });
      await expectStorageProblem(await create(), "create session");
      await expectStorageProblem(
        await h.api("/v1/webhook-endpoints", {
          method: "POST",
          body: JSON.stringify({ url: h.receiver.url }),
        }),
        "register endpoint",
      );
      await expectStorageProblem(
        await h.api(`/v1/sessions/${sessionId}/cancel`, { method: "POST" }),
        "cancel",
      );
      // Reading one session writes its audit row (R1), so it is refused the same way.
      await expectStorageProblem(await h.api(`/v1/sessions/${sessionId}`), "read one session");
      // Listing writes nothing and WAL readers are not blocked.
      const list = await h.api("/v1/sessions?limit=5");
      expect(list.status).toBe(200);
      lock.release();
      createAfter = await create();
    } catch (error) {
      lock.release();
      throw error;
    }
    expect(createAfter.status).toBe(201);
    const { session } = (await createAfter.json()) as { session: { id: string } };
    const replay = await h.api("/v1/sessions", {
      method: "POST",
      headers: { "idempotency-key": "d1-fault-create" },
      body: JSON.stringify({ clientReferenceId: "d1-user", flow: LIVE_FLOW }),
    });
    expect(replay.status, "idempotent replay").toBe(200);
    expect(((await replay.json()) as { session: { id: string } }).session.id).toBe(session.id);
    const count = await h.platform.db
      .prepare("SELECT count(*) AS n FROM sessions WHERE tenant_id = ? AND id = ?")
      .bind(h.tenant.tenantId, session.id)
      .first<{ n: number }>();
    expect(count?.n).toBe(1);
    // Documented: every operation of the OpenAPI document lists the 503.
    const doc = (await (await fetch(new URL("/openapi.json", h.platform.url))).json()) as {
      paths: Record<string, Record<string, { responses: Record<string, unknown> }>>;
    };
    const operations = Object.values(doc.paths).flatMap((methods) => Object.values(methods));
    expect(operations.length).toBeGreaterThan(10);
    for (const op of operations) expect(Object.keys(op.responses)).toContain("503");
  });

  it("at the connect transition: the upgrade is refused with 503 and the secret stays usable; the session then ends once", async () => {
    const { sessionId, secret } = await h.createSession();
    const lock = lockD1();
    let refused: Awaited<ReturnType<typeof rawUpgrade>>;
    try {
      refused = await rawUpgrade(h.platform.url, `facet.v1, ${secret}`);
    } finally {
      lock.release();
    }
    expect(refused.status).toBe(503);
    expect(refused.headers["retry-after"]).toBe("2");
    expect(JSON.parse(refused.body).code).toBe("ERR_STORAGE_UNAVAILABLE");
    // The refused transition changed nothing: the same single-use secret connects now.
    const { closed } = await streamSession(secret);
    await closed;
    const settled = await expectSettled(sessionId);
    expect(settled.status).toBe("complete");
  });

  it("at the end (status, outcomes and report write): the end is retried until D1 is back; one event; the report says so", async () => {
    const { sessionId, secret } = await h.createSession();
    const { client, closed } = await streamSession(secret);
    // The fault starts while the liveness node runs (nothing is written to D1 then) and lasts
    // until 4 s after the node has its minimum usable media, which ends the session.
    await client.waitFor((m) => m.type === "progress");
    const lock = lockD1();
    try {
      await client.waitFor((m) => m.type === "progress" && m.usableSeconds >= m.requiredSeconds, 30_000);
      await sleep(4000);
      const res = await h.api("/v1/sessions?limit=50");
      const listed = (await res.json()) as { data: { id: string; status: string }[] };
      expect(listed.data.find((s) => s.id === sessionId)?.status, "not ended while D1 is locked").toBe(
        "in_progress",
      );
    } finally {
      lock.release();
    }
    await closed;
    const settled = await expectSettled(sessionId);
    expect(settled.status).toBe("complete");
    expect(settled.degraded).toContain("storage/OUTCOME_RECORD_RETRIED");
  });
});

describe("queue unavailable after the status is written (transactional outbox)", () => {
  it("the status is recorded, the event waits in the outbox and arrives exactly once when the queue is back", async () => {
    // Real time and 8 s of liveness: `session.started` is delivered well before the end, and the
    // gate closes in between.
    const { sessionId, secret } = await h.createSession({ flow: flowWithLiveness(8) });
    const { closed } = await streamSession(secret, 1000);
    await h.receiver.waitFor((a) => a.sessionId === sessionId && a.type === "session.started");
    await gateQueue(h.platform, "close");
    const before = (await (await h.api("/v1/sessions?limit=50")).json()) as {
      data: { id: string; status: string }[];
    };
    expect(before.data.find((s) => s.id === sessionId)?.status, "gate closed before the end").toBe(
      "in_progress",
    );
    try {
      await until(
        async () => {
          const res = await h.api("/v1/sessions?limit=50");
          const listed = (await res.json()) as { data: { id: string; status: string }[] };
          return listed.data.find((s) => s.id === sessionId)?.status === "complete";
        },
        30_000,
        "the terminal status to be written",
      );
      const pending = await h.platform.db
        .prepare("SELECT sent_at, messages FROM event_outbox WHERE id = ?")
        .bind(`terminal:${sessionId}`)
        .first<{ sent_at: number | null; messages: string | null }>();
      expect(pending?.sent_at, "outbox row still pending while the queue refuses").toBeNull();
      expect(terminalEvents(h.receiver, sessionId)).toHaveLength(0);
    } finally {
      await gateQueue(h.platform, "open");
    }
    await closed;
    const settled = await expectSettled(sessionId);
    expect(settled.status).toBe("complete");
    // The same webhook-id the first (failed) dispatch recorded.
    expect(await outboxDeliveryIds(`terminal:${sessionId}`)).toEqual([settled.terminalWebhookId]);
  });

  it("closed while a session is created and started: both events wait in the outbox, the sweep sends each once, as of its moment", async () => {
    await gateQueue(h.platform, "close");
    let sessionId = "";
    let closed: Promise<unknown> = Promise.resolve();
    try {
      const created = await h.createSession({ flow: flowWithLiveness(8) });
      sessionId = created.sessionId;
      ({ closed } = await streamSession(created.secret, 1000));
      // Both rows were written with their state change; the inline dispatch recorded the
      // deliveries (attempts = 1) and then failed at the queue, leaving them pending.
      const rows = async () =>
        (
          await h.platform.db
            .prepare(
              "SELECT id, sent_at, attempts FROM event_outbox WHERE session_id = ? AND id NOT LIKE 'terminal:%' ORDER BY id",
            )
            .bind(sessionId)
            .all<{ id: string; sent_at: number | null; attempts: number }>()
        ).results;
      await until(
        async () => (await rows()).filter((r) => r.attempts >= 1).length === 2,
        15_000,
        "both inline dispatches to have been tried",
      );
      const pending = await rows();
      expect(pending.map((r) => r.id)).toEqual([`created:${sessionId}`, `started:${sessionId}`]);
      for (const row of pending) expect(row.sent_at, `${row.id} pending`).toBeNull();
      expect(h.receiver.delivered().filter((a) => a.sessionId === sessionId)).toHaveLength(0);
    } finally {
      await gateQueue(h.platform, "open");
    }
    // Nothing retries a lifecycle row inline: the five-minute sweep sends it once it is 30 s old
    // (the trigger's scheduledTime is the sweep's clock, so no sleeping).
    await fireSweepCron(h, Date.now() + 31_000);
    const createdEvent = await h.receiver.waitFor(
      (a) => a.sessionId === sessionId && a.type === "session.created",
    );
    const startedEvent = await h.receiver.waitFor(
      (a) => a.sessionId === sessionId && a.type === "session.started",
    );
    // The webhook-ids the failed dispatches recorded, not new ones.
    expect(await outboxDeliveryIds(`created:${sessionId}`)).toEqual([createdEvent.webhookId]);
    expect(await outboxDeliveryIds(`started:${sessionId}`)).toEqual([startedEvent.webhookId]);
    // Sent late, each still describes the session at its own moment (lib/outbox.ts asOfEvent).
    const at = (a: { body: string }) => (JSON.parse(a.body) as SessionPayload).data.session;
    expect(at(createdEvent)).toMatchObject({ status: "created", startedAt: null, report: null });
    expect(at(startedEvent)).toMatchObject({ status: "in_progress", finishedAt: null, report: null });
    await closed;
    const settled = await expectSettled(sessionId);
    expect(settled.status).toBe("complete");
    // Exactly one of each, by webhook-id.
    for (const type of ["session.created", "session.started"]) {
      const ids = new Set(
        h.receiver
          .delivered()
          .filter((a) => a.sessionId === sessionId && a.type === type)
          .map((a) => a.webhookId),
      );
      expect(ids.size, type).toBe(1);
    }
  });
});

/** The `webhook-id`s an outbox row fixed when it recorded its deliveries. */
async function outboxDeliveryIds(outboxId: string): Promise<string[]> {
  const row = await h.platform.db
    .prepare("SELECT messages FROM event_outbox WHERE id = ?")
    .bind(outboxId)
    .first<{ messages: string }>();
  return (JSON.parse(row?.messages ?? "[]") as { deliveryId: string }[]).map((m) => m.deliveryId);
}

describe("session Durable Object restarted (workerd stopped and started on the same state)", () => {
  // Miniflare's unsafeEvictDurableObject refuses while the edge still proxies the WebSocket
  // ("still has active references"), so the restart is the real thing.
  async function restartDuringSession(before?: () => Promise<void>) {
    const { sessionId, secret } = await h.createSession();
    const { closed } = await streamSession(secret, 1000);
    await until(() => (h.tokenizer.batches.get(sessionId) ?? 0) >= 1, 15_000, "a first batch");
    await before?.();
    await h.restartPlatform();
    return { sessionId, closed: await closed };
  }

  it("restarted mid-session: on the new instance the alarm ends it incomplete and the event is sent", async () => {
    const { sessionId, closed } = await restartDuringSession();
    expect(closed.code).not.toBe(1000);
    const settled = await expectSettled(sessionId);
    expect(settled.status).toBe("incomplete");
    expect(["interrupted", "disconnected"]).toContain(settled.incompleteReason);
  }, 90_000);

  it("restarted while the key service is down: completion is retried until it can be recorded, then the event is sent", async () => {
    // The new workerd has a cold key cache and the session's report must be sealed under the
    // tenant's data key (field encryption), which the tokenization service's key API unwraps.
    const { sessionId } = await restartDuringSession(() => h.proxy.down());
    // Let the alarm fire and the first completion attempt fail.
    await sleep(8000);
    const row = await h.platform.db
      .prepare("SELECT status FROM sessions WHERE id = ?")
      .bind(sessionId)
      .first<{ status: string }>();
    expect(row?.status).toBe("in_progress");
    await h.proxy.up();
    const settled = await expectSettled(sessionId);
    expect(settled.status).toBe("incomplete");
    expect(["interrupted", "disconnected", "error"]).toContain(settled.incompleteReason);
    expect(settled.degraded).toContain("storage/OUTCOME_RECORD_RETRIED");
  }, 120_000);
});

function flowWithLiveness(minSeconds: number) {
  return [
    { id: "start", type: "start", next: "perm" },
    { id: "perm", type: "permissions", outcomes: { granted: "live", denied: "done" } },
    {
      id: "live",
      type: "liveness",
      challenges: 0,
      minSeconds,
      outcomes: { live: "done", spoof: "done", no_face: "done", inconclusive: "done" },
    },
    { id: "done", type: "end" },
  ];
}

const LIVE_FLOW = flowWithLiveness(3);
