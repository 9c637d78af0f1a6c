/**
 * `/v1/subjects/{ref}`: the controller's rights over one end user, named by the integrator's
 * `clientReferenceId` (product-spec §3, §7; GDPR Art. 15 access, Art. 17 erasure). Facet is the
 * processor: the integrator asks, Facet answers for everything it holds.
 *
 * - `GET` exports the subject's sessions (with what the integrator supplied, report and node
 *   outcomes), the metadata of their webhook deliveries, and the audit entries about them.
 * - `DELETE` ends running sessions through their Durable Object, erases sessions, outcomes,
 *   reports and delivery payloads, crypto-shreds the subject's fingerprints (its key is destroyed
 *   in the HSM, lib/recognition/subject-keys.ts), and emits `subject.erased` through the outbox.
 *
 * Both are audited. The audit row's target is `subject:<SHA-256 of tenant id and reference>`, not
 * the reference itself, so the log proves the request without keeping the identifier it erased
 * (docs/data-protection.md, "Audit").
 */
import { createRoute, OpenAPIHono } from "@hono/zod-openapi";
import { and, asc, eq, inArray, or } from "drizzle-orm";
import {
  SubjectErasureSchema,
  SubjectExportSchema,
  SubjectRefParamSchema,
  SubjectSessionSchema,
} from "../../../lib/api-schemas.ts";
import { newId } from "../../../lib/crypto/random.ts";
import { type TenantKeys, tenantKeys } from "../../../lib/crypto/tenant-keys.ts";
import { auditLog, deliveries, sessions } from "../../../lib/db/schema.ts";
import { dispatchLifecycleEvent } from "../../../lib/outbox.ts";
import { recordSubjectErased, subjectErasedOutboxId } from "../../../lib/outbox-records.ts";
import { eraseSubjectFingerprints, listEnrolments } from "../../../lib/recognition/store.ts";
import { loadReport, openSessionData, openSessionRow, toSessionView } from "../../../lib/sessions/view.ts";
import type { EdgeEnv } from "../env.ts";
import { eraseSessions } from "../erasure.ts";
import { json, problemResponses, validationHook } from "../openapi.ts";
import { toDeliveryView } from "./deliveries.ts";

export const subjectRoutes = new OpenAPIHono<EdgeEnv>({ defaultHook: validationHook });

/**
 * The audit target for a subject: a keyed digest (the reference hash, hex), so erasing the subject
 * leaves no reference behind and a guessed reference cannot be confirmed without the tenant's key.
 */
export async function subjectAuditTarget(keys: TenantKeys, ref: string): Promise<string> {
  const mac = atob((await keys.referenceHash(ref)).replaceAll("-", "+").replaceAll("_", "/"));
  return `subject:${Array.from(mac, (c) => c.charCodeAt(0).toString(16).padStart(2, "0")).join("")}`;
}

