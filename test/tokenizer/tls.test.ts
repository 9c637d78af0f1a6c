/**
 * Transport security of the tokenization service (product-spec §7: raw media only over TLS 1.3
 * with mutual authentication). Every refusal is checked against the real process; under TLS 1.3
 * the server's verdict on the client certificate arrives after the client's handshake finishes
 * (RFC 8446 §4.4.2), so each case sends a request and expects it to fail with no HTTP status.
 * After each refusal the good client must still be served.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { KeyPairPaths } from "../../scripts/lib/dev-certs.ts";
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

  // The mTLS client identity is also the only credential of the key API (/v1/keys/, the KMS
  // surface): a refused certificate must be refused there too, and a date-invalid one must be.
  it("refuses a dev-CA clientAuth certificate that has expired or is not yet valid, also on the key API", async () => {
    const dir = mkdtempSync(join(tmpdir(), "facet-certs-"));
    try {
      const expired = issueWithDates(dir, "expired", service.certs.ca, "20200101000000Z", "20200102000000Z");
      const future = issueWithDates(dir, "future", service.certs.ca, "20990101000000Z", "20990102000000Z");
      for (const client of [expired, future]) {
        await expectRefused(call(service, { method: "GET", path: "/healthz", client }));
        await expectRefused(
          call(service, {
            method: "POST",
            path: "/v1/keys/data-key",
            headers: { "content-type": "application/json" },
            body: new TextEncoder().encode(JSON.stringify({ tenantId: "t_forged" })),
            client,
          }),
        );
      }
      for (const client of [null, service.certs.foreignClient, service.certs.serverAuthOnlyClient]) {
        await expectRefused(
          call(service, {
            method: "POST",
            path: "/v1/keys/unwrap",
            headers: { "content-type": "application/json" },
            body: new TextEncoder().encode("{}"),
            client,
          }),
        );
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** A dev-CA client certificate (EKU clientAuth) valid only between two ASN.1 times (`openssl ca`). */
function issueWithDates(
  dir: string,
  name: string,
  ca: KeyPairPaths,
  start: string,
  end: string,
): KeyPairPaths {
  const run = (args: string[]) =>
    execFileSync("/usr/bin/openssl", args, { cwd: dir, stdio: ["ignore", "ignore", "pipe"] });
  const key = join(dir, `${name}.key`);
  const csr = join(dir, `${name}.csr`);
  const cert = join(dir, `${name}.pem`);
  const config = join(dir, `${name}.cnf`);
  writeFileSync(join(dir, `${name}.index`), "");
  writeFileSync(join(dir, `${name}.serial`), "1000\n");
  writeFileSync(
    config,
    [
      "[ca]",
      "default_ca = dev",
      "[dev]",
      `database = ${join(dir, `${name}.index`)}`,
      `serial = ${join(dir, `${name}.serial`)}`,
      `new_certs_dir = ${dir}`,
      "default_md = sha256",
      "policy = any",
      "unique_subject = no",
      "[any]",
      "commonName = supplied",
      "[ext]",
      "basicConstraints = critical,CA:FALSE",
      "keyUsage = critical,digitalSignature",
      "extendedKeyUsage = clientAuth",
      "",
    ].join("\n"),
  );
  run(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", key]);
  run(["req", "-new", "-key", key, "-out", csr, "-subj", "/CN=facet-session-do"]);
  run([
    ...["ca", "-batch", "-config", config, "-cert", ca.cert, "-keyfile", ca.key, "-in", csr, "-out", cert],
    ...["-startdate", start, "-enddate", end, "-extensions", "ext", "-notext"],
  ]);
  return { cert, key };
}
