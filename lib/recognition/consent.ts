/**
 * Consent for recognition enrolment at session creation (product-spec §2 `recognition`:
 * "enrol-if-new (needs recorded consent)"; §3 `POST /v1/sessions` `recognition?: {enrol,
 * consentRef}`). `CreateSessionSchema` already refuses `enrol: true` without a `consentRef`
 * (400 ERR_VALIDATION naming the field). Here: the row that records the request — the consent
 * reference sealed under the tenant key, bound to the session — and the advisory warnings that
 * say why a flow will not enrol, or why a consent has nothing to apply to.
 */
import type { CreateSession } from "../api-schemas.ts";
import type { TenantKeys } from "../crypto/tenant-keys.ts";
import type { recognitionRequests } from "../db/schema.ts";
import type { FlowNode } from "../flow.ts";

export interface FlowWarning {
  rule: string;
  nodeId: string | null;
  message: string;
}

/** Why recognition will not enrol (no consent) or why a consent is unused (no recognition node). */
export function recognitionWarnings(
  flow: readonly FlowNode[],
  recognition: CreateSession["recognition"],
): FlowWarning[] {
  const nodes = flow.filter((n) => n.type === "recognition");
  if (nodes.length > 0 && !recognition?.enrol) {
    return nodes.map((n) => ({
      rule: "recognition_without_consent",
      nodeId: n.id,
      message:
        "This recognition node matches against enrolled subjects but will not enrol a new one: enrolment " +
        "needs `recognition: {enrol: true, consentRef}` with the subject's recorded consent.",
    }));
  }
  if (nodes.length === 0 && recognition?.enrol) {
    return [
      {
        rule: "recognition_unused",
        nodeId: null,
        message: "`recognition.enrol` is set but the flow has no recognition node: nothing will be enrolled.",
      },
    ];
  }
  return [];
}

/** The `recognition_requests` row for a new session, or null when the request had none. */
export async function recognitionRequestRow(
  keys: TenantKeys,
  sessionId: string,
  recognition: CreateSession["recognition"],
  now: number,
): Promise<typeof recognitionRequests.$inferInsert | null> {
  if (!recognition) return null;
  const consentRef =
    recognition.enrol && recognition.consentRef !== undefined
      ? await keys.seal(
          { table: "recognition_requests", column: "consent_ref", rowId: sessionId },
          recognition.consentRef,
        )
      : null;
  return { sessionId, tenantId: keys.tenantId, enrol: recognition.enrol, consentRef, createdAt: now };
}
