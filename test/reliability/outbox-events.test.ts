/**
 * The events that announce an erasure or an endpoint disable go through the transactional outbox
 * (docs/reliability.md "Outbox", lib/outbox-records.ts), against the whole running platform with
 * nothing under test mocked. The edge's `EVENTS` producer goes through the queue gate
 * (scripts/lib/platform.ts); each case closes it across the operation, so the inline dispatch
 * records the deliveries and then fails at the queue. Before the outbox that lost the event (the
 * erasure or disable was written, the send threw, nothing retried it); now the row stays pending
 * and the five-minute sweep, fired with `scheduledTime` 31 s on, sends it once with the
 * `webhook-id` the failed dispatch recorded. The erasure rows are also checked for what they keep:
 * identifiers only, the reference sealed, and nothing once the deliveries hold the body.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { gateQueue } from "../../scripts/lib/platform.ts";
import { sleep, until } from "../support/wait.ts";
import {
  type Attempt,
  fireSweepCron,
  type RecordingReceiver,
  type ReliabilityHarness,
  startRecordingReceiver,
  startReliabilityHarness,
} from "./support.ts";

let h: ReliabilityHarness;
let failing: RecordingReceiver | undefined;
beforeAll(async () => {
  h = await startReliabilityHarness({ queueGate: true });
});
afterAll(async () => {
  await failing?.close();
  await h?.dispose();
});

interface OutboxRow {
  id: string;
  session_id: string | null;
  sent_at: number | null;
  attempts: number;
  messages: string | null;
  data: string | null;
}

const outboxRows = async (eventType: string) =>
  (
    await h.platform.db
      .prepare(
        "SELECT id, session_id, sent_at, attempts, messages, data FROM event_outbox WHERE event_type = ?",
      )
      .bind(eventType)
      .all<OutboxRow>()
  ).results;

/**
 * Runs `operation` with the queue gate closed and waits until the inline dispatch of the one
 * outbox row of `eventType` it wrote recorded its deliveries; returns that row as the failed
 * dispatch left it.
 */
async function withQueueClosed(eventType: string, operation: () => Promise<void>): Promise<OutboxRow> {
  await gateQueue(h.platform, "close");
  try {
    await operation();
    await until(
      async () => (await outboxRows(eventType)).some((r) => r.attempts >= 1),
      30_000,
      `the inline dispatch of ${eventType} to have been tried`,
    );
    const rows = await outboxRows(eventType);
    expect(rows, `one ${eventType} row`).toHaveLength(1);
    const [row] = rows;
    if (!row) throw new Error("unreachable");
    expect(row.sent_at, "pending while the queue refuses").toBeNull();
    expect(h.receiver.delivered().filter((a) => a.type === eventType)).toHaveLength(0);
    return row;
  } finally {
    await gateQueue(h.platform, "open");
  }
}

/** Fires the sweep, then expects exactly one delivered `eventType`, with the recorded webhook-id. */
async function sweptOnce(eventType: string, row: OutboxRow): Promise<Attempt> {
  await fireSweepCron(h, Date.now() + 31_000);
  const event = await h.receiver.waitFor((a) => a.type === eventType);
  await sleep(1500); // a duplicate would arrive by now
  const ids = new Set(
    h.receiver
      .delivered()
      .filter((a) => a.type === eventType)
      .map((a) => a.webhookId),
  );
  expect(ids.size, `one ${eventType} webhook-id`).toBe(1);
  const recorded = (JSON.parse(row.messages ?? "[]") as { deliveryId: string }[]).map((m) => m.deliveryId);
  expect(recorded).toEqual([event.webhookId]);
  const [after] = (await outboxRows(eventType)).filter((r) => r.id === row.id);
  expect(after?.sent_at, "marked sent").not.toBeNull();
  return event;
}

