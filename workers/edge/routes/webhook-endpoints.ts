/**
 * `/v1/webhook-endpoints`: register (the `whsec_…` secret is shown once), list and delete the
 * tenant's webhook receivers (product-spec §3, §6).
 */
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import { and, eq } from "drizzle-orm";
import { CreateWebhookEndpointSchema, WebhookEndpointSchema } from "../../../lib/api-schemas.ts";
import { newId } from "../../../lib/crypto/random.ts";
import { auditLog, webhookEndpoints } from "../../../lib/db/schema.ts";
import { FacetError } from "../../../lib/errors.ts";
import { generateWebhookSecret } from "../../../lib/webhook-signature.ts";
import { checkWebhookUrl } from "../../../lib/webhook-url.ts";
import type { EdgeEnv } from "../env.ts";
import { problemResponses, validationHook } from "../openapi.ts";

export const webhookEndpointRoutes = new OpenAPIHono<EdgeEnv>({ defaultHook: validationHook });

const json = <T>(schema: T) => ({ content: { "application/json": { schema } } });
const IdParam = z.object({
  id: z
    .string()
    .regex(/^whe_[A-Za-z0-9_-]{10,40}$/)
    .openapi({ param: { name: "id", in: "path" } }),
});

type EndpointRow = typeof webhookEndpoints.$inferSelect;
const view = (row: EndpointRow) => ({
  id: row.id,
  url: row.url,
  events: JSON.parse(row.events) as string[],
  enabled: row.enabled,
  createdAt: new Date(row.createdAt).toISOString(),
});

webhookEndpointRoutes.openapi(
  createRoute({
    method: "post",
    path: "/",
    summary: "Register a webhook endpoint",
    request: { body: { ...json(CreateWebhookEndpointSchema), required: true } },
    responses: {
      201: {
        description: "Registered; `secret` is shown only in this response",
        ...json(WebhookEndpointSchema.extend({ secret: z.string() })),
      },
      ...problemResponses(400, 401, 429),
    },
  }),
  async (c) => {
    const body = c.req.valid("json");
    const verdict = checkWebhookUrl(body.url, c.env.DEV_ALLOW_LOOPBACK_WEBHOOKS === "true");
    if (!verdict.ok) throw new FacetError("ERR_VALIDATION", `url: ${verdict.reason}`);
    const now = Date.now();
    const row: EndpointRow = {
      id: newId("whe"),
      tenantId: c.var.tenantId,
      url: verdict.url.toString(),
      secret: generateWebhookSecret(),
      events: JSON.stringify(body.events),
      enabled: true,
      createdAt: now,
    };
    await c.var.db.batch([
      c.var.db.insert(webhookEndpoints).values(row),
      c.var.db.insert(auditLog).values({
        id: newId("aud"),
        tenantId: c.var.tenantId,
        actor: c.var.apiKeyId,
        action: "webhook_endpoint.create",
        target: row.id,
        at: now,
      }),
    ]);
    return c.json({ ...view(row), secret: row.secret }, 201);
  },
);

webhookEndpointRoutes.openapi(
  createRoute({
    method: "get",
    path: "/",
    summary: "List webhook endpoints",
    responses: {
      200: { description: "Endpoints", ...json(z.object({ data: z.array(WebhookEndpointSchema) })) },
      ...problemResponses(401, 429),
    },
  }),
  async (c) => {
    const rows = await c.var.db
      .select()
      .from(webhookEndpoints)
      .where(eq(webhookEndpoints.tenantId, c.var.tenantId));
    return c.json({ data: rows.map(view) }, 200);
  },
);

webhookEndpointRoutes.openapi(
  createRoute({
    method: "delete",
    path: "/{id}",
    summary: "Delete a webhook endpoint (it stops receiving events at once)",
    request: { params: IdParam },
    responses: { 204: { description: "Deleted" }, ...problemResponses(401, 404, 429) },
  }),
  async (c) => {
    const { id } = c.req.valid("param");
    const [row] = await c.var.db
      .update(webhookEndpoints)
      .set({ enabled: false, url: "", secret: "" })
      .where(and(eq(webhookEndpoints.id, id), eq(webhookEndpoints.tenantId, c.var.tenantId)))
      .returning();
    if (!row) throw new FacetError("ERR_NOT_FOUND", `No webhook endpoint ${id}.`);
    return c.body(null, 204);
  },
);
