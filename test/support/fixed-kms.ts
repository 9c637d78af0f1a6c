/**
 * The key API of services/tokenizer/kms-routes.ts, doubled for the fixed tokenizer: same routes,
 * bodies and error codes, with per-tenant AES-256 KEKs held in memory instead of an HSM and data
 * keys wrapped with AES Key Wrap with Padding (RFC 5649) by node:crypto, as the HSM does. Tests
 * that need the real HSM path use `startHarness({ tokenizer: "real" })`.
 */
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";

/** RFC 5649 §3 alternative initial value (its 4-byte prefix; node adds the length) */
const KWP_IV = Buffer.from("A65959A6", "hex");

export interface FixedKms {
  /** requests served, by route (`data-key`, `unwrap`, `rewrap`, `rotate`, `delete`) */
  calls: Map<string, number>;
  /** answers one /v1/keys/* request */
  handle(req: IncomingMessage, res: ServerResponse): void;
}

export function createFixedKms(): FixedKms {
  const keks = new Map<string, Buffer[]>();
  const calls = new Map<string, number>();
  const kekOf = (tenantId: string, version?: number): { kek: Buffer; version: number } | null => {
    let versions = keks.get(tenantId);
    if (!versions) {
      if (version !== undefined) return null;
      versions = [randomBytes(32)];
      keks.set(tenantId, versions);
    }
    const v = version ?? versions.length;
    const kek = versions[v - 1];
    return kek ? { kek, version: v } : null;
  };
  const wrap = (kek: Buffer, key: Buffer) => {
    const c = createCipheriv("id-aes256-wrap-pad", kek, KWP_IV);
    return Buffer.concat([c.update(key), c.final()]);
  };
  const unwrap = (kek: Buffer, wrapped: Buffer): Buffer | null => {
    try {
      const d = createDecipheriv("id-aes256-wrap-pad", kek, KWP_IV);
      return Buffer.concat([d.update(wrapped), d.final()]);
    } catch {
      return null;
    }
  };
  const send = (res: ServerResponse, status: number, body: object | null) => {
    res.writeHead(status, {
      "cache-control": "no-store",
      ...(body ? { "content-type": status < 400 ? "application/json" : "application/problem+json" } : {}),
    });
    res.end(body ? JSON.stringify(body) : undefined);
  };
  const problem = (res: ServerResponse, status: number, code: string) =>
    send(res, status, { type: `urn:facet:tokenizer:${code}`, title: code, status, code });

  return {
    calls,
    handle(req, res) {
      const path = new URL(req.url ?? "/", "https://kms.invalid").pathname;
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const tenant = /^\/v1\/keys\/tenants\/([A-Za-z0-9_-]{1,64})$/.exec(path);
        const route = tenant ? "delete" : path.slice("/v1/keys/".length);
        calls.set(route, (calls.get(route) ?? 0) + 1);
        if (tenant) {
          keks.delete(tenant[1] ?? "");
          return send(res, 204, null);
        }
        let body: { tenantId?: string; wrapped?: string; kekVersion?: number; kind?: string };
        try {
          body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as typeof body;
        } catch {
          return problem(res, 400, "ERR_VALIDATION");
        }
        const tenantId = body.tenantId ?? "";
        if (route === "data-key") {
          const current = kekOf(tenantId);
          if (!current) return problem(res, 404, "ERR_KEY_NOT_FOUND");
          const key = randomBytes(32);
          const reply = {
            plaintext: key.toString("base64"),
            wrapped: wrap(current.kek, key).toString("base64"),
            kekVersion: current.version,
          };
          key.fill(0);
          return send(res, 200, reply);
        }
        if (route === "rotate") {
          kekOf(tenantId);
          const versions = keks.get(tenantId) ?? [];
          versions.push(randomBytes(32));
          return send(res, 200, { version: versions.length });
        }
        if (route === "unwrap" || route === "rewrap") {
          const from = kekOf(tenantId, body.kekVersion ?? 0);
          if (!from) return problem(res, 404, "ERR_KEY_NOT_FOUND");
          const key = unwrap(from.kek, Buffer.from(body.wrapped ?? "", "base64"));
          if (!key) return problem(res, 422, "ERR_KEY_UNWRAP");
          if (route === "unwrap") {
            send(res, 200, { plaintext: key.toString("base64") });
          } else {
            const to = kekOf(tenantId);
            if (!to) return problem(res, 404, "ERR_KEY_NOT_FOUND");
            send(res, 200, { wrapped: wrap(to.kek, key).toString("base64"), kekVersion: to.version });
          }
          key.fill(0);
          return;
        }
        return problem(res, 404, "ERR_NOT_FOUND");
      });
    },
  };
}
