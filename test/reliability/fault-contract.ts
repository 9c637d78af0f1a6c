/**
 * The contract every fault case keeps (docs/reliability.md, fault matrix), shared by
 * faults.test.ts and storage-faults.test.ts: see `expectSettled`.
 */
import { expect } from "vitest";
import { sleep } from "../support/wait.ts";
import { type ReliabilityHarness, type Report, type SessionPayload, terminalEvents } from "./support.ts";

export interface Settled {
  status: string;
  incompleteReason: string | null;
  report: Report;
  /** the report's `degraded` entries as `component/code` */
  degraded: string[];
  terminalWebhookId: string;
}

/**
 * The contract every fault case keeps, for one session: a terminal status; exactly one terminal
 * event by `webhook-id` and one terminal delivery row; nothing emitted lost (every delivery row
 * `delivered` and received); every lifecycle event through the outbox and sent (lib/outbox.ts);
 * the terminal event's view agreeing with the API.
 */
export async function expectSettled(
  h: ReliabilityHarness,
  sessionId: string,
  timeoutMs = 60_000,
): Promise<Settled> {
  await h.receiver.waitFor(
    (a) => a.sessionId === sessionId && (a.type === "session.completed" || a.type === "session.incomplete"),
    timeoutMs,
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
  expect(rows.filter((r) => /^session\.(completed|incomplete)$/.test(r.event_type))).toHaveLength(1);
  const receivedIds = new Set(h.receiver.delivered().map((a) => a.webhookId));
  for (const row of rows) {
    expect(row.status, `${row.event_type} delivery`).toBe("delivered");
    expect(receivedIds.has(row.id), `${row.event_type} received`).toBe(true);
  }
  const outbox = await h.platform.db
    .prepare("SELECT id, sent_at FROM event_outbox WHERE session_id = ? ORDER BY id")
    .bind(sessionId)
    .all<{ id: string; sent_at: number | null }>();
  expect(outbox.results.map((r) => r.id)).toEqual([
    `created:${sessionId}`,
    `started:${sessionId}`,
    `terminal:${sessionId}`,
  ]);
  for (const row of outbox.results) expect(row.sent_at, `${row.id} sent`).not.toBeNull();
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
    report: view.report,
    degraded: view.report.degraded.map((d) => `${d.component}/${d.code}`),
    terminalWebhookId: event.webhookId,
  };
}
