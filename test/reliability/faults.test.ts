/**
 * Fault injection against the whole running platform (docs/reliability.md, fault matrix).
 * Every case asserts the same contract: the session reaches a terminal state, the integrator
 * receives exactly one terminal event for it (deduplicated by webhook-id and by session id),
 * nothing emitted is lost (every delivery row ends `delivered` and was received), and the
 * report's `degraded` list names what degraded.
 *
 * Analyzer faults (throw / hang past ANALYZER_TIMEOUT_MS) are covered by
 * test/edge/degraded.test.ts and not repeated here. Faults that need the platform's state on
 * disk — D1 locked, the queue refusing sends, the session Durable Object restarted — are in
 * storage-faults.test.ts, which starts one persisted platform for all of them.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DeliveryMessage } from "../../lib/events.ts";
import { ScriptedClient } from "../../scripts/lib/scripted-client.ts";
import { sleep, until } from "../support/wait.ts";
import { expectSettled as expectSettledFor } from "./fault-contract.ts";
import {
  LIVE_FRAME,
  type ReliabilityHarness,
  type Report,
  startReliabilityHarness,
  TONE,
} from "./support.ts";

let h: ReliabilityHarness;
beforeAll(async () => {
  h = await startReliabilityHarness();
});
afterAll(async () => {
  await h?.dispose();
});

/** Runs one liveness session over the widget protocol; resolves when the socket closes. */
async function runSession(msPerCaptureSecond: number, during?: (sessionId: string) => Promise<void>) {
  const { sessionId, secret } = await h.createSession();
  const client = await ScriptedClient.connect(h.platform.url, secret);
  const streaming = client.stream({ frames: [LIVE_FRAME], audio: TONE, msPerCaptureSecond }, 60);
  if (during) await during(sessionId);
  const closed = await streaming;
  return { sessionId, closed, client };
}

/** The fault contract (fault-contract.ts), within 40 s. */
const expectSettled = (sessionId: string) => expectSettledFor(h, sessionId, 40_000);

const codes = (report: Report) => report.degraded.map((d) => `${d.component}/${d.code}`);

describe("tokenization service", () => {
  it("down for the whole session: the session still ends, liveness finds no face, the loss is named", async () => {
    // Down from the moment the widget connects: session creation itself needs the service's key
    // API (field encryption), so "down before create" is a refused create (502), not a session.
    try {
      const { sessionId } = await runSession(200, () => h.proxy.down());
      const settled = await expectSettled(sessionId);
      expect(settled.status).toBe("complete");
      expect(settled.report.nodes.find((n) => n.id === "live")?.outcome).toBe("no_face");
      expect(settled.report.risk.decision).not.toBe("approve");
      expect(codes(settled.report)).toContain("tokenizer/TOKENIZER_WINDOWS_LOST");
      expect(h.tokenizer.batches.get(sessionId) ?? 0).toBe(0);
    } finally {
      await h.proxy.up();
    }
  });

  it("slow past the 10 s timeout for a while: timed-out and shed windows are named, the session recovers", async () => {
    // Every reply byte in the next 2.5 s is held back 11 s (> TOKENIZE_TIMEOUT_MS = 10 s), so the
    // first windows time out; the two in flight block the rest, which are shed.
    const { sessionId } = await runSession(1000, async () => {
      h.proxy.slow(2500, 11_000);
    });
    const settled = await expectSettled(sessionId);
    expect(settled.status).toBe("complete");
    expect(codes(settled.report)).toEqual(
      expect.arrayContaining(["tokenizer/TOKENIZER_WINDOWS_LOST", "session/WINDOWS_SHED"]),
    );
    const lost = settled.report.degraded.find((d) => d.code === "TOKENIZER_WINDOWS_LOST");
    expect(lost?.detail).toMatch(/^[12] media window/);
  }, 60_000);

  it("restarted mid-session (same port): windows in the gap are lost and named, later ones are tokenized", async () => {
    let before = 0;
    const { sessionId } = await runSession(1000, async (id) => {
      await until(() => (h.tokenizer.batches.get(id) ?? 0) >= 1, 15_000, "a first batch");
      before = h.tokenizer.batches.get(id) ?? 0;
      await h.proxy.down();
      await sleep(2000);
      await h.proxy.up();
    });
    const settled = await expectSettled(sessionId);
    expect(settled.status).toBe("complete");
    expect(h.tokenizer.batches.get(sessionId) ?? 0).toBeGreaterThan(before);
    expect(codes(settled.report)).toContain("tokenizer/TOKENIZER_WINDOWS_LOST");
    expect(settled.report.nodes.find((n) => n.id === "live")?.outcome).toBe("live");
  }, 60_000);
});

