/**
 * Transport security of the tokenization service (product-spec §7: raw media only over TLS 1.3
 * with mutual authentication). Every refusal is checked against the real process; under TLS 1.3
 * the server's verdict on the client certificate arrives after the client's handshake finishes
 * (RFC 8446 §4.4.2), so each case sends a request and expects it to fail with no HTTP status.
 * After each refusal the good client must still be served.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { call, type RunningService, startService } from "./support.ts";

let service: RunningService;
beforeAll(async () => {
  service = await startService();
});
afterAll(async () => {
  expect(await service.stop()).toBe(0); // SIGTERM closes cleanly
});

async function expectRefused(promise: Promise<unknown>): Promise<void> {
  await expect(promise).rejects.toBeInstanceOf(Error);
  const healthy = await call(service, { method: "GET", path: "/healthz" });
  expect(healthy.status).toBe(200);
}

describe("tokenizer mTLS", () => {
  it("prints its ready line and serves a good client", async () => {
    expect(service.stdout().trim()).toBe(JSON.stringify({ ready: true, url: service.url }));
    const reply = await call(service, { method: "GET", path: "/healthz" });
    expect(reply.status).toBe(200);
    expect(reply.headers["cache-control"]).toBe("no-store");
    expect(reply.json()).toEqual({ ok: true });
  });

  it("refuses a TLS 1.2 client", async () => {
    await expectRefused(call(service, { method: "GET", path: "/healthz", maxVersion: "TLSv1.2" }));
  });

  it("refuses a client without a certificate", async () => {
    await expectRefused(call(service, { method: "GET", path: "/healthz", client: null }));
  });

  it("refuses a client certificate from a foreign CA", async () => {
    await expectRefused(
      call(service, { method: "GET", path: "/healthz", client: service.certs.foreignClient }),
    );
  });

  it("refuses a dev-CA certificate whose EKU lacks clientAuth (OpenSSL purpose check)", async () => {
    await expectRefused(
      call(service, { method: "GET", path: "/healthz", client: service.certs.serverAuthOnlyClient }),
    );
  });

  it("refuses a dev-CA certificate with no EKU at all (the service's own check)", async () => {
    await expectRefused(
      call(service, { method: "GET", path: "/healthz", client: service.certs.noEkuClient }),
    );
  });
});
