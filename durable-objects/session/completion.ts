/**
 * The end of a session: six analyzers in parallel over their slices, fusion, one D1 batch that
 * moves the session to its terminal status and stores outcomes and report, then the event.
 *
 * Exactly-once: the status UPDATE only matches a session still `in_progress`, and the outbox
 * row for `session.completed` / `session.incomplete` is written in the same batch only when it
 * matched (lib/outbox.ts). The event is then dispatched from the outbox; if that fails, this
 * function throws and the DO retries it, which finds the status written and only dispatches.
 */
import { and, eq } from "drizzle-orm";
import { ANALYZERS } from "../../lib/analyzer-contract.ts";
import type { Degradation, Report, Residency } from "../../lib/api-schemas.ts";
import { tenantKeys } from "../../lib/crypto/tenant-keys.ts";
import { openDb } from "../../lib/db/client.ts";
import { answerDigests, nodeOutcomes, reports, sessions } from "../../lib/db/schema.ts";
import { type FusionPolicy, fuse } from "../../lib/fusion.ts";
import { dispatchSessionOutbox, recordTerminalEvents } from "../../lib/outbox.ts";
import { sealOutcome, sealReportColumn } from "../../lib/sessions/view.ts";
import { analyzerBindings, runAllAnalyzers } from "./analyzer-fanout.ts";
import { answerDigestRows, type StoredAnswer } from "./answer-repetition.ts";
import { buildSlices, type SessionEvidence } from "./slices.ts";

export interface Ending {
  status: "complete" | "incomplete";
  /** why it ended incomplete (expired, cancelled, timeout, protocol_error, disconnected, …) */
  reason: string | null;
}

export interface CompletionInput extends SessionEvidence {
  tokenizerFailures: number;
  shedWindows: number;
  /** earlier attempts to record this end that failed (D1 or key service unavailable) */
  recordRetries?: number;
  policy: FusionPolicy;
  /** the report's transcript: prompts as shown and replies as recognised (product-spec §5) */
  transcript?: Report["transcript"];
  /** where the session was processed, and windows refused for their zone (residency-ledger.ts) */
  residency?: { residency: Residency; degraded: Degradation[] };
  /** keyed digest sets of the session's replies (answer-repetition.ts), stored with the report */
  answerDigests?: readonly StoredAnswer[];
  /** repetition checks that could not be made (tokenizer, D1 or key service failed) */
  repetitionFailures?: number;
}

interface CompletionState {
  config: { sessionId: string; tenantId: string };
  visits: { id: string; type: string; outcome: string; at: number }[];
}

