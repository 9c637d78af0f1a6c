/**
 * Repetition of one answer across sessions of a tenant — the call centre's script (issue 7,
 * product-spec §2 conversation analyzer) — through keyed hashes only. For each recognised reply
 * the session DO: cuts the transcript into normalised shingles (answer-shingles.ts); has the
 * regional tokenizer turn them into keyed digests under the tenant's HSM tokenization key with
 * the answer-shingle domain label (services/tokenizer/answer-digests.ts); reads the digest sets
 * of the tenant's most recent answers from D1 (other sessions of other subjects, same mode and
 * key version) and opens them with the tenant's data key; and calls the reply repeated when it is
 * `sameAnswer` as one of them (containment and shared-shingle thresholds). The session's own sets are written with
 * its report (completion.ts), field-encrypted, and live under the `transcripts` retention class.
 *
 * The transcript text never leaves this DO except to the tokenizer over mTLS; neither the text
 * nor the shingles are stored or logged. A failure anywhere (tokenizer, D1, keys) makes the
 * result unknown — never "repeated" — and is counted for the report's `degraded` list.
 */
import { and, desc, eq, ne } from "drizzle-orm";
import { z } from "zod";
import { type TenantKeys, tenantKeys } from "../../lib/crypto/tenant-keys.ts";
import { type Db, openDb } from "../../lib/db/client.ts";
import { answerDigests, sessions } from "../../lib/db/schema.ts";
import { answerShingles, overlap, sameAnswer } from "./answer-shingles.ts";

/** The reason a repeated reply carries in the report's transcript (`flags`). */
export const REPEATED_FLAG = "answer_repeated_across_sessions";
/** How many of the tenant's most recent stored answers one reply is compared with. */
export const RECENT_ANSWERS = 500;
const DIGEST_TIMEOUT_MS = 5_000;

const Digest = z.string().regex(/^[A-Za-z0-9_-]{16}$/);
const DigestReply = z.object({
  keyVersion: z.number().int().min(1),
  digests: z.array(Digest).max(128),
});
const DigestList = z.array(Digest).max(128);
const StoredRow = z.object({
  sessionId: z.string(),
  seq: z.number().int().min(0),
  digests: z.string(),
});

export interface RepetitionResult {
  /** the reply matches a stored answer of another subject of the tenant */
  repeated: boolean;
  /** the highest containment found, 0..1 */
  similarity: number;
}

/** One reply's digest set, kept in memory until the report is written. */
export interface StoredAnswer {
  keyVersion: number;
  digests: string[];
}

export interface RepetitionConfig {
  sessionId: string;
  tenantId: string;
  zone: "eu" | "us";
}

const slotOf = (sessionId: string, seq: number) => ({
  table: "answer_digests",
  column: "digests",
  rowId: `${sessionId}/${seq}`,
});

/** Per-session helper the DO holds: checks replies and remembers their digests for completion. */
export class AnswerRepetition {
  readonly #env: Env;
  readonly #config: RepetitionConfig;
  readonly #answers: StoredAnswer[] = [];
  /** checks that could not be made (tokenizer, D1 or key service failed) */
  failures = 0;

  constructor(env: Env, config: RepetitionConfig) {
    this.#env = env;
    this.#config = config;
  }

  /** The digest sets of this session's replies, for `answerDigestRows`. */
  get answers(): readonly StoredAnswer[] {
    return this.#answers;
  }

  /**
   * Compares one recognised reply with the tenant's stored answers. Null when the reply is too
   * short to compare (MIN_SHINGLES) or the check failed; the failure is counted.
   */
  async check(text: string): Promise<RepetitionResult | null> {
    const shingles = answerShingles(text);
    if (!shingles) return null;
    try {
      const own = await this.#digest(shingles);
      this.#answers.push(own);
      const db = openDb(this.#env.DB);
      const keys = tenantKeys(this.#env, db, this.#config.tenantId);
      let repeated = false;
      let similarity = 0;
      for (const other of await this.#recent(db, keys, own.keyVersion)) {
        similarity = Math.max(similarity, overlap(own.digests, other).containment);
        repeated ||= sameAnswer(own.digests, other);
      }
      return { repeated, similarity };
    } catch {
      // No detail: an error could quote the request. The result is unknown, not "repeated".
      this.failures += 1;
      return null;
    }
  }

  async #digest(shingles: string[]): Promise<StoredAnswer> {
    const { tenantId, zone } = this.#config;
    const base = zone === "us" ? this.#env.TOKENIZER_URL_US : this.#env.TOKENIZER_URL_EU;
    const response = await this.#env.TOKENIZER.fetch(`${base}/v1/answers/digests`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ tenantId, shingles }),
      signal: AbortSignal.timeout(DIGEST_TIMEOUT_MS),
    });
    if (!response.ok) throw new Error(`answer digests: tokenizer answered ${response.status}`);
    const reply = DigestReply.parse(await response.json());
    if (reply.digests.length !== shingles.length) throw new Error("answer digests: count mismatch");
    return { keyVersion: reply.keyVersion, digests: [...new Set(reply.digests)] };
  }

  /** Digest sets of the tenant's recent answers by other subjects (same mode and key version). */
  async #recent(db: Db, keys: TenantKeys, keyVersion: number): Promise<string[][]> {
    const { sessionId, tenantId } = this.#config;
    const [me] = await db
      .select({ ref: sessions.clientReferenceHash, mode: sessions.mode })
      .from(sessions)
      .where(and(eq(sessions.id, sessionId), eq(sessions.tenantId, tenantId)));
    if (!me) throw new Error("answer digests: session row missing");
    // One person answering alike in two sessions is not a script: other subjects only.
    const rows = await db
      .select({ sessionId: answerDigests.sessionId, seq: answerDigests.seq, digests: answerDigests.digests })
      .from(answerDigests)
      .innerJoin(sessions, eq(sessions.id, answerDigests.sessionId))
      .where(
        and(
          eq(answerDigests.tenantId, tenantId),
          eq(sessions.tenantId, tenantId),
          ne(answerDigests.sessionId, sessionId),
          ne(sessions.clientReferenceHash, me.ref),
          eq(sessions.mode, me.mode),
          eq(answerDigests.keyVersion, keyVersion),
        ),
      )
      .orderBy(desc(answerDigests.createdAt))
      .limit(RECENT_ANSWERS);
    return Promise.all(
      rows.map(async (raw) => {
        const row = StoredRow.parse(raw);
        return DigestList.parse(JSON.parse(await keys.open(slotOf(row.sessionId, row.seq), row.digests)));
      }),
    );
  }
}

/** The `answer_digests` rows of a session, sealed under the tenant's data key (docs/storage.md). */
export async function answerDigestRows(
  keys: TenantKeys,
  sessionId: string,
  tenantId: string,
  answers: readonly StoredAnswer[],
  now: number,
): Promise<(typeof answerDigests.$inferInsert)[]> {
  return Promise.all(
    answers.map(async (a, seq) => ({
      sessionId,
      seq,
      tenantId,
      keyVersion: a.keyVersion,
      digests: await keys.seal(slotOf(sessionId, seq), JSON.stringify(a.digests)),
      createdAt: now,
    })),
  );
}
