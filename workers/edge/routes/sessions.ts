/**
 * `/v1/sessions`: create (flow validation, Idempotency-Key), get, list (cursor pagination and
 * filters), refresh the client secret, cancel, erase (product-spec §3). Every query is scoped to the
 * authenticated tenant; results carry `Cache-Control: no-store` (set by the app).
 */
import { createRoute, OpenAPIHono } from "@hono/zod-openapi";
import { and, desc, eq, gte, lt, lte, or } from "drizzle-orm";
import {
  CreateSessionResponseSchema,
  CreateSessionSchema,
  ListSessionsQuerySchema,
  SessionEnvelopeSchema,
  SessionIdParamSchema,
  SessionListSchema,
  ZoneSchema,
} from "../../../lib/api-schemas.ts";
import { clientSecretView, issueClientSecret } from "../../../lib/client-secret.ts";
import { newId } from "../../../lib/crypto/random.ts";
import { tenantKeys } from "../../../lib/crypto/tenant-keys.ts";
import { decodeCursor, encodeCursor } from "../../../lib/cursor.ts";
import { auditLog, idempotencyKeys, recognitionRequests, sessions, tenants } from "../../../lib/db/schema.ts";
import { FacetError } from "../../../lib/errors.ts";
import { emitEvent } from "../../../lib/events.ts";
import { validateFlow } from "../../../lib/flow-validate.ts";
import {
  createdOutboxId,
  dispatchLifecycleEvent,
  dispatchSessionOutbox,
  recordCreatedEvent,
  recordTerminalEvents,
} from "../../../lib/outbox.ts";
import { recognitionRequestRow, recognitionWarnings } from "../../../lib/recognition/consent.ts";
import { sessionStub } from "../../../lib/residency.ts";
import {
  loadReport,
  loadSessionView,
  openSessionRow,
  sealSession,
  toSessionView,
} from "../../../lib/sessions/view.ts";
import { parseTenantSettings } from "../../../lib/tenant-settings.ts";
import type { EdgeEnv } from "../env.ts";
import { eraseSessions } from "../erasure.ts";
import { problemResponses, validationHook } from "../openapi.ts";

export const sessionRoutes = new OpenAPIHono<EdgeEnv>({ defaultHook: validationHook });

const json = <T>(schema: T) => ({ content: { "application/json": { schema } } });

const createSession = createRoute({
  method: "post",
  path: "/",
  summary: "Create a verification session",
  request: {
    body: { ...json(CreateSessionSchema), required: true },
  },
  responses: {
    201: { description: "Created", ...json(CreateSessionResponseSchema) },
    200: { description: "Idempotent replay of an earlier create", ...json(CreateSessionResponseSchema) },
    ...problemResponses(400, 401, 403, 409, 429),
  },
});