export async function completeSession(
  env: Env,
  state: CompletionState,
  ending: Ending,
  input: CompletionInput,
): Promise<void> {
  const { sessionId, tenantId } = state.config;
  const outcomes = await runAllAnalyzers(
    analyzerBindings(env),
    buildSlices(input),
    Number(env.ANALYZER_TIMEOUT_MS),
  );
  const risk = fuse(outcomes, input.policy, {
    challenges: input.challenges,
    challengeVisits: input.challengeVisits,
  });
  const degraded: Degradation[] = [];
  if (input.tokenizerFailures > 0) {
    degraded.push({
      component: "tokenizer",
      code: "TOKENIZER_WINDOWS_LOST",
      detail: `${input.tokenizerFailures} media window(s) could not be tokenized and were discarded`,
    });
  }
  if (input.shedWindows > 0) {
    degraded.push({
      component: "session",
      code: "WINDOWS_SHED",
      detail: `${input.shedWindows} media window(s) were dropped because tokenization fell behind`,
    });
  }
  degraded.push(...(input.residency?.degraded ?? []));
  // A reply heard (voice activity) but never transcribed: the node could decide only `no_reply`
  // and the fallback (docs/conversation.md "Without a recognizer").
  const untranscribed = input.turns.filter((t) => t.words === null && t.latencyMs !== null).length;
  if (untranscribed > 0) {
    degraded.push({
      component: "tokenizer",
      code: "ASR_UNAVAILABLE",
      detail: `${untranscribed} spoken reply(s) could not be transcribed; their nodes decided on no_reply and the fallback only`,
    });
  }
  if ((input.repetitionFailures ?? 0) > 0) {
    degraded.push({
      component: "conversation",
      code: "ANSWER_REPETITION_UNCHECKED",
      detail: `${input.repetitionFailures} reply(s) could not be compared with the tenant's earlier answers`,
    });
  }
  if (input.recordRetries) {
    // docs/reliability.md, D1 faults: the report says the end was late and why.
    degraded.push({
      component: "storage",
      code: "OUTCOME_RECORD_RETRIED",
      detail: `recording the outcome failed ${input.recordRetries} time(s) (storage or key service unavailable) and was retried`,
    });
  }
  for (const name of ANALYZERS) {
    const outcome = outcomes[name];
    if ("error" in outcome)
      degraded.push({
        component: `analyzer:${name}`,
        code: outcome.error,
        detail: `${name} analyzer gave no result`,
      });
  }
  const device: Report["device"] = {
    network: {
      country: input.network.country,
      asn: input.network.asn,
      datacenterAsn: input.network.datacenterAsn,
    },
    browser: input.device
      ? {
          timezone: input.device.timezone,
          language: input.device.language,
          webdriver: input.device.webdriver,
          virtualCamera: input.device.virtualCamera,
        }
      : null,
  };
  const now = Date.now();
  const db = openDb(env.DB);
  // Outcomes and report are field-encrypted under the tenant's data key (docs/storage.md).
  const keys = tenantKeys(env, db, tenantId);
  const [outcomesSealed, riskSealed, transcriptSealed, deviceSealed, degradedSealed, digestRows] =
    await Promise.all([
      Promise.all(state.visits.map((v, seq) => sealOutcome(keys, sessionId, seq, v.outcome))),
      sealReportColumn(keys, sessionId, "risk", JSON.stringify(risk)),
      sealReportColumn(keys, sessionId, "transcript", JSON.stringify(input.transcript ?? [])),
      sealReportColumn(keys, sessionId, "device", JSON.stringify(device)),
      sealReportColumn(keys, sessionId, "degraded", JSON.stringify(degraded)),
      answerDigestRows(keys, sessionId, tenantId, input.answerDigests ?? [], now),
    ]);
  await db.batch([
    db
      .update(sessions)
      .set({
        status: ending.status,
        incompleteReason: ending.reason,
        finishedAt: now,
        clientSecretHash: null,
      })
      .where(and(eq(sessions.id, sessionId), eq(sessions.status, "in_progress"))),
    recordTerminalEvents(db, {
      type: ending.status === "complete" ? "session.completed" : "session.incomplete",
      status: ending.status,
      finishedAt: now,
      sessionId,
    }),
    ...(state.visits.length > 0
      ? [
          db
            .insert(nodeOutcomes)
            .values(
              state.visits.map((v, seq) => ({
                sessionId,
                seq,
                nodeId: v.id,
                nodeType: v.type,
                outcome: outcomesSealed[seq] ?? "",
                at: v.at,
              })),
            )
            .onConflictDoNothing(),
        ]
      : []),
    db
      .insert(reports)
      .values({
        sessionId,
        tenantId,
        risk: riskSealed,
        transcript: transcriptSealed,
        device: deviceSealed,
        degraded: degradedSealed,
        residency: input.residency ? JSON.stringify(input.residency.residency) : null,
        createdAt: now,
      })
      .onConflictDoNothing(),
    ...(digestRows.length > 0 ? [db.insert(answerDigests).values(digestRows).onConflictDoNothing()] : []),
  ]);
  // Also when the UPDATE matched nothing: a previous attempt may have written the status and
  // failed before its event left (or someone else ended it; then their row is dispatched).
  await dispatchSessionOutbox(env, db, sessionId);
}