describe("webhook receiver", () => {
  it("down for the first attempts: each event is redelivered with the same webhook-id and succeeds once", async () => {
    h.receiver.failNext(2); // session.created (and possibly session.started) fail first
    const { sessionId } = await runSession(1000, async (id) => {
      await h.receiver.waitFor((a) => a.sessionId === id && a.type === "session.started");
      h.receiver.failNext(3); // the next three attempts are the terminal event's
    });
    await expectSettled(sessionId);
    const mine = h.receiver.attempts.filter((a) => a.sessionId === sessionId);
    const byId = new Map<string, { failed: number; ok: number; type: string }>();
    for (const a of mine) {
      const entry = byId.get(a.webhookId) ?? { failed: 0, ok: 0, type: a.type };
      if (a.status >= 200 && a.status < 300) entry.ok += 1;
      else entry.failed += 1;
      byId.set(a.webhookId, entry);
    }
    // one webhook-id per event, each delivered exactly once after its failures
    expect([...byId.values()].map((e) => e.type).sort()).toEqual([
      "session.completed",
      "session.created",
      "session.started",
    ]);
    for (const entry of byId.values()) expect(entry.ok).toBe(1);
    const completed = [...byId.values()].find((e) => e.type === "session.completed");
    expect(completed?.failed).toBe(3);
    expect(mine.filter((a) => a.status !== 204).length).toBe(5);
  }, 60_000);
});

describe("queue redelivery", () => {
  it("a redelivered message for a delivered event sends nothing again", async () => {
    const { sessionId } = await runSession(200);
    await expectSettled(sessionId);
    const row = await h.platform.db
      .prepare("SELECT id, endpoint_id, tenant_id FROM deliveries WHERE session_id = ? AND event_type = ?")
      .bind(sessionId, "session.completed")
      .first<{ id: string; endpoint_id: string; tenant_id: string }>();
    if (!row) throw new Error("no completion delivery");
    const queue = await h.platform.mf.getQueueProducer<DeliveryMessage>("EVENTS", "facet-edge");
    const message: DeliveryMessage = {
      deliveryId: row.id,
      endpointId: row.endpoint_id,
      tenantId: row.tenant_id,
      generation: 0,
    };
    const before = h.receiver.attempts.length;
    await queue.send(message, { contentType: "json" });
    await queue.send(message, { contentType: "json" });
    // A marker behind the duplicates: once it arrives, the duplicates have been consumed.
    const ping = await h.api(`/v1/webhook-endpoints/${h.endpointId}/test`, { method: "POST" });
    expect(ping.status).toBe(202);
    const { delivery } = (await ping.json()) as { delivery: { id: string } };
    await h.receiver.waitFor((a) => a.webhookId === delivery.id);
    await sleep(1000);
    const after = h.receiver.attempts.slice(before);
    expect(after.filter((a) => a.webhookId === row.id)).toHaveLength(0);
  });

  it("the same pending message processed twice never reaches the receiver under two ids", async () => {
    const before = h.receiver.attempts.length;
    const ping = await h.api(`/v1/webhook-endpoints/${h.endpointId}/test`, { method: "POST" });
    expect(ping.status).toBe(202);
    const { delivery } = (await ping.json()) as { delivery: { id: string } };
    const queue = await h.platform.mf.getQueueProducer<DeliveryMessage>("EVENTS", "facet-edge");
    await queue.send(
      { deliveryId: delivery.id, endpointId: h.endpointId, tenantId: h.tenant.tenantId, generation: 0 },
      { contentType: "json" },
    );
    await h.receiver.waitFor((a) => a.webhookId === delivery.id);
    await sleep(2500);
    const tests = h.receiver.attempts.slice(before).filter((a) => a.type === "webhook.test");
    // at-least-once with one stable id: every copy the receiver saw carries the delivery's id
    expect(tests.length).toBeGreaterThanOrEqual(1);
    expect(new Set(tests.map((a) => a.webhookId))).toEqual(new Set([delivery.id]));
    const row = await h.platform.db
      .prepare("SELECT status FROM deliveries WHERE id = ?")
      .bind(delivery.id)
      .first<{ status: string }>();
    expect(row?.status).toBe("delivered");
    console.log(
      `queue duplicate of a pending delivery: receiver saw ${tests.length} POST(s), one webhook-id`,
    );
  });
});
