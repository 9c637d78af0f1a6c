/**
 * `/v1/deliveries`: one webhook delivery and its manual retry (product-spec §3, §6). A retry
 * re-enqueues the stored payload under the same `webhook-id` with a fresh schedule; the delivery's
 * generation is bumped in the same UPDATE so a message of the old schedule still in the queue is
 * dropped by the consumer, and one delivery never runs two schedules at once.
 */
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import { and, eq, inArray, isNotNull, sql } from "drizzle-orm";
import { type Delivery, DeliveryEnvelopeSchema, DeliverySchema } from "../../../lib/api-schemas.ts";
import { newId } from "../../../lib/crypto/random.ts";
import { auditLog, deliveries, webhookEndpoints } from "../../../lib/db/schema.ts";
import { FacetError } from "../../../lib/errors.ts";
import type { EdgeEnv } from "../env.ts";
import { json, problemResponses, validationHook } from "../openapi.ts";

export const deliveryRoutes = new OpenAPIHono<EdgeEnv>({ defaultHook: validationHook });

const IdParam = z.object({
  id: z
    .string()
    .regex(/^msg_[A-Za-z0-9_-]{10,40}$/)
    .openapi({ param: { name: "id", in: "path" } }),
});

type DeliveryRow = typeof deliveries.$inferSelect;
const isoOrNull = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** Rows read back from D1 are validated on the way out (house-style 4); the payload never is shown. */
export function toDeliveryView(row: DeliveryRow): Delivery {
  return DeliverySchema.parse({
    id: row.id,
    endpointId: row.endpointId,
    eventType: row.eventType,
    sessionId: row.sessionId,
    status: row.status,
    attempts: row.attempts,
    lastStatusCode: row.lastStatusCode,
    lastError: row.lastError,
    createdAt: new Date(row.createdAt).toISOString(),
    lastAttemptAt: isoOrNull(row.lastAttemptAt),
    deliveredAt: isoOrNull(row.deliveredAt),
  });
}

deliveryRoutes.openapi(
  createRoute({
    method: "get",
    path: "/{id}",
    summary: "Get one webhook delivery",
    request: { params: IdParam },
    responses: {
      200: { description: "The delivery", ...json(DeliveryEnvelopeSchema) },
      ...problemResponses(401, 404, 429),
    },
  }),
  async (c) => {
    const { id } = c.req.valid("param");
    const [row] = await c.var.db
      .select()
      .from(deliveries)
      .where(and(eq(deliveries.id, id), eq(deliveries.tenantId, c.var.tenantId)));
    if (!row) throw new FacetError("ERR_NOT_FOUND", `No delivery ${id}.`);
    return c.json({ delivery: toDeliveryView(row) }, 200);
  },
);

deliveryRoutes.openapi(
  createRoute({
    method: "post",
    path: "/{id}/retry",
    summary: "Send a failed, dead or cancelled delivery again, with the same webhook-id",
    description:
      "Starts a fresh retry schedule for the stored payload. Refused (409) when the delivery was " +
      "delivered, is still pending, its payload was erased, or its endpoint is disabled or deleted.",
    request: { params: IdParam },
    responses: {
      202: { description: "Queued", ...json(DeliveryEnvelopeSchema) },
      ...problemResponses(401, 404, 409, 429),
    },
  }),
  async (c) => {
    const { id } = c.req.valid("param");
    const { db, tenantId } = c.var;
    const [row] = await db
      .select()
      .from(deliveries)
      .where(and(eq(deliveries.id, id), eq(deliveries.tenantId, tenantId)));
    if (!row) throw new FacetError("ERR_NOT_FOUND", `No delivery ${id}.`);
    if (row.payload === null) {
      throw new FacetError(
        "ERR_CONFLICT",
        row.status === "delivered"
          ? "This delivery was delivered; its payload is no longer kept."
          : "This delivery's payload was erased with its session or subject.",
      );
    }
    const [endpoint] = await db
      .select()
      .from(webhookEndpoints)
      .where(and(eq(webhookEndpoints.id, row.endpointId), eq(webhookEndpoints.tenantId, tenantId)));
    if (!endpoint || endpoint.deletedAt !== null) {
      throw new FacetError("ERR_CONFLICT", "The delivery's endpoint was deleted.");
    }
    if (!endpoint.enabled && row.eventType !== "webhook.test") {
      throw new FacetError(
        "ERR_CONFLICT",
        "The endpoint is disabled; re-enable it first (PATCH enabled: true).",
      );
    }
    const now = Date.now();
    const [queued] = await db
      .update(deliveries)
      .set({ status: "pending", generation: sql`${deliveries.generation} + 1` })
      .where(
        and(
          eq(deliveries.id, id),
          eq(deliveries.generation, row.generation),
          inArray(deliveries.status, ["failed", "dead", "cancelled"]),
          isNotNull(deliveries.payload),
        ),
      )
      .returning();
    if (!queued) {
      throw new FacetError(
        "ERR_CONFLICT",
        `Delivery is ${row.status}; only failed, dead or cancelled ones are retried.`,
      );
    }
    await db.insert(auditLog).values({
      id: newId("aud"),
      tenantId,
      actor: c.var.apiKeyId,
      action: "delivery.retry",
      target: id,
      at: now,
    });
    await c.env.EVENTS.send(
      { deliveryId: id, endpointId: queued.endpointId, tenantId, generation: queued.generation },
      { contentType: "json" },
    );
    return c.json({ delivery: toDeliveryView(queued) }, 202);
  },
);