describe("erasure events through the outbox (queue refusing sends during the erasure)", () => {
  it("session.erased: written with the deletion, identifiers only, sent once by the sweep", async () => {
    const ref = `outbox-erase-${crypto.randomUUID()}`;
    const { sessionId } = await h.createSession({ clientReferenceId: ref });
    await h.receiver.waitFor((a) => a.sessionId === sessionId && a.type === "session.created");
    const row = await withQueueClosed("session.erased", async () => {
      const res = await h.api(`/v1/sessions/${sessionId}`, { method: "DELETE" });
      expect(res.status, "the erasure succeeds although the queue refuses").toBe(204);
    });
    expect(row.id).toBe(`erased:${sessionId}`);
    // The deliveries hold the (sealed) body now; the row keeps ids only, no reference.
    expect(row.data).toBeNull();
    expect(JSON.stringify(row)).not.toContain(ref);
    const gone = await h.platform.db
      .prepare("SELECT COUNT(*) AS n FROM sessions WHERE id = ?")
      .bind(sessionId)
      .first<{ n: number }>();
    expect(gone?.n, "the session is erased").toBe(0);

    const event = await sweptOnce("session.erased", row);
    const body = JSON.parse(event.body) as {
      timestamp: string;
      data: { session: { id: string; clientReferenceId: string; erasedAt: string } };
    };
    expect(Object.keys(body.data.session).sort()).toEqual(["clientReferenceId", "erasedAt", "id"]);
    expect(body.data.session).toMatchObject({ id: sessionId, clientReferenceId: ref });
    expect(body.timestamp).toBe(body.data.session.erasedAt);
    // Sending it re-created nothing of the session.
    expect(
      (
        await h.platform.db
          .prepare("SELECT COUNT(*) AS n FROM sessions WHERE id = ?")
          .bind(sessionId)
          .first<{ n: number }>()
      )?.n,
    ).toBe(0);
  });

  it("subject.erased: recorded with the erasure's audit row, no reference left in the row, sent once by the sweep", async () => {
    const ref = `outbox-subject-${crypto.randomUUID()}`;
    const { sessionId } = await h.createSession({ clientReferenceId: ref });
    await h.receiver.waitFor((a) => a.sessionId === sessionId && a.type === "session.created");
    const row = await withQueueClosed("subject.erased", async () => {
      const res = await h.api(`/v1/subjects/${encodeURIComponent(ref)}`, { method: "DELETE" });
      expect(res.status, "the erasure succeeds although the queue refuses").toBe(200);
      expect(((await res.json()) as { sessionIds: string[] }).sessionIds).toEqual([sessionId]);
    });
    expect(row.id).toMatch(/^subject-erased:evt_/);
    expect(row.session_id).toBeNull();
    expect(row.data).toBeNull();
    expect(JSON.stringify(row)).not.toContain(ref);

    const event = await sweptOnce("subject.erased", row);
    const body = JSON.parse(event.body) as {
      data: { subject: { clientReferenceId: string; sessionIds: string[]; erasedAt: string } };
    };
    expect(body.data.subject).toMatchObject({ clientReferenceId: ref, sessionIds: [sessionId] });
  });
});

describe("endpoint.disabled through the outbox (queue refusing sends when the endpoint is disabled)", () => {
  it("the disable and its row land together; the sweep sends the event once to the other endpoint", async () => {
    const down = await startRecordingReceiver();
    failing = down;
    down.failNext(Number.MAX_SAFE_INTEGER);
    const registered = await h.api("/v1/webhook-endpoints", {
      method: "POST",
      body: JSON.stringify({ url: down.url, events: ["webhook.test"] }),
    });
    expect(registered.status).toBe(201);
    const { id: endpointId } = (await registered.json()) as { id: string };
    // The pings are enqueued before the gate closes (the gate is the producer; the consumer's
    // retries do not pass it); three dead deliveries disable the endpoint (docs/webhooks.md).
    for (let i = 0; i < 3; i++) {
      const ping = await h.api(`/v1/webhook-endpoints/${endpointId}/test`, { method: "POST" });
      expect(ping.status).toBe(202);
    }
    const row = await withQueueClosed("endpoint.disabled", () =>
      until(
        async () =>
          ((await (await h.api(`/v1/webhook-endpoints/${endpointId}`)).json()) as { enabled: boolean })
            .enabled === false,
        55_000,
        "the endpoint to be disabled",
      ),
    );
    expect(row.id).toMatch(new RegExp(`^disabled:${endpointId}:\\d+$`));
    expect(row.data, "cleared once the deliveries were recorded").toBeNull();

    const event = await sweptOnce("endpoint.disabled", row);
    const body = JSON.parse(event.body) as {
      timestamp: string;
      data: { endpoint: { id: string; url: string; disabledReason: string; disabledAt: string } };
    };
    const shown = (await (await h.api(`/v1/webhook-endpoints/${endpointId}`)).json()) as {
      disabledReason: string;
      disabledAt: string;
    };
    expect(body.data.endpoint).toEqual({
      id: endpointId,
      url: down.url,
      disabledReason: shown.disabledReason,
      disabledAt: shown.disabledAt,
    });
    expect(body.timestamp).toBe(shown.disabledAt);
    expect(down.attempts.filter((a) => a.type === "endpoint.disabled")).toHaveLength(0);
  }, 120_000);
});
