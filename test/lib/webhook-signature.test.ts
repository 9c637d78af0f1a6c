/**
 * Standard Webhooks interop (product-spec §6): what we sign, the reference `standardwebhooks`
 * library verifies; what it or we tamper with, our verifier rejects. Time is passed explicitly.
 */
import { Webhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import {
  generateWebhookSecret,
  signWebhook,
  verifyWebhook,
  webhookHeaders,
} from "../../lib/webhook-signature.ts";

const body = JSON.stringify({ type: "session.completed", timestamp: "2026-11-26T00:00:00Z", data: { x: 1 } });
const id = "msg_2f1c0e9a";
const now = () => Math.floor(Date.now() / 1000);

describe("webhook signatures", () => {
  it("generates whsec_ secrets of 32 random bytes", () => {
    const secret = generateWebhookSecret();
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(atob(secret.slice(6))).toHaveLength(32);
    expect(generateWebhookSecret()).not.toBe(secret);
  });

  it("is verified by the standardwebhooks library", async () => {
    const secret = generateWebhookSecret();
    const headers = await webhookHeaders(secret, id, now(), body);
    expect(headers["webhook-signature"]).toMatch(/^v1,[A-Za-z0-9+/]{43}=$/);
    expect(new Webhook(secret).verify(body, { ...headers })).toEqual(JSON.parse(body));
  });

  it("matches the standardwebhooks library's own signature", async () => {
    const secret = generateWebhookSecret();
    const ts = 1_790_000_000;
    expect(await signWebhook(secret, id, ts, body)).toBe(
      new Webhook(secret).sign(id, new Date(ts * 1000), body),
    );
  });

  it("verifies its own and the library's signatures, from plain objects or Headers", async () => {
    const secret = generateWebhookSecret();
    const ts = now();
    const ours = await webhookHeaders(secret, id, ts, body);
    expect(await verifyWebhook(secret, ours, body, ts)).toEqual({ ok: true });
    expect(await verifyWebhook(secret, new Headers({ ...ours }), new TextEncoder().encode(body), ts)).toEqual(
      { ok: true },
    );
    const theirs = { ...ours, "webhook-signature": new Webhook(secret).sign(id, new Date(ts * 1000), body) };
    expect(await verifyWebhook(secret, theirs, body, ts)).toEqual({ ok: true });
  });

  it("rejects a tampered body, id or timestamp, in both verifiers", async () => {
    const secret = generateWebhookSecret();
    const ts = now();
    const headers = await webhookHeaders(secret, id, ts, body);
    const tampered = body.replace('"x":1', '"x":2');
    const lib = new Webhook(secret);
    expect(() => lib.verify(tampered, { ...headers })).toThrow();
    expect(await verifyWebhook(secret, headers, tampered, ts)).toEqual({
      ok: false,
      reason: "no_matching_signature",
    });
    const shifted = { ...headers, "webhook-timestamp": String(ts + 1) };
    expect(() => lib.verify(body, shifted)).toThrow();
    expect(await verifyWebhook(secret, shifted, body, ts)).toEqual({
      ok: false,
      reason: "no_matching_signature",
    });
    const otherId = { ...headers, "webhook-id": "msg_other" };
    expect(await verifyWebhook(secret, otherId, body, ts)).toEqual({
      ok: false,
      reason: "no_matching_signature",
    });
    expect(await verifyWebhook(generateWebhookSecret(), headers, body, ts)).toMatchObject({ ok: false });
  });

  it("rejects timestamps outside the tolerance and malformed headers", async () => {
    const secret = generateWebhookSecret();
    const ts = 1_790_000_000;
    const headers = await webhookHeaders(secret, id, ts, body);
    expect(await verifyWebhook(secret, headers, body, ts + 300)).toEqual({ ok: true });
    expect(await verifyWebhook(secret, headers, body, ts + 301)).toEqual({
      ok: false,
      reason: "timestamp_too_old",
    });
    expect(await verifyWebhook(secret, headers, body, ts - 301)).toEqual({
      ok: false,
      reason: "timestamp_too_new",
    });
    expect(await verifyWebhook(secret, headers, body, ts + 3600, 7200)).toEqual({ ok: true });
    expect(await verifyWebhook(secret, { ...headers, "webhook-timestamp": "1e9" }, body, ts)).toEqual({
      ok: false,
      reason: "invalid_timestamp",
    });
    expect(await verifyWebhook(secret, { "webhook-id": id }, body, ts)).toEqual({
      ok: false,
      reason: "missing_headers",
    });
  });

  it("accepts any one of several space-separated signatures, v1 only (rotation)", async () => {
    const oldSecret = generateWebhookSecret();
    const newSecret = generateWebhookSecret();
    const ts = now();
    const headers = await webhookHeaders([oldSecret, newSecret], id, ts, body);
    expect(headers["webhook-signature"].split(" ")).toHaveLength(2);
    expect(await verifyWebhook(oldSecret, headers, body, ts)).toEqual({ ok: true });
    expect(await verifyWebhook(newSecret, headers, body, ts)).toEqual({ ok: true });
    expect(new Webhook(newSecret).verify(body, { ...headers })).toEqual(JSON.parse(body));
    const sig = (await signWebhook(newSecret, id, ts, body)).slice(3);
    const v2Only = { ...headers, "webhook-signature": `v2,${sig} v1a,${sig} v1,!!notbase64` };
    expect(await verifyWebhook(newSecret, v2Only, body, ts)).toEqual({
      ok: false,
      reason: "no_matching_signature",
    });
  });

  it("refuses malformed secrets and ids", async () => {
    await expect(signWebhook("not-a-secret", id, 1, body)).rejects.toThrow(TypeError);
    await expect(signWebhook("whsec_c2hvcnQ=", id, 1, body)).rejects.toThrow(TypeError);
    await expect(signWebhook(generateWebhookSecret(), "a.b", 1, body)).rejects.toThrow(TypeError);
    await expect(signWebhook(generateWebhookSecret(), id, 1.5, body)).rejects.toThrow(TypeError);
  });
});
