/**
 * Creates a tenant and an API key directly in D1 — what an operator's provisioning does.
 * `npm start` uses it for the dev tenant (sandbox key printed once), tests for each tenant they
 * need. The key is returned in clear exactly once; only its SHA-256 is stored.
 */
import { sha256Hex } from "../../lib/crypto/hash.ts";
import { newId, randomToken } from "../../lib/crypto/random.ts";
import { type TenantSettings, TenantSettingsSchema } from "../../lib/tenant-settings.ts";

export interface ProvisionedTenant {
  tenantId: string;
  apiKeyId: string;
  apiKey: string;
}

export async function provisionTenant(
  db: D1Database,
  name: string,
  settings: Partial<TenantSettings> = {},
  mode: "test" | "live" = "test",
): Promise<ProvisionedTenant> {
  const tenantId = newId("ten");
  const now = Date.now();
  await db
    .prepare("INSERT INTO tenants (id, name, settings, created_at) VALUES (?, ?, ?, ?)")
    .bind(tenantId, name, JSON.stringify(TenantSettingsSchema.parse(settings)), now)
    .run();
  const key = await addApiKey(db, tenantId, mode);
  return { tenantId, ...key };
}

export async function addApiKey(
  db: D1Database,
  tenantId: string,
  mode: "test" | "live" = "test",
): Promise<{ apiKeyId: string; apiKey: string }> {
  const apiKey = `sk_${mode}_${randomToken(32)}`;
  const apiKeyId = newId("key");
  await db
    .prepare(
      "INSERT INTO api_keys (id, tenant_id, mode, key_hash, last4, label, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(apiKeyId, tenantId, mode, await sha256Hex(apiKey), apiKey.slice(-4), "provisioned", Date.now())
    .run();
  return { apiKeyId, apiKey };
}

export async function apiKeyIsValid(db: D1Database, apiKey: string): Promise<boolean> {
  const row = await db
    .prepare("SELECT id FROM api_keys WHERE key_hash = ? AND revoked_at IS NULL")
    .bind(await sha256Hex(apiKey))
    .first();
  return row !== null;
}
