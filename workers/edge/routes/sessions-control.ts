/**
 * Acting on one session (product-spec §3, §7): a new client secret while it has not started,
 * cancel (a running session through its Durable Object, which owns it; one that has not started
 * with a conditional UPDATE and its `session.incomplete` outbox row in one batch), and erasure
 * (workers/edge/erasure.ts; `session.erased` leaves from the outbox, written with the deletion).
 */
import { createRoute, OpenAPIHono } from "@hono/zod-openapi";
import { and, eq } from "drizzle-orm";
import {
  CreateSessionResponseSchema,
  SessionEnvelopeSchema,
  SessionIdParamSchema,
} from "../../../lib/api-schemas.ts";
import { clientSecretView, issueClientSecret } from "../../../lib/client-secret.ts";
import { newId } from "../../../lib/crypto/random.ts";
import { tenantKeys } from "../../../lib/crypto/tenant-keys.ts";
import { auditLog, sessions } from "../../../lib/db/schema.ts";
import { FacetError } from "../../../lib/errors.ts";
import { dispatchLifecycleEvent, dispatchSessionOutbox, recordTerminalEvents } from "../../../lib/outbox.ts";
import { erasedOutboxId, recordSessionErased } from "../../../lib/outbox-records.ts";
import { sessionStub } from "../../../lib/residency.ts";
import { loadSessionView, openSessionRow, toSessionView } from "../../../lib/sessions/view.ts";
import type { EdgeEnv } from "../env.ts";
import { deleteSessionData, endBeforeErasure } from "../erasure.ts";
import { json, problemResponses, validationHook } from "../openapi.ts";

export const sessionControlRoutes = new OpenAPIHono<EdgeEnv>({ defaultHook: validationHook });

const refreshSecret = createRoute({
  method: "post",
  path: "/{id}/client-secret",
  summary: "Issue a new client secret for a session that has not started",
  request: { params: SessionIdParamSchema },
  responses: {
    200: {
      description: "A new client secret; the previous one stops working",
      ...json(CreateSessionResponseSchema),
    },
    ...problemResponses(401, 404, 409, 429),
  },
});

sessionControlRoutes.openapi(refreshSecret, async (c) => {
  const { id } = c.req.valid("param");
  const { db, tenantId } = c.var;
  const secret = await issueClientSecret(Number(c.env.CLIENT_SECRET_TTL_SECONDS));
  const [row] = await db
    .update(sessions)
    .set({ clientSecretHash: secret.hash, clientSecretExpiresAt: secret.expiresAt, clientSecretUsedAt: null })
    .where(and(eq(sessions.id, id), eq(sessions.tenantId, tenantId), eq(sessions.status, "created")))
    .returning();
  const keys = tenantKeys(c.env, db, tenantId);
  if (!row) {
    const existing = await loadSessionView(db, keys, id);
    if (!existing) throw new FacetError("ERR_NOT_FOUND", `No session ${id}.`);
    throw new FacetError(
      "ERR_SESSION_STATE",
      `Session is ${existing.status}; only a session not yet started gets a new secret.`,
    );
  }
  return c.json(
    {
      session: toSessionView(await openSessionRow(keys, row), null),
      clientSecret: clientSecretView(c.env.PUBLIC_ORIGIN, row.id, secret),
      warnings: [],
    },
    200,
  );
});

const cancelSession = createRoute({
  method: "post",
  path: "/{id}/cancel",
  summary: "Cancel a session; it ends incomplete with reason `cancelled`",
  request: { params: SessionIdParamSchema },
  responses: {
    200: { description: "The cancelled session", ...json(SessionEnvelopeSchema) },
    ...problemResponses(401, 404, 409, 429),
  },
});

sessionControlRoutes.openapi(cancelSession, async (c) => {
  const { id } = c.req.valid("param");
  const { db, tenantId } = c.var;
  const now = Date.now();
  const [row] = await db
    .select()
    .from(sessions)
    .where(and(eq(sessions.id, id), eq(sessions.tenantId, tenantId)));
  if (!row) throw new FacetError("ERR_NOT_FOUND", `No session ${id}.`);
  const keys = tenantKeys(c.env, db, tenantId);
  if (row.status === "complete" || row.status === "incomplete") {
    throw new FacetError("ERR_SESSION_STATE", `Session already ended (${row.status}).`);
  }
  await db.insert(auditLog).values({
    id: newId("aud"),
    tenantId,
    actor: c.var.apiKeyId,
    action: "session.cancel",
    target: id,
    at: now,
  });
  if (row.status === "in_progress") {
    // The session's Durable Object owns a running session: it ends it, writes the report and
    // emits the event exactly once.
    await sessionStub(c.env, row).cancel("cancelled");
  } else {
    // Status and outbox row in one batch; the event leaves from the outbox (lib/outbox.ts), and
    // the five-minute sweep sends it if this dispatch fails (docs/reliability.md "Outbox").
    const [updated] = await db.batch([
      db
        .update(sessions)
        .set({ status: "incomplete", incompleteReason: "cancelled", finishedAt: now, clientSecretHash: null })
        .where(and(eq(sessions.id, id), eq(sessions.status, "created")))
        .returning({ id: sessions.id }),
      recordTerminalEvents(db, {
        type: "session.incomplete",
        status: "incomplete",
        finishedAt: now,
        sessionId: id,
        reason: "cancelled",
      }),
    ]);
    if (updated.length > 0) {
      c.executionCtx.waitUntil(dispatchSessionOutbox(c.env, db, id).catch(() => undefined));
    }
  }
  const session = await loadSessionView(db, keys, id);
  if (!session) throw new FacetError("ERR_INTERNAL");
  return c.json({ session }, 200);
});

const eraseSession = createRoute({
  method: "delete",
  path: "/{id}",
  summary: "Erase a session; a running one is cancelled first. Emits `session.erased`",
  description:
    "Deletes the session with its metadata, providedData, node outcomes, report and webhook payloads " +
    "(product-spec §7). Delivery metadata and the audit log stay.",
  request: { params: SessionIdParamSchema },
  responses: { 204: { description: "Erased" }, ...problemResponses(401, 404, 429) },
});

sessionControlRoutes.openapi(eraseSession, async (c) => {
  const { id } = c.req.valid("param");
  const { db, tenantId } = c.var;
  const [row] = await db
    .select()
    .from(sessions)
    .where(and(eq(sessions.id, id), eq(sessions.tenantId, tenantId)));
  if (!row) throw new FacetError("ERR_NOT_FOUND", `No session ${id}.`);
  const keys = tenantKeys(c.env, db, tenantId);
  const { clientReferenceId } = await openSessionRow(keys, row);
  await endBeforeErasure(db, c.env, row);
  const now = Date.now();
  // The audit row and `session.erased`'s outbox row join the batch that deletes the session
  // (docs/reliability.md "Outbox"). The row carries the identifiers the event needs, the
  // reference sealed: when the event is sent there is no session left to read it from.
  const erased = await recordSessionErased(db, keys, { sessionId: id, clientReferenceId, at: now });
  await deleteSessionData(
    db,
    tenantId,
    [id],
    [
      db.insert(auditLog).values({
        id: newId("aud"),
        tenantId,
        actor: c.var.apiKeyId,
        action: "session.erase",
        target: id,
        at: now,
      }),
      erased.insert,
    ],
  );
  c.executionCtx.waitUntil(dispatchLifecycleEvent(c.env, db, erasedOutboxId(id)));
  return c.body(null, 204);
});