sessionRoutes.openapi(createSession, async (c) => {
  const body = c.req.valid("json");
  const { db, tenantId } = c.var;
  const now = Date.now();
  const verdict = validateFlow(body.flow);
  if (!verdict.ok) {
    const first = verdict.errors[0];
    throw new FacetError(
      "ERR_INVALID_FLOW",
      first
        ? `${first.rule}${first.nodeId ? ` at node "${first.nodeId}"` : ""}: ${first.message}`
        : "invalid flow",
      { extensions: { errors: verdict.errors } },
    );
  }
  const [tenant] = await db.select().from(tenants).where(eq(tenants.id, tenantId));
  if (!tenant) throw new FacetError("ERR_UNAUTHENTICATED");
  const settings = parseTenantSettings(tenant.settings);
  const zone = body.zone ?? settings.defaultZone;
  if (settings.forbiddenZones.includes(zone)) {
    // Residency is the controller's policy (PUT /v1/settings): refuse before anything is written.
    throw new FacetError("ERR_ZONE_FORBIDDEN", `Zone "${zone}" is forbidden by this tenant's settings.`, {
      extensions: { zone, forbiddenZones: settings.forbiddenZones },
    });
  }

  const idempotencyKey = c.req.header("idempotency-key");
  if (idempotencyKey !== undefined && !/^[\x21-\x7e]{1,255}$/.test(idempotencyKey)) {
    throw new FacetError("ERR_VALIDATION", "Idempotency-Key must be 1–255 visible ASCII characters.");
  }
  const keys = tenantKeys(c.env, db, tenantId);
  // keyed: the body holds metadata, and a plain digest of it could be confirmed by guessing
  const requestHash = await keys.requestHash(JSON.stringify(body));
  if (idempotencyKey !== undefined) {
    const replay = await replayIdempotent(c.var.db, tenantId, idempotencyKey, requestHash);
    if (replay) return replayResponse(c, replay);
  }

  const id = newId("ses");
  const secret = await issueClientSecret(Number(c.env.CLIENT_SECRET_TTL_SECONDS), now);
  const sealed = await sealSession(keys, id, {
    clientReferenceId: body.clientReferenceId,
    metadata: JSON.stringify(body.metadata),
    providedData: body.providedData ? JSON.stringify(body.providedData) : null,
  });
  const row = {
    id,
    tenantId,
    ...sealed,
    status: "created" as const,
    mode: c.var.apiKeyMode,
    incompleteReason: null,
    zone: ZoneSchema.parse(zone),
    locale: body.locale,
    flow: JSON.stringify(verdict.flow),
    clientSecretHash: secret.hash,
    clientSecretExpiresAt: secret.expiresAt,
    clientSecretUsedAt: null,
    createdAt: now,
    startedAt: null,
    finishedAt: null,
    expiresAt: now + Number(c.env.SESSION_TTL_SECONDS) * 1000,
  };
  const audit = {
    id: newId("aud"),
    tenantId,
    actor: c.var.apiKeyId,
    action: "session.create",
    target: id,
    at: now,
  };
  // recognition consent (lib/recognition/consent.ts): recorded with the session, in the same batch
  const consent = await recognitionRequestRow(keys, id, body.recognition, now);
  const recognition = consent ? [db.insert(recognitionRequests).values(consent)] : [];
  // `session.created` is an outbox row of the same batch (docs/reliability.md "Outbox"): a session
  // that exists has its event owed, whatever happens to the queue send after.
  const created = recordCreatedEvent(db, row);
  try {
    if (idempotencyKey !== undefined) {
      await db.batch([
        db
          .insert(idempotencyKeys)
          .values({ tenantId, key: idempotencyKey, requestHash, sessionId: id, createdAt: now }),
        db.insert(sessions).values(row),
        db.insert(auditLog).values(audit),
        ...recognition,
        created,
      ]);
    } else {
      await db.batch([
        db.insert(sessions).values(row),
        db.insert(auditLog).values(audit),
        ...recognition,
        created,
      ]);
    }
  } catch (error) {
    // A concurrent request with the same key won the primary key: answer as its replay.
    if (idempotencyKey === undefined) throw error;
    const replay = await replayIdempotent(db, tenantId, idempotencyKey, requestHash);
    if (!replay) throw error;
    return replayResponse(c, replay);
  }
  const session = toSessionView({ ...row, clientReferenceId: body.clientReferenceId }, null);
  c.executionCtx.waitUntil(dispatchLifecycleEvent(c.env, db, createdOutboxId(id)));
  return c.json(
    {
      session,
      clientSecret: clientSecretView(c.env.PUBLIC_ORIGIN, id, secret),
      warnings: [...verdict.warnings, ...recognitionWarnings(verdict.flow, body.recognition)],
    },
    201,
  );
});

interface Replay {
  sessionId: string;
}

async function replayIdempotent(
  db: EdgeEnv["Variables"]["db"],
  tenantId: string,
  key: string,
  requestHash: string,
): Promise<Replay | null> {
  const [existing] = await db
    .select()
    .from(idempotencyKeys)
    .where(and(eq(idempotencyKeys.tenantId, tenantId), eq(idempotencyKeys.key, key)));
  if (!existing) return null;
  if (existing.requestHash !== requestHash) {
    throw new FacetError(
      "ERR_IDEMPOTENCY_CONFLICT",
      "This Idempotency-Key was used with a different request body.",
    );
  }
  return { sessionId: existing.sessionId };
}

/**
 * The first response's client secret is not stored (only its hash), so a replay re-issues one
 * while the session has not started: the integrator that lost the first answer can still
 * hand a working secret to its user, and the lost secret stops working.
 */
async function replayResponse(c: Parameters<Parameters<typeof sessionRoutes.openapi>[1]>[0], replay: Replay) {
  const { db, tenantId } = c.var;
  const [row] = await db.select().from(sessions).where(eq(sessions.id, replay.sessionId));
  if (!row) throw new FacetError("ERR_INTERNAL");
  if (row.status !== "created") {
    throw new FacetError(
      "ERR_SESSION_STATE",
      "The session created under this Idempotency-Key has already started.",
      {
        extensions: { sessionId: row.id },
      },
    );
  }
  const secret = await issueClientSecret(Number(c.env.CLIENT_SECRET_TTL_SECONDS));
  await db
    .update(sessions)
    .set({ clientSecretHash: secret.hash, clientSecretExpiresAt: secret.expiresAt })
    .where(and(eq(sessions.id, row.id), eq(sessions.tenantId, tenantId)));
  c.header("idempotent-replayed", "true");
  return c.json(
    {
      session: toSessionView(await openSessionRow(tenantKeys(c.env, db, tenantId), row), null),
      clientSecret: clientSecretView(c.env.PUBLIC_ORIGIN, row.id, secret),
      warnings: [],
    },
    200,
  );
}

