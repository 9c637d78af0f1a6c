/**
 * `POST /v1/sessions` (product-spec §3): validates the flow and the tenant's residency policy,
 * seals what the integrator supplied, and writes the session, its audit row, its recognition
 * consent and its `session.created` outbox row in one D1 batch. An `Idempotency-Key` makes a
 * retried create land once: the replay answers with the same session and a fresh client secret.
 */
import { createRoute, OpenAPIHono } from "@hono/zod-openapi";
import { and, eq } from "drizzle-orm";
import { CreateSessionResponseSchema, CreateSessionSchema, ZoneSchema } from "../../../lib/api-schemas.ts";
import { clientSecretView, issueClientSecret } from "../../../lib/client-secret.ts";
import { newId } from "../../../lib/crypto/random.ts";
import { tenantKeys } from "../../../lib/crypto/tenant-keys.ts";
import { auditLog, idempotencyKeys, recognitionRequests, sessions, tenants } from "../../../lib/db/schema.ts";
import { FacetError } from "../../../lib/errors.ts";
import { validateFlow } from "../../../lib/flow-validate.ts";
import { createdOutboxId, dispatchLifecycleEvent, recordCreatedEvent } from "../../../lib/outbox.ts";
import { recognitionRequestRow, recognitionWarnings } from "../../../lib/recognition/consent.ts";
import { openSessionRow, sealSession, toSessionView } from "../../../lib/sessions/view.ts";
import { parseTenantSettings } from "../../../lib/tenant-settings.ts";
import type { EdgeEnv } from "../env.ts";
import { json, problemResponses, validationHook } from "../openapi.ts";

export const sessionCreateRoutes = new OpenAPIHono<EdgeEnv>({ defaultHook: validationHook });

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

sessionCreateRoutes.openapi(createSession, async (c) => {
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
async function replayResponse(
  c: Parameters<Parameters<typeof sessionCreateRoutes.openapi>[1]>[0],
  replay: Replay,
) {
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
