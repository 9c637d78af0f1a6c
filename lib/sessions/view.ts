/**
 * The session as the integrator sees it (product-spec §5: `GET /v1/sessions/{id}` and every
 * webhook's `data.session`). One builder for both so the webhook never disagrees with the API.
 * Rows read back from D1 are validated on the way out (house-style 4).
 *
 * The personal and biometric-derived columns are field-encrypted (docs/storage.md): rows are
 * opened here with the tenant's keys, and sealed here before they are written.
 */
import { and, asc, eq } from "drizzle-orm";
import { type Report, ReportSchema, type SessionView, SessionViewSchema } from "../api-schemas.ts";
import type { TenantKeys } from "../crypto/tenant-keys.ts";
import type { Db } from "../db/client.ts";
import { nodeOutcomes, reports, sessions } from "../db/schema.ts";
import { loadRecognitionResults } from "../recognition/results.ts";

type SessionRow = typeof sessions.$inferSelect;

/** The encrypted columns of `sessions`, in clear. */
export interface SessionSecrets {
  clientReferenceId: string;
  /** JSON */
  metadata: string;
  /** JSON or null */
  providedData: string | null;
}

const slot = (table: string, column: string, rowId: string) => ({ table, column, rowId });

/** Seals a new session's personal data and computes its reference hash. */
export async function sealSession(
  keys: TenantKeys,
  id: string,
  clear: SessionSecrets,
): Promise<SessionSecrets & { clientReferenceHash: string }> {
  const [clientReferenceId, metadata, providedData, clientReferenceHash] = await Promise.all([
    keys.seal(slot("sessions", "client_reference_id", id), clear.clientReferenceId),
    keys.seal(slot("sessions", "metadata", id), clear.metadata),
    clear.providedData === null ? null : keys.seal(slot("sessions", "provided_data", id), clear.providedData),
    keys.referenceHash(clear.clientReferenceId),
  ]);
  return { clientReferenceId, metadata, providedData, clientReferenceHash };
}

/** The row with its client reference in clear: what `toSessionView` needs. */
export async function openSessionRow<R extends SessionRow>(keys: TenantKeys, row: R): Promise<R> {
  return {
    ...row,
    clientReferenceId: await keys.open(
      slot("sessions", "client_reference_id", row.id),
      row.clientReferenceId,
    ),
  };
}

/** The session's metadata and providedData in clear (JSON text). */
export async function openSessionData(
  keys: TenantKeys,
  row: SessionRow,
): Promise<{ metadata: string; providedData: string | null }> {
  const [metadata, providedData] = await Promise.all([
    keys.open(slot("sessions", "metadata", row.id), row.metadata),
    row.providedData === null ? null : keys.open(slot("sessions", "provided_data", row.id), row.providedData),
  ]);
  return { metadata, providedData };
}

/** Seals a node outcome (`node_outcomes.outcome`, row id `<sessionId>/<seq>`). */
export function sealOutcome(
  keys: TenantKeys,
  sessionId: string,
  seq: number,
  outcome: string,
): Promise<string> {
  return keys.seal(slot("node_outcomes", "outcome", `${sessionId}/${seq}`), outcome);
}

/** Seals one JSON column of `reports`. */
export function sealReportColumn(
  keys: TenantKeys,
  sessionId: string,
  column: "risk" | "transcript" | "device" | "degraded",
  json: string,
): Promise<string> {
  return keys.seal(slot("reports", column, sessionId), json);
}

/**
 * The transcript value the retention purge writes when it empties a transcript: a constant
 * that holds nothing, so the purge needs no key.
 */
export const EMPTIED_TRANSCRIPT = "[]";

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

export async function loadReport(db: Db, keys: TenantKeys, sessionId: string): Promise<Report | null> {
  const [reportRow] = await db
    .select()
    .from(reports)
    .where(and(eq(reports.sessionId, sessionId), eq(reports.tenantId, keys.tenantId)));
  if (!reportRow) return null;
  const nodes = await db
    .select()
    .from(nodeOutcomes)
    .where(eq(nodeOutcomes.sessionId, sessionId))
    .orderBy(asc(nodeOutcomes.seq));
  const open = (column: "risk" | "transcript" | "device" | "degraded") =>
    keys.open(slot("reports", column, sessionId), reportRow[column]);
  const [risk, transcript, device, degraded, outcomes, recognition] = await Promise.all([
    open("risk"),
    reportRow.transcript === EMPTIED_TRANSCRIPT ? EMPTIED_TRANSCRIPT : open("transcript"),
    open("device"),
    open("degraded"),
    Promise.all(
      nodes.map((n) => keys.open(slot("node_outcomes", "outcome", `${sessionId}/${n.seq}`), n.outcome)),
    ),
    loadRecognitionResults(db, keys, sessionId),
  ]);
  return ReportSchema.parse({
    risk: JSON.parse(risk),
    nodes: nodes.map((n, i) => ({
      id: n.nodeId,
      type: n.nodeType,
      outcome: outcomes[i],
      at: iso(n.at),
      ...(n.nodeType === "recognition" ? recognition.get(n.nodeId) : {}),
    })),
    transcript: JSON.parse(transcript),
    device: JSON.parse(device),
    degraded: JSON.parse(degraded),
    residency: reportRow.residency === null ? null : JSON.parse(reportRow.residency),
  });
}

/** The tenant-scoped read: another tenant's id is indistinguishable from a missing one. */
export async function loadSessionView(db: Db, keys: TenantKeys, id: string): Promise<SessionView | null> {
  const [row] = await db
    .select()
    .from(sessions)
    .where(and(eq(sessions.id, id), eq(sessions.tenantId, keys.tenantId)));
  if (!row) return null;
  return toSessionView(await openSessionRow(keys, row), await loadReport(db, keys, id));
}
