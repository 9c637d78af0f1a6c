/**
 * `/v1/webhook-endpoints`: register (the `whsec_…` secret is shown once), list, read, update the
 * event filter or re-enable, delete, send a `webhook.test` ping, and page through an endpoint's
 * deliveries (product-spec §3, §6). Targets must be `https://` public hosts (lib/webhook-url.ts),
 * checked here and again at every delivery. Every change is audited.
 */
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import { and, desc, eq, isNull, lt, or } from "drizzle-orm";
import {
  CreateWebhookEndpointSchema,
  DeliveryEnvelopeSchema,
  DeliveryListSchema,
  ListDeliveriesQuerySchema,
  UpdateWebhookEndpointSchema,
  WebhookEndpointSchema,
} from "../../../lib/api-schemas.ts";
import { newId } from "../../../lib/crypto/random.ts";
import { tenantKeys } from "../../../lib/crypto/tenant-keys.ts";
import { decodeCursor, encodeCursor } from "../../../lib/cursor.ts";
import { auditLog, deliveries, webhookEndpoints } from "../../../lib/db/schema.ts";
import { FacetError } from "../../../lib/errors.ts";
import { emitEvent } from "../../../lib/events.ts";
import { generateWebhookSecret } from "../../../lib/webhook-signature.ts";
import { checkWebhookUrl } from "../../../lib/webhook-url.ts";
import type { EdgeEnv } from "../env.ts";
import { json, problemResponses, validationHook } from "../openapi.ts";
import { toDeliveryView } from "./deliveries.ts";

export const webhookEndpointRoutes = new OpenAPIHono<EdgeEnv>({ defaultHook: validationHook });

const IdParam = z.object({
  id: z
    .string()
    .regex(/^whe_[A-Za-z0-9_-]{10,40}$/)
    .openapi({ param: { name: "id", in: "path" } }),
});

type EndpointRow = typeof webhookEndpoints.$inferSelect;
type Vars = EdgeEnv["Variables"];
const view = (row: EndpointRow) =>
  WebhookEndpointSchema.parse({
    id: row.id,
    url: row.url,
    events: JSON.parse(row.events) as string[],
    enabled: row.enabled,
    disabledReason: row.disabledReason,
    disabledAt: row.disabledAt === null ? null : new Date(row.disabledAt).toISOString(),
    createdAt: new Date(row.createdAt).toISOString(),
  });

function audit(vars: Vars, action: string, target: string, at = Date.now()) {
  return vars.db.insert(auditLog).values({
    id: newId("aud"),
    tenantId: vars.tenantId,
    actor: vars.apiKeyId,
    action,
    target,
    at,
  });
}

/** The tenant's endpoint, unless deleted; another tenant's id is indistinguishable from a missing one. */
async function loadEndpoint(vars: Vars, id: string): Promise<EndpointRow> {
  const [row] = await vars.db
    .select()
    .from(webhookEndpoints)
    .where(
      and(
        eq(webhookEndpoints.id, id),
        eq(webhookEndpoints.tenantId, vars.tenantId),
        isNull(webhookEndpoints.deletedAt),
      ),
    );
  if (!row) throw new FacetError("ERR_NOT_FOUND", `No webhook endpoint ${id}.`);
  return row;
}

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
      events: JSON.stringify([...new Set(body.events)]),
      enabled: true,
      disabledReason: null,
      disabledAt: null,
      deletedAt: null,
      createdAt: now,
    };
    await c.var.db.batch([
      c.var.db.insert(webhookEndpoints).values(row),
      audit(c.var, "webhook_endpoint.create", row.id, now),
    ]);
    return c.json({ ...view(row), secret: row.secret }, 201);
  },
);

webhookEndpointRoutes.openapi(
  createRoute({
    method: "get",
    path: "/",
    summary: "List webhook endpoints (deleted ones are gone)",
    responses: {
      200: { description: "Endpoints", ...json(z.object({ data: z.array(WebhookEndpointSchema) })) },
      ...problemResponses(401, 429),
    },
  }),
  async (c) => {
    const rows = await c.var.db
      .select()
      .from(webhookEndpoints)
      .where(and(eq(webhookEndpoints.tenantId, c.var.tenantId), isNull(webhookEndpoints.deletedAt)));
    return c.json({ data: rows.map(view) }, 200);
  },
);

webhookEndpointRoutes.openapi(
  createRoute({
    method: "get",
    path: "/{id}",
    summary: "Get a webhook endpoint, with why it was disabled if it was",
    request: { params: IdParam },
    responses: {
      200: { description: "The endpoint", ...json(WebhookEndpointSchema) },
      ...problemResponses(401, 404, 429),
    },
  }),
  async (c) => c.json(view(await loadEndpoint(c.var, c.req.valid("param").id)), 200),
);