subjectRoutes.openapi(
  createRoute({
    method: "get",
    path: "/{ref}",
    summary: "Export everything held about one subject (data-subject access)",
    request: { params: SubjectRefParamSchema },
    responses: {
      200: { description: "The export", ...json(SubjectExportSchema) },
      ...problemResponses(400, 401, 429),
    },
  }),
  async (c) => {
    const { ref } = c.req.valid("param");
    const { db, tenantId } = c.var;
    const now = Date.now();
    const keys = tenantKeys(c.env, db, tenantId);
    const refHash = await keys.referenceHash(ref);
    const target = await subjectAuditTarget(keys, ref);
    // Audit first, so the export lists its own access.
    await db.insert(auditLog).values({
      id: newId("aud"),
      tenantId,
      actor: c.var.apiKeyId,
      action: "subject.export",
      target,
      at: now,
    });
    const rows = await db
      .select()
      .from(sessions)
      .where(and(eq(sessions.tenantId, tenantId), eq(sessions.clientReferenceHash, refHash)))
      .orderBy(asc(sessions.createdAt), asc(sessions.id));
    const ofSubject = db
      .select({ id: sessions.id })
      .from(sessions)
      .where(and(eq(sessions.tenantId, tenantId), eq(sessions.clientReferenceHash, refHash)));
    const exported = await Promise.all(
      rows.map(async (row) => {
        const data = await openSessionData(keys, row);
        return SubjectSessionSchema.parse({
          ...toSessionView(await openSessionRow(keys, row), await loadReport(db, keys, row.id)),
          locale: row.locale,
          metadata: JSON.parse(data.metadata),
          providedData: data.providedData === null ? null : JSON.parse(data.providedData),
        });
      }),
    );
    const deliveryRows = await db
      .select()
      .from(deliveries)
      .where(and(eq(deliveries.tenantId, tenantId), inArray(deliveries.sessionId, ofSubject)))
      .orderBy(asc(deliveries.createdAt), asc(deliveries.id));
    const auditRows = await db
      .select()
      .from(auditLog)
      .where(
        and(
          eq(auditLog.tenantId, tenantId),
          or(eq(auditLog.target, target), inArray(auditLog.target, ofSubject)),
        ),
      )
      .orderBy(asc(auditLog.at), asc(auditLog.id));
    return c.json(
      SubjectExportSchema.parse({
        subject: {
          clientReferenceId: ref,
          sessions: exported,
          enrolments: await listEnrolments(c.env, db, keys, refHash),
          deliveries: deliveryRows.map(toDeliveryView),
          audit: auditRows.map((a) => ({
            action: a.action,
            actor: a.actor,
            target: a.target,
            at: new Date(a.at).toISOString(),
          })),
        },
        exportedAt: new Date(now).toISOString(),
      }),
      200,
    );
  },
);

subjectRoutes.openapi(
  createRoute({
    method: "delete",
    path: "/{ref}",
    summary: "Erase everything held about one subject; emits `subject.erased`",
    description:
      "Running sessions are cancelled first. Sessions, node outcomes, reports and webhook payloads " +
      "are deleted; delivery metadata and the audit log stay. Erasing a subject with no data succeeds.",
    request: { params: SubjectRefParamSchema },
    responses: {
      200: { description: "Erased", ...json(SubjectErasureSchema) },
      ...problemResponses(400, 401, 429),
    },
  }),
  async (c) => {
    const { ref } = c.req.valid("param");
    const { db, tenantId } = c.var;
    const keys = tenantKeys(c.env, db, tenantId);
    const refHash = await keys.referenceHash(ref);
    const rows = await db
      .select()
      .from(sessions)
      .where(and(eq(sessions.tenantId, tenantId), eq(sessions.clientReferenceHash, refHash)));
    await eraseSessions(db, c.env, rows);
    // Crypto-shredding: the HSM destroys the subject's KEK, then its fingerprint rows go.
    const fingerprintsErased = await eraseSubjectFingerprints(c.env, db, tenantId, refHash);
    const now = Date.now();
    const erasedAt = new Date(now).toISOString();
    const sessionIds = rows.map((r) => r.id);
    // Every step above is done: the audit row and the event's outbox row record the completion in
    // one batch (docs/reliability.md "Outbox"). A failure before this point fails the request and
    // a retry redoes what is left; after it, the five-minute sweep owes the event. The row keeps
    // the reference sealed and the session ids, nothing else (lib/outbox-records.ts).
    const outboxId = subjectErasedOutboxId();
    await db.batch([
      db.insert(auditLog).values({
        id: newId("aud"),
        tenantId,
        actor: c.var.apiKeyId,
        action: "subject.erase",
        target: await subjectAuditTarget(keys, ref),
        at: now,
      }),
      (await recordSubjectErased(db, keys, outboxId, { clientReferenceId: ref, sessionIds, at: now })).insert,
    ]);
    c.executionCtx.waitUntil(dispatchLifecycleEvent(c.env, db, outboxId));
    return c.json({ clientReferenceId: ref, sessionIds, fingerprintsErased, erasedAt }, 200);
  },
);
