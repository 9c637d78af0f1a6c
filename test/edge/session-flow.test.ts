/**
 * The session spine end to end inside workerd: create → WebSocket → frames → tokenizer (fixed
 * payloads over real mTLS) → liveness → six analyzers → fusion → D1 → signed webhook.
 */
import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ScriptedClient } from "../../scripts/lib/scripted-client.ts";
import { createSession, type Harness, startHarness } from "../support/harness.ts";

const LIVE_FRAME = new Uint8Array([0x4c, 0xff, 0xd8, 1, 2, 3]); // profile "L"
const PHOTO_FRAME = new Uint8Array([0x50, 0xff, 0xd8, 1, 2, 3]); // profile "P"
const TONE = Int16Array.from({ length: 16000 }, (_, i) =>
  Math.round(8000 * Math.sin((2 * Math.PI * 150 * i) / 16000)),
);

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.dispose();
});

describe("a complete session", () => {
  it("runs start → permissions → liveness → end to complete and delivers one signed session.completed", async () => {
    const { session, clientSecret } = await createSession(h);
    const client = await ScriptedClient.connect(h.platform.url, clientSecret.secret);
    const closed = await client.stream({ frames: [LIVE_FRAME], audio: TONE });
    expect(closed.code).toBe(1000);
    expect(client.messages.find((m) => m.type === "complete")).toMatchObject({ status: "complete" });

    const hook = await h.receiver.waitFor(
      (w) => w.json.type === "session.completed" && w.json.data.session.id === session.id,
    );
    const verified = new Webhook(h.tenant.webhookSecret).verify(hook.body, {
      "webhook-id": String(hook.headers["webhook-id"]),
      "webhook-timestamp": String(hook.headers["webhook-timestamp"]),
      "webhook-signature": String(hook.headers["webhook-signature"]),
    });
    expect(verified).toMatchObject({ type: "session.completed" });

    const res = await h.api(`/v1/sessions/${session.id}`);
    expect(res.headers.get("cache-control")).toBe("no-store");
    const body = (await res.json()) as {
      session: {
        status: string;
        report: {
          nodes: { id: string; outcome: string }[];
          risk: { decision: string; analyzers: Record<string, unknown> };
        };
      };
    };
    expect(body.session.status).toBe("complete");
    expect(body.session.report.nodes.map((n) => [n.id, n.outcome])).toEqual([
      ["start", "next"],
      ["perm", "granted"],
      ["live", "live"],
    ]);
    expect(Object.keys(body.session.report.risk.analyzers).sort()).toEqual([
      "behavior",
      "coercion",
      "conversation",
      "device_risk",
      "environment",
      "liveness",
    ]);
    expect(
      h.receiver.received.filter(
        (w) => w.json.type === "session.completed" && w.json.data.session.id === session.id,
      ),
    ).toHaveLength(1);
  });

  it("a held-up photo takes the spoof outcome and is not approved", async () => {
    const { session, clientSecret } = await createSession(h);
    const client = await ScriptedClient.connect(h.platform.url, clientSecret.secret);
    await client.stream({ frames: [PHOTO_FRAME], audio: null });
    const hook = await h.receiver.waitFor(
      (w) => w.json.type === "session.completed" && w.json.data.session.id === session.id,
    );
    const report = hook.json.data.session.report as {
      nodes: { id: string; outcome: string }[];
      risk: { decision: string };
    };
    expect(report.nodes.find((n) => n.id === "live")?.outcome).toBe("spoof");
    expect(report.risk.decision).not.toBe("approve");
  });
});
