/**
 * The widget connection inside workerd: client-secret capability (single use, expiry), protocol
 * violations (oversize, malformed, out of order) with their close codes, and the idle timeout
 * enforced by the session Durable Object's alarm. Every faulty session still ends in a defined
 * state and the integrator still receives its event.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mulawEncode } from "../../lib/g711.ts";
import {
  AudioFormat,
  CloseCode,
  encodeMedia,
  LIMITS,
  MediaKind,
  VideoFormat,
} from "../../lib/widget-protocol.ts";
import { ScriptedClient } from "../../scripts/lib/scripted-client.ts";
import type { FixedTokenizer } from "../support/fixed-tokenizer.ts";
import { createSession, type Harness, startHarness } from "../support/harness.ts";
import { rawUpgrade } from "../support/raw-upgrade.ts";

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.dispose();
});

async function endedWith(sessionId: string, reason: string) {
  const hook = await h.receiver.waitFor(
    (w) => w.json.type === "session.incomplete" && w.json.data.session.id === sessionId,
  );
  expect(hook.json.data.session).toMatchObject({ status: "incomplete", incompleteReason: reason });
  const row = await h.platform.db
    .prepare("SELECT status, incomplete_reason FROM sessions WHERE id = ?")
    .bind(sessionId)
    .first();
  expect(row).toEqual({ status: "incomplete", incomplete_reason: reason });
  // the report exists even for an incomplete session, with every analyzer named
  const report = hook.json.data.session.report as { risk: { analyzers: Record<string, unknown> } };
  expect(Object.keys(report.risk.analyzers)).toHaveLength(6);
}

async function connected() {
  const { session, clientSecret } = await createSession(h);
  const client = await ScriptedClient.connect(h.platform.url, clientSecret.secret);
  await client.waitFor((m) => m.type === "ready");
  return { session, clientSecret, client };
}

describe("client secret", () => {
  it("is single use: a replay is refused before any upgrade", async () => {
    const { clientSecret, client } = await connected();
    const replay = await rawUpgrade(h.platform.url, `facet.v1, ${clientSecret.secret}`);
    expect(replay.status).toBe(401);
    expect(JSON.parse(replay.body)).toMatchObject({ code: "ERR_CLIENT_SECRET_INVALID" });
    await expect(ScriptedClient.connect(h.platform.url, clientSecret.secret)).rejects.toThrow();
    client.close();
  });

  it("expires: a secret past its expiry is refused and the session stays connectable after refresh", async () => {
    const { session, clientSecret } = await createSession(h);
    await h.platform.db
      .prepare("UPDATE sessions SET client_secret_expires_at = ? WHERE id = ?")
      .bind(Date.now() - 1, session.id)
      .run();
    await expect(ScriptedClient.connect(h.platform.url, clientSecret.secret)).rejects.toThrow();
    const fresh = (await (
      await h.api(`/v1/sessions/${session.id}/client-secret`, { method: "POST" })
    ).json()) as { clientSecret: { secret: string } };
    const client = await ScriptedClient.connect(h.platform.url, fresh.clientSecret.secret);
    await client.waitFor((m) => m.type === "ready");
    client.close();
  });

  it("refuses a connection without the protocol or with a malformed secret", async () => {
    const plain = await fetch(new URL("/v1/connect", h.platform.url));
    expect(plain.status).toBe(426);
    expect(((await plain.json()) as { code: string }).code).toBe("ERR_UPGRADE_REQUIRED");
    const noSecret = await rawUpgrade(h.platform.url, "facet.v1");
    expect(noSecret.status).toBe(401);
    const malformed = await rawUpgrade(h.platform.url, "facet.v1, cs_not-a-real-secret");
    expect(malformed.status).toBe(401);
  });
});

describe("protocol violations end the session incomplete with a typed close code", () => {
  it("oversize media → 4413, protocol_error, event sent", async () => {
    const { session, client } = await connected();
    client.sendRaw(
      encodeMedia(
        { kind: MediaKind.video, format: VideoFormat.jpeg, seq: 0, tsMs: 0 },
        new Uint8Array(LIMITS.maxMediaMessageBytes + 1),
      ),
    );
    expect((await client.closed).code).toBe(CloseCode.tooLarge);
    expect(client.messages.find((m) => m.type === "error")).toMatchObject({ code: "ERR_WS_TOO_LARGE" });
    await endedWith(session.id, "protocol_error");
  });

  it("oversize control message → 4413", async () => {
    const { session, client } = await connected();
    client.sendRaw(JSON.stringify({ type: "ping", pad: "x".repeat(LIMITS.maxControlMessageBytes) }));
    expect((await client.closed).code).toBe(CloseCode.tooLarge);
    await endedWith(session.id, "protocol_error");
  });

  it("binary garbage → 4400", async () => {
    const { session, client } = await connected();
    client.sendRaw(new Uint8Array([9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9]));
    expect((await client.closed).code).toBe(CloseCode.malformed);
    await endedWith(session.id, "protocol_error");
  });

  it("non-JSON text and unknown control messages → 4400", async () => {
    const first = await connected();
    first.client.sendRaw("{oops");
    expect((await first.client.closed).code).toBe(CloseCode.malformed);
    await endedWith(first.session.id, "protocol_error");
    const second = await connected();
    second.client.sendJson({ type: "launch_missiles" });
    expect((await second.client.closed).code).toBe(CloseCode.malformed);
    await endedWith(second.session.id, "protocol_error");
  });

  it("answers out of order → 4409; a repeated sequence number → 4409", async () => {
    const first = await connected();
    await first.client.waitFor((m) => m.type === "node" && m.nodeType === "permissions");
    first.client.sendJson({ type: "email", value: "a@example.com" });
    expect((await first.client.closed).code).toBe(CloseCode.protocolOrder);
    await endedWith(first.session.id, "protocol_error");
    const second = await connected();
    second.client.sendRaw(
      encodeMedia(
        { kind: MediaKind.video, format: VideoFormat.jpeg, seq: 3, tsMs: 0 },
        new Uint8Array([1, 2, 3]),
      ),
    );
    second.client.sendRaw(
      encodeMedia(
        { kind: MediaKind.video, format: VideoFormat.jpeg, seq: 3, tsMs: 10 },
        new Uint8Array([1, 2, 3]),
      ),
    );
    expect((await second.client.closed).code).toBe(CloseCode.protocolOrder);
    await endedWith(second.session.id, "protocol_error");
  });

  it("a message flood past the rate limit → 4429", async () => {
    const { session, client } = await connected();
    for (let i = 0; i < LIMITS.messageBurst * 3 && client.open; i++) client.sendJson({ type: "ping" });
    expect((await client.closed).code).toBe(CloseCode.rateExceeded);
    await endedWith(session.id, "protocol_error");
  });

  it("a client that disconnects mid-session ends it incomplete/disconnected, event sent", async () => {
    const { session, client } = await connected();
    client.close();
    await endedWith(session.id, "disconnected");
  });
});

describe("audio encodings", () => {
  it("G.711 µ-law audio is expanded to PCM16 before tokenization", async () => {
    const { session, client } = await connected();
    await client.waitFor((m) => m.type === "node" && m.nodeType === "permissions");
    client.sendJson({ type: "permissions", camera: true, microphone: true });
    const pcm = Int16Array.from({ length: 3200 }, (_, i) => Math.round(8000 * Math.sin(i / 5)));
    let sent = 0;
    for (let s = 0; s < 8 && client.open; s++) {
      client.sendFrame(s * 1000, new Uint8Array([0x4c, 0xff, 0xd8, 1]));
      const bytes = mulawEncode(pcm);
      client.sendRaw(
        encodeMedia({ kind: MediaKind.audio, format: AudioFormat.mulaw16k, seq: s, tsMs: s * 1000 }, bytes),
      );
      sent += bytes.byteLength;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect((await client.closed).code).toBe(1000);
    await h.receiver.waitFor(
      (w) => w.json.type === "session.completed" && w.json.data.session.id === session.id,
    );
    const received = (h.tokenizer as FixedTokenizer).audioBytes.get(session.id) ?? 0;
    // two PCM bytes per µ-law byte; the windows the session did not need were not sent
    expect(received).toBeGreaterThan(0);
    expect(received % 2).toBe(0);
    expect(received).toBeLessThanOrEqual(sent * 2);
    expect(received / 2 / pcm.length).toBe(Math.round(received / 2 / pcm.length));
  });
});

describe("timeouts", () => {
  it("an idle connection is ended by the Durable Object's alarm → 4408, timeout, event sent", async () => {
    const { session, client } = await connected();
    const closed = await client.closed;
    expect(closed.code).toBe(CloseCode.idleTimeout);
    await endedWith(session.id, "timeout");
  });

  it("denied permissions take the denied outcome and the flow continues to its end", async () => {
    const { session, client } = await connected();
    await client.waitFor((m) => m.type === "node" && m.nodeType === "permissions");
    client.sendJson({ type: "permissions", camera: false, microphone: true });
    expect((await client.closed).code).toBe(1000);
    const hook = await h.receiver.waitFor(
      (w) => w.json.type === "session.completed" && w.json.data.session.id === session.id,
    );
    const report = hook.json.data.session.report as {
      nodes: { id: string; outcome: string }[];
      risk: { decision: string };
    };
    expect(report.nodes.map((n) => [n.id, n.outcome])).toEqual([
      ["start", "next"],
      ["perm", "denied"],
    ]);
    // no face was ever analysed: liveness has no evidence, so the decision cannot be approve
    expect(report.risk.decision).not.toBe("approve");
  });
});