webhookEndpointRoutes.openapi(
  createRoute({
    method: "patch",
    path: "/{id}",
    summary: "Change the event filter, pause, or re-enable an endpoint",
    request: { params: IdParam, body: { ...json(UpdateWebhookEndpointSchema), required: true } },
    responses: {
      200: { description: "The updated endpoint", ...json(WebhookEndpointSchema) },
      ...problemResponses(400, 401, 404, 429),
    },
  }),
  async (c) => {
    const { id } = c.req.valid("param");
    const body = c.req.valid("json");
    await loadEndpoint(c.var, id);
    const now = Date.now();
    const [row] = await c.var.db
      .update(webhookEndpoints)
      .set({
        ...(body.events ? { events: JSON.stringify([...new Set(body.events)]) } : {}),
        // Re-enabling clears Facet's reason; pausing by hand records none.
        ...(body.enabled !== undefined
          ? { enabled: body.enabled, disabledReason: null, disabledAt: null }
          : {}),
      })
      .where(and(eq(webhookEndpoints.id, id), eq(webhookEndpoints.tenantId, c.var.tenantId)))
      .returning();
    if (!row) throw new FacetError("ERR_NOT_FOUND", `No webhook endpoint ${id}.`);
    await audit(c.var, "webhook_endpoint.update", id, now);
    return c.json(view(row), 200);
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
    const now = Date.now();
    const [row] = await c.var.db
      .update(webhookEndpoints)
      .set({ enabled: false, url: "", secret: "", deletedAt: now })
      .where(
        and(
          eq(webhookEndpoints.id, id),
          eq(webhookEndpoints.tenantId, c.var.tenantId),
          isNull(webhookEndpoints.deletedAt),
        ),
      )
      .returning();
    if (!row) throw new FacetError("ERR_NOT_FOUND", `No webhook endpoint ${id}.`);
    await audit(c.var, "webhook_endpoint.delete", id, now);
    return c.body(null, 204);
  },
);

webhookEndpointRoutes.openapi(
  createRoute({
    method: "post",
    path: "/{id}/test",
    summary: "Send a signed `webhook.test` event to this endpoint through the delivery queue",
    description:
      "Goes through the same queue, signing, retries and delivery log as every event, whatever the " +
      "endpoint's event filter; also to a disabled endpoint, so it can be checked before re-enabling.",
    request: { params: IdParam },
    responses: {
      202: { description: "Queued", ...json(DeliveryEnvelopeSchema) },
      ...problemResponses(401, 404, 429),
    },
  }),
  async (c) => {
    const { id } = c.req.valid("param");
    await loadEndpoint(c.var, id);
    const now = Date.now();
    const [deliveryId] = await emitEvent(
      c.var.db,
      c.env.EVENTS,
      tenantKeys(c.env, c.var.db, c.var.tenantId),
      "webhook.test",
      { endpoint: { id }, message: "Test event from Facet: no action needed." },
      { endpointIds: [id], now },
    );
    await audit(c.var, "webhook_endpoint.test", id, now);
    const [row] = deliveryId
      ? await c.var.db.select().from(deliveries).where(eq(deliveries.id, deliveryId))
      : [];
    if (!row) throw new FacetError("ERR_INTERNAL");
    return c.json({ delivery: toDeliveryView(row) }, 202);
  },
);

webhookEndpointRoutes.openapi(
  createRoute({
    method: "get",
    path: "/{id}/deliveries",
    summary: "List an endpoint's deliveries, newest first (cursor pagination)",
    request: { params: IdParam, query: ListDeliveriesQuerySchema },
    responses: {
      200: { description: "A page of deliveries", ...json(DeliveryListSchema) },
      ...problemResponses(400, 401, 404, 429),
    },
  }),
  async (c) => {
    const { id } = c.req.valid("param");
    const q = c.req.valid("query");
    await loadEndpoint(c.var, id);
    const filters = [eq(deliveries.tenantId, c.var.tenantId), eq(deliveries.endpointId, id)];
    if (q.status) filters.push(eq(deliveries.status, q.status));
    if (q.cursor) {
      const cursor = decodeCursor(q.cursor);
      const older = or(
        lt(deliveries.createdAt, cursor.createdAt),
        and(eq(deliveries.createdAt, cursor.createdAt), lt(deliveries.id, cursor.id)),
      );
      if (older) filters.push(older);
    }
    const rows = await c.var.db
      .select()
      .from(deliveries)
      .where(and(...filters))
      .orderBy(desc(deliveries.createdAt), desc(deliveries.id))
      .limit(q.limit + 1);
    const page = rows.slice(0, q.limit);
    const last = page.at(-1);
    return c.json(
      {
        data: page.map(toDeliveryView),
        nextCursor: rows.length > q.limit && last ? encodeCursor(last) : null,
      },
      200,
    );
  },
);
