/**
 * The `recognition` node (product-spec §2: outcomes `recognized`, `new_subject`, `no_face`;
 * "enrol-if-new (needs recorded consent)"). While the node is current, the session asks the
 * tokenizer for the keyed fingerprint of each window (tokenizer-client.ts `wantFingerprint`); this
 * module keeps those templates in memory, and once enough windows carried a face it forms one probe
 * (bitwise majority, lib/recognition/match.ts), matches it 1:N among the same tenant's enrolled
 * templates (lib/recognition/store.ts) and, when nobody matches, enrols it — only if the session
 * was created with `recognition: {enrol: true, consentRef}`, whose consent reference is recorded
 * with the template. Without consent nothing is stored.
 *
 * The decision is written to `recognition_results` (the matched reference sealed under the tenant
 * key) for the report. Templates never reach DO storage, logs or the analyzers, and are dropped
 * once the node has decided.
 */
import { and, eq } from "drizzle-orm";
import { tenantKeys } from "../../lib/crypto/tenant-keys.ts";
import { openDb } from "../../lib/db/client.ts";
import { recognitionRequests, recognitionResults, sessions } from "../../lib/db/schema.ts";
import type { Fingerprint } from "../../lib/features.ts";
import { majorityTemplate } from "../../lib/recognition/match.ts";
import { enrolFingerprint, matchFingerprint } from "../../lib/recognition/store.ts";
import { openSessionRow } from "../../lib/sessions/view.ts";

/** Windows with a template before the node decides: a single window is one noisy draw. */
export const MIN_PROBE_TEMPLATES = 2;

export type RecognitionOutcome = "recognized" | "new_subject" | "no_face";

interface NodeContext {
  sessionId: string;
  tenantId: string;
  zone: "eu" | "us";
  nodeId: string;
}

export class RecognitionProbe {
  /** window seq → template, memory only */
  #templates = new Map<number, Fingerprint>();

  add(seq: number, fingerprint: Fingerprint | null): void {
    if (fingerprint) this.#templates.set(seq, fingerprint);
  }

  /**
   * The node's outcome once decidable, null while it waits. `first` is the first window sequence
   * of the node, `processed` how many windows have been processed, `maxWindows` how long it waits.
   */
  async progress(
    env: Env,
    ctx: NodeContext,
    first: number,
    processed: number,
    maxWindows: number,
  ): Promise<RecognitionOutcome | null> {
    const mine = [...this.#templates].filter(([seq]) => seq >= first && seq < processed).map(([, fp]) => fp);
    if (mine.length < MIN_PROBE_TEMPLATES && processed - first < maxWindows) return null;
    this.#templates.clear();
    if (mine.length === 0) return "no_face";
    // Only templates of one tokenization key version compare: take the newest version's.
    const version = Math.max(...mine.map((fp) => fp.keyVersion));
    const bits = majorityTemplate(mine.filter((fp) => fp.keyVersion === version).map((fp) => fp.bits));
    if (bits === null) return "no_face";
    return decide(env, ctx, { keyVersion: version, bits });
  }

  clear(): void {
    this.#templates.clear();
  }
}

async function decide(
  env: Env,
  ctx: NodeContext,
  probe: { keyVersion: number; bits: string },
): Promise<RecognitionOutcome> {
  const db = openDb(env.DB);
  const keys = tenantKeys(env, db, ctx.tenantId);
  const now = Date.now();
  const match = await matchFingerprint(env, db, keys, probe, ctx.sessionId, now);
  let enrolled = false;
  if (!match) {
    const [request] = await db
      .select()
      .from(recognitionRequests)
      .where(
        and(eq(recognitionRequests.sessionId, ctx.sessionId), eq(recognitionRequests.tenantId, ctx.tenantId)),
      );
    const [row] = await db
      .select()
      .from(sessions)
      .where(and(eq(sessions.id, ctx.sessionId), eq(sessions.tenantId, ctx.tenantId)));
    if (request?.enrol && request.consentRef !== null && row) {
      const consentRef = await keys.open(
        { table: "recognition_requests", column: "consent_ref", rowId: ctx.sessionId },
        request.consentRef,
      );
      const { clientReferenceId } = await openSessionRow(keys, row);
      await enrolFingerprint(
        env,
        db,
        {
          tenantKeys: keys,
          sessionId: ctx.sessionId,
          clientReferenceId,
          consentRef,
          mode: row.mode,
          zone: ctx.zone,
          probe,
        },
        now,
      );
      enrolled = true;
    }
  }
  const matchedReference = match
    ? await keys.seal(
        {
          table: "recognition_results",
          column: "matched_reference",
          rowId: `${ctx.sessionId}/${ctx.nodeId}`,
        },
        match.clientReferenceId,
      )
    : null;
  await db
    .insert(recognitionResults)
    .values({
      sessionId: ctx.sessionId,
      tenantId: ctx.tenantId,
      nodeId: ctx.nodeId,
      matchedReference,
      enrolled,
      createdAt: now,
    })
    .onConflictDoNothing();
  return match ? "recognized" : "new_subject";
}
