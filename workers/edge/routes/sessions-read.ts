/**
 * Reading sessions (product-spec §3): `GET /v1/sessions/{id}` (audited, the report once ended)
 * and `GET /v1/sessions` (newest first, cursor pagination; filters by status, creation time and
 * the keyed hash of `clientReferenceId`, never the reference itself).
 */
import { createRoute, OpenAPIHono } from "@hono/zod-openapi";
import { and, desc, eq, gte, lt, lte, or } from "drizzle-orm";
import {
  ListSessionsQuerySchema,
  SessionEnvelopeSchema,
  SessionIdParamSchema,
  SessionListSchema,
} from "../../../lib/api-schemas.ts";
import { newId } from "../../../lib/crypto/random.ts";
import { tenantKeys } from "../../../lib/crypto/tenant-keys.ts";
import { decodeCursor, encodeCursor } from "../../../lib/cursor.ts";
import { auditLog, sessions } from "../../../lib/db/schema.ts";
import { FacetError } from "../../../lib/errors.ts";
import { loadReport, loadSessionView, openSessionRow, toSessionView } from "../../../lib/sessions/view.ts";
import type { EdgeEnv } from "../env.ts";
import { json, problemResponses, validationHook } from "../openapi.ts";

export const sessionReadRoutes = new OpenAPIHono<EdgeEnv>({ defaultHook: validationHook });

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

sessionReadRoutes.openapi(getSession, async (c) => {
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

sessionReadRoutes.openapi(listSessions, async (c) => {
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
