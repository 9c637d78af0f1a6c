/**
 * The platform's own key ring (lib/crypto/tenant-keys.ts), run from the test process against the
 * harness's D1 and tokenizer over the same mutual TLS the edge uses. Tests use it to write rows
 * as the platform writes them (seeding) and to rotate a tenant's data key as an operator would.
 */
import { readFileSync } from "node:fs";
import { request } from "node:https";
import { type KmsEnv, type TenantKeys, tenantKeys } from "../../lib/crypto/tenant-keys.ts";
import { type Db, openDb } from "../../lib/db/client.ts";
import type { Harness } from "./harness.ts";

/** A `TOKENIZER` binding for Node: POSTs over mTLS with the session DO's client certificate. */
export function kmsEnv(h: Harness): KmsEnv {
  const tls = {
    key: readFileSync(h.certs.client.key),
    cert: readFileSync(h.certs.client.cert),
    ca: readFileSync(h.certs.ca.cert),
  };
  return {
    TOKENIZER_URL_EU: h.tokenizer.url,
    TOKENIZER_URL_US: h.tokenizer.url,
    TOKENIZER: {
      fetch: (url, init) =>
        new Promise<Response>((resolve, reject) => {
          const req = request(
            url,
            { method: init.method ?? "GET", headers: { "content-type": "application/json" }, ...tls },
            (res) => {
              const chunks: Buffer[] = [];
              res.on("data", (c: Buffer) => chunks.push(c));
              res.on("end", () => {
                const status = res.statusCode ?? 500;
                resolve(new Response(status === 204 ? null : Buffer.concat(chunks), { status }));
              });
            },
          );
          req.on("error", reject);
          req.end(typeof init.body === "string" ? init.body : undefined);
        }),
    },
  };
}

export function harnessDb(h: Harness): Db {
  return openDb(h.platform.db);
}

export function harnessKeys(h: Harness, tenantId: string): TenantKeys {
  return tenantKeys(kmsEnv(h), harnessDb(h), tenantId);
}
