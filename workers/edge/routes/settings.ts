/**
 * `GET|PUT /v1/settings`: the tenant's settings (product-spec §3): retention per data class,
 * decision thresholds, the widget's allowed origins, default and forbidden zones. `PUT` replaces
 * the whole document after strict validation (lib/tenant-settings.ts); omitted fields take their
 * documented defaults. Reads and changes are audited; the audit row never holds the settings.
 */
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import { eq } from "drizzle-orm";
import { newId } from "../../../lib/crypto/random.ts";
import { auditLog, tenants } from "../../../lib/db/schema.ts";
import { FacetError } from "../../../lib/errors.ts";
import {
  parseTenantSettings,
  SANDBOX_RETENTION_DAYS,
  TenantSettingsInputSchema,
  TenantSettingsSchema,
} from "../../../lib/tenant-settings.ts";
import type { EdgeEnv } from "../env.ts";
import { json, problemResponses, validationHook } from "../openapi.ts";

export const settingsRoutes = new OpenAPIHono<EdgeEnv>({ defaultHook: validationHook });

const SettingsResponseSchema = z
  .object({
    settings: TenantSettingsSchema,
    /** sandbox (sk_test_) data is kept at most this many days per class, whatever `retentionDays` says */
    sandboxRetentionDays: z.number().int(),
  })
  .openapi("TenantSettings");

const audit = (vars: EdgeEnv["Variables"], action: string, at: number) =>
  vars.db.insert(auditLog).values({
    id: newId("aud"),
    tenantId: vars.tenantId,
    actor: vars.apiKeyId,
    action,
    target: vars.tenantId,
    at,
  });

settingsRoutes.openapi(
  createRoute({
    method: "get",
    path: "/",
    summary: "Get the tenant's settings",
    responses: {
      200: { description: "The settings, defaults filled in", ...json(SettingsResponseSchema) },
      ...problemResponses(401, 429),
    },
  }),
  async (c) => {
    const [tenant] = await c.var.db.select().from(tenants).where(eq(tenants.id, c.var.tenantId));
    if (!tenant) throw new FacetError("ERR_UNAUTHENTICATED");
    await audit(c.var, "settings.read", Date.now());
    return c.json(
      { settings: parseTenantSettings(tenant.settings), sandboxRetentionDays: SANDBOX_RETENTION_DAYS },
      200,
    );
  },
);

settingsRoutes.openapi(
  createRoute({
    method: "put",
    path: "/",
    summary: "Replace the tenant's settings",
    request: { body: { ...json(TenantSettingsInputSchema), required: true } },
    responses: {
      200: { description: "The stored settings", ...json(SettingsResponseSchema) },
      ...problemResponses(400, 401, 429),
    },
  }),
  async (c) => {
    const settings = c.req.valid("json");
    const now = Date.now();
    const [updated] = await c.var.db.batch([
      c.var.db
        .update(tenants)
        .set({ settings: JSON.stringify(settings) })
        .where(eq(tenants.id, c.var.tenantId))
        .returning({ id: tenants.id }),
      audit(c.var, "settings.update", now),
    ]);
    if (updated.length === 0) throw new FacetError("ERR_UNAUTHENTICATED");
    return c.json({ settings, sandboxRetentionDays: SANDBOX_RETENTION_DAYS }, 200);
  },
);
