/**
 * The bench's analyse-after-the-end baseline (ANALYSIS_MODE = "deferred",
 * durable-objects/session/deferred-analysis.ts): every window is held until the session ends and
 * then tokenized — all of them, none shed by the DO's in-flight limit — before the analyzers run
 * and the one completion event goes out. Streaming mode is covered by session-flow.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ScriptedClient } from "../../scripts/lib/scripted-client.ts";
import { createSession, type Harness, startHarness } from "../support/harness.ts";

const LIVE_FRAME = new Uint8Array([0x4c, 0xff, 0xd8, 1, 2, 3]); // fixed tokenizer profile "L"
const CHUNK = new Int16Array(3200).map((_, i) =>
  Math.round(8000 * Math.sin((2 * Math.PI * 150 * i) / 16000)),
);
const EMAIL_FLOW = [
  { id: "start", type: "start", next: "perm" },
  { id: "perm", type: "permissions", outcomes: { granted: "mail", denied: "done" } },
  { id: "mail", type: "enter_email", prompt: "Email", outcomes: { entered: "done", cancelled: "done" } },
  { id: "done", type: "end" },
];

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ vars: { ANALYSIS_MODE: "deferred" } });
});
afterAll(async () => {
  await h?.dispose();
});

describe("ANALYSIS_MODE = deferred", () => {
  it("tokenizes every window once the session ends, sheds none, and completes once", async () => {
    const { session, clientSecret } = await createSession(h, { flow: EMAIL_FLOW });
    const client = await ScriptedClient.connect(h.platform.url, clientSecret.secret);
    await client.waitFor((m) => m.type === "node" && m.nodeType === "permissions");
    client.sendJson({ type: "permissions", camera: true, microphone: true });
    await client.waitFor((m) => m.type === "node" && m.nodeType === "enter_email");
    // Four windows of capture, sent at once: streaming would shed some (two in flight at most).
    for (let tick = 0; tick < 20; tick++) {
      client.sendAudio(tick * 200, CHUNK);
      client.sendFrame(tick * 200, LIVE_FRAME);
    }
    client.sendJson({ type: "email", value: "someone@example.com" });
    await client.waitFor((m) => m.type === "complete");
    const hook = await h.receiver.waitFor(
      (w) => w.json.type === "session.completed" && w.json.data.session.id === session.id,
    );
    expect(h.tokenizer && "batches" in h.tokenizer ? h.tokenizer.batches.get(session.id) : null).toBe(4);
    expect(client.messages.filter((m) => m.type === "slow_down")).toHaveLength(0);
    const report = hook.json.data.session.report as { degraded: { code: string }[] };
    expect(report.degraded.map((d) => d.code)).not.toContain("WINDOWS_SHED");
    expect(
      h.receiver.received.filter(
        (w) => w.json.type === "session.completed" && w.json.data.session.id === session.id,
      ),
    ).toHaveLength(1);
  });
});
