/**
 * The session as the integrator sees it (product-spec §5: `GET /v1/sessions/{id}` and every
 * webhook's `data.session`). One builder for both so the webhook never disagrees with the API.
 * Rows read back from D1 are validated on the way out (house-style 4).
 */
import { and, asc, eq } from "drizzle-orm";
import { type Report, ReportSchema, type SessionView, SessionViewSchema } from "../api-schemas.ts";
import type { Db } from "../db/client.ts";
import { nodeOutcomes, reports, sessions } from "../db/schema.ts";

type SessionRow = typeof sessions.$inferSelect;

const iso = (ms: number) => new Date(ms).toISOString();
const isoOrNull = (ms: number | null) => (ms === null ? null : iso(ms));

export function toSessionView(row: SessionRow, report: Report | null): SessionView {
  return SessionViewSchema.parse({
    id: row.id,
    status: row.status,
    incompleteReason: row.incompleteReason,
    clientReferenceId: row.clientReferenceId,
    zone: row.zone,
    createdAt: iso(row.createdAt),
    startedAt: isoOrNull(row.startedAt),
    finishedAt: isoOrNull(row.finishedAt),
    expiresAt: iso(row.expiresAt),
    report,
  });
}

export async function loadReport(db: Db, sessionId: string): Promise<Report | null> {
  const [reportRow] = await db.select().from(reports).where(eq(reports.sessionId, sessionId));
  if (!reportRow) return null;
  const nodes = await db
    .select()
    .from(nodeOutcomes)
    .where(eq(nodeOutcomes.sessionId, sessionId))
    .orderBy(asc(nodeOutcomes.seq));
  return ReportSchema.parse({
    risk: JSON.parse(reportRow.risk),
    nodes: nodes.map((n) => ({ id: n.nodeId, type: n.nodeType, outcome: n.outcome, at: iso(n.at) })),
    transcript: JSON.parse(reportRow.transcript),
    device: JSON.parse(reportRow.device),
    degraded: JSON.parse(reportRow.degraded),
  });
}

/** The tenant-scoped read: another tenant's id is indistinguishable from a missing one. */
export async function loadSessionView(db: Db, tenantId: string, id: string): Promise<SessionView | null> {
  const [row] = await db
    .select()
    .from(sessions)
    .where(and(eq(sessions.id, id), eq(sessions.tenantId, tenantId)));
  if (!row) return null;
  return toSessionView(row, await loadReport(db, id));
}
