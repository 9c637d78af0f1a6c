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
 *   forwards to the real queue or refuses every send; it is closed after the status is written,
 *   the window the transactional outbox (lib/outbox.ts) exists for.
 *
 * - The session Durable Object restarted: workerd stopped and started again on the same state
 *   (moved here from faults.test.ts so that one persisted platform serves every case).
 *
 * Every session case asserts the fault contract of faults.test.ts: a terminal status, exactly one
 * terminal event per session by `webhook-id`, every delivery row delivered and received, and a
 * report whose `degraded` list says what happened.
 */
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { gateQueue } from "../../scripts/lib/platform.ts";
import { ScriptedClient } from "../../scripts/lib/scripted-client.ts";
import {
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

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

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

/** A WebSocket handshake by hand, to read the HTTP answer of a refused upgrade. */
function rawUpgrade(
  secret: string,
): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(new URL("/v1/connect", h.platform.url), {
      headers: {
        connection: "Upgrade",
        upgrade: "websocket",
        "sec-websocket-version": "13",
        "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
        "sec-websocket-protocol": `facet.v1, ${secret}`,
      },
    });
    req.on("response", (res) => {
      let body = "";
      res.on("data", (c: Buffer) => {
        body += c.toString();
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on("upgrade", (_res, socket) => {
      socket.destroy();
      reject(new Error("upgrade was accepted"));
    });
    req.on("error", reject);
    req.end();
  });
}

interface Settled {
  status: string;
  incompleteReason: string | null;
  degraded: string[];
  terminalWebhookId: string;
}

/** The contract of every fault case (faults.test.ts › expectSettled), for one session. */
async function expectSettled(sessionId: string): Promise<Settled> {
  await h.receiver.waitFor(
    (a) => a.sessionId === sessionId && (a.type === "session.completed" || a.type === "session.incomplete"),
    60_000,
  );
  // Let any duplicate or late event arrive before counting.
  await sleep(1500);
  const terminal = terminalEvents(h.receiver, sessionId);
  expect(terminal, "exactly one terminal webhook-id for the session").toHaveLength(1);
  const rows = (
    await h.platform.db
      .prepare("SELECT id, event_type, status FROM deliveries WHERE session_id = ?")
      .bind(sessionId)
      .all<{ id: string; event_type: string; status: string }>()
  ).results;
  expect(rows.map((r) => r.event_type).sort()).toEqual(
    expect.arrayContaining(["session.created", "session.started"]),
  );
  expect(
    rows.filter((r) => r.event_type.startsWith("session.") && /completed|incomplete/.test(r.event_type)),
  ).toHaveLength(1);
  const receivedIds = new Set(h.receiver.delivered().map((a) => a.webhookId));
  for (const row of rows) {
    expect(row.status, `${row.event_type} delivery`).toBe("delivered");
    expect(receivedIds.has(row.id), `${row.event_type} received`).toBe(true);
  }
  const outbox = await h.platform.db
    .prepare("SELECT sent_at FROM event_outbox WHERE session_id = ?")
    .bind(sessionId)
    .all<{ sent_at: number | null }>();
  expect(outbox.results).toHaveLength(1);
  expect(outbox.results[0]?.sent_at).not.toBeNull();
  const res = await h.api(`/v1/sessions/${sessionId}`);
  const { session } = (await res.json()) as { session: { status: string } };
  expect(["complete", "incomplete"]).toContain(session.status);
  const [event] = terminal;
  if (!event) throw new Error("unreachable");
  const view = (JSON.parse(event.body) as SessionPayload).data.session;
  if (!view?.report) throw new Error("terminal event without a report");
  expect(view.status).toBe(session.status);
  return {
    status: view.status,
    incompleteReason: view.incompleteReason,
    degraded: view.report.degraded.map((d) => `${d.component}/${d.code}`),
    terminalWebhookId: event.webhookId,
  };
}

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
      refused = await rawUpgrade(secret);
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
    // Real time and 8 s of liveness: `session.started` (sent directly, not through the outbox)
    // is delivered well before the end, and the gate closes in between.
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
        .prepare("SELECT sent_at, messages FROM event_outbox WHERE session_id = ?")
        .bind(sessionId)
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
    const row = await h.platform.db
      .prepare("SELECT messages FROM event_outbox WHERE session_id = ?")
      .bind(sessionId)
      .first<{ messages: string }>();
    const ids = (JSON.parse(row?.messages ?? "[]") as { deliveryId: string }[]).map((m) => m.deliveryId);
    expect(ids).toEqual([settled.terminalWebhookId]);
  });
});

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