const getSession = createRoute({
  method: "get",
  path: "/{id}",
  summary: "Get a session, with its report once it has ended",
  request: { params: SessionIdParamSchema },
  responses: {
    200: { description: "The session", ...json(SessionEnvelopeSchema) },
    ...problemResponses(401, 404, 429),
  },
});

sessionRoutes.openapi(getSession, async (c) => {
  const { id } = c.req.valid("param");
  const session = await loadSessionView(c.var.db, tenantKeys(c.env, c.var.db, c.var.tenantId), id);
  if (!session) throw new FacetError("ERR_NOT_FOUND", `No session ${id}.`);
  await c.var.db.insert(auditLog).values({
    id: newId("aud"),
    tenantId: c.var.tenantId,
    actor: c.var.apiKeyId,
    action: "session.read",
    target: id,
    at: Date.now(),
  });
  return c.json({ session }, 200);
});

const listSessions = createRoute({
  method: "get",
  path: "/",
  summary: "List sessions, newest first",
  request: { query: ListSessionsQuerySchema },
  responses: {
    200: { description: "A page of sessions", ...json(SessionListSchema) },
    ...problemResponses(400, 401, 429),
  },
});

sessionRoutes.openapi(listSessions, async (c) => {
  const q = c.req.valid("query");
  const { db, tenantId } = c.var;
  const keys = tenantKeys(c.env, db, tenantId);
  const filters = [eq(sessions.tenantId, tenantId)];
  if (q.status) filters.push(eq(sessions.status, q.status));
  if (q.clientReferenceId)
    filters.push(eq(sessions.clientReferenceHash, await keys.referenceHash(q.clientReferenceId)));
  if (q.createdAfter) filters.push(gte(sessions.createdAt, Date.parse(q.createdAfter)));
  if (q.createdBefore) filters.push(lte(sessions.createdAt, Date.parse(q.createdBefore)));
  if (q.cursor) {
    const cursor = decodeCursor(q.cursor);
    const older = or(
      lt(sessions.createdAt, cursor.createdAt),
      and(eq(sessions.createdAt, cursor.createdAt), lt(sessions.id, cursor.id)),
    );
    if (older) filters.push(older);
  }
  const rows = await db
    .select()
    .from(sessions)
    .where(and(...filters))
    .orderBy(desc(sessions.createdAt), desc(sessions.id))
    .limit(q.limit + 1);
  const page = rows.slice(0, q.limit);
  const data = await Promise.all(
    page.map(async (row) =>
      toSessionView(
        await openSessionRow(keys, row),
        row.status === "complete" || row.status === "incomplete" ? await loadReport(db, keys, row.id) : null,
      ),
    ),
  );
  const last = page.at(-1);
  return c.json({ data, nextCursor: rows.length > q.limit && last ? encodeCursor(last) : null }, 200);
});

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

sessionRoutes.openapi(refreshSecret, async (c) => {
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

sessionRoutes.openapi(cancelSession, async (c) => {
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

sessionRoutes.openapi(eraseSession, async (c) => {
  const { id } = c.req.valid("param");
  const { db, tenantId } = c.var;
  const [row] = await db
    .select()
    .from(sessions)
    .where(and(eq(sessions.id, id), eq(sessions.tenantId, tenantId)));
  if (!row) throw new FacetError("ERR_NOT_FOUND", `No session ${id}.`);
  const keys = tenantKeys(c.env, db, tenantId);
  const { clientReferenceId } = await openSessionRow(keys, row);
  await eraseSessions(db, c.env, [row]);
  const now = Date.now();
  await db.insert(auditLog).values({
    id: newId("aud"),
    tenantId,
    actor: c.var.apiKeyId,
    action: "session.erase",
    target: id,
    at: now,
  });
  await emitEvent(db, c.env.EVENTS, keys, "session.erased", {
    session: { id, clientReferenceId, erasedAt: new Date(now).toISOString() },
  });
  return c.body(null, 204);
});
