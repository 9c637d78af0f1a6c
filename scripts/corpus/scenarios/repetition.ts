/**
 * Cross-session answer repetition in the scenario corpus (issue 7; docs/conversation.md
 * "Repetition across sessions"): marks each conversation turn `repeated` the way the session DO
 * would have, from the corpus's own recognised transcripts, and recomputes the conversation
 * vector. A cheap pass over sessions.jsonl (no audio, no tokenizer), run at the end of
 * `buildScenarios()` and alone as `node scripts/corpus/scenarios/repetition.ts`.
 *
 * The simulation mirrors the DO rule for rule, with the DO's own code (answer-shingles.ts):
 * - one simulated tenant per split, its sessions completed in plan order; a session's replies are
 *   stored when it completes (completion.ts), so a reply is compared only with earlier sessions;
 * - the subject is the speaker voice (the corpus's identity unit, plan.ts): one voice answering
 *   alike in two sessions is one person, not a script, and is not compared (the DO's
 *   `client_reference_hash` rule);
 * - a reply is compared only when it was spoken and its transcript has at least MIN_SHINGLES
 *   shingles (`answerShingles`); otherwise `repeated` stays undefined (not compared);
 * - same answer = `sameAnswer` (containment ≥ 0.5 and ≥ 6 shared shingles) with any stored one.
 * Nothing is derived from the labels: a scripted session is flagged only when the recognizer
 * returned its recital long enough and another subject of its split had recited it before.
 * Transcripts are the recognizer's output cached by build.ts per (voice, answer text); the
 * metadata-only kinds speak with their genuine carrier's turns, exactly as build.ts builds them.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { answerShingles, sameAnswer } from "../../../durable-objects/session/answer-shingles.ts";
import { words } from "../../../durable-objects/session/conversation.ts";
import { buildVector } from "../../../lib/analyzer-runtime.ts";
import { METADATA_ONLY, type PlannedSession, planScenarios, SCENARIO_SEED } from "./plan.ts";
import { SCENARIO_DIR, type ScenarioRow, SESSIONS_FILE } from "./rows.ts";
import { SCENARIO_VECTORS } from "./vectors.ts";

/** The recognizer transcripts build.ts cached, keyed `${voice}|${answer text}`. */
export function readTranscripts(dir = SCENARIO_DIR): Map<string, string> {
  const out = new Map<string, string>();
  for (let shard = 0; existsSync(join(dir, `transcripts.shard-${shard}.json`)); shard++) {
    const file = join(dir, `transcripts.shard-${shard}.json`);
    for (const [k, v] of Object.entries(JSON.parse(readFileSync(file, "utf8")) as Record<string, string>))
      out.set(k, v);
  }
  return out;
}

/** The session whose audio and turns a row carries (build.ts: metadata-only kinds reuse genuine). */
function carrierOf(s: PlannedSession, byId: Map<string, PlannedSession>): PlannedSession {
  return METADATA_ONLY.has(s.kind) ? (byId.get(s.id.replace(s.kind, "genuine")) ?? s) : s;
}

export interface RepetitionSummary {
  split: string;
  compared: number;
  repeated: number;
  /** kinds with at least one repeated turn, and how many of their sessions */
  sessionsWithRepeat: Record<string, number>;
}

/**
 * Sets `repeated` on every row's conversation turns (or deletes it: not compared) and rewrites
 * `vectors.conversation`; returns per-split counts. Idempotent: nothing of a previous pass is read.
 */
export function markRepetition(
  rows: ScenarioRow[],
  transcripts: Map<string, string>,
  plan: PlannedSession[] = planScenarios(SCENARIO_SEED),
): RepetitionSummary[] {
  const byId = new Map(plan.map((s) => [s.id, s]));
  const summaries: RepetitionSummary[] = [];
  for (const split of ["train", "validation", "test"] as const) {
    const stored: { subject: string; shingles: string[] }[] = [];
    const summary: RepetitionSummary = { split, compared: 0, repeated: 0, sessionsWithRepeat: {} };
    for (const row of rows.filter((r) => r.split === split)) {
      const planned = byId.get(row.id);
      if (!planned) throw new Error(`${row.id} is not in the scenario plan`);
      const carrier = carrierOf(planned, byId);
      const turns = row.slices.conversation.turns;
      if (turns.length !== carrier.turns.length) throw new Error(`${row.id}: turns differ from the plan`);
      const mine: string[][] = [];
      let flagged = false;
      for (const [i, turn] of turns.entries()) {
        const pt = carrier.turns[i];
        const spoke = turn.latencyMs !== null && turn.speechMs > 0;
        const text =
          spoke && pt && pt.reply !== "none"
            ? (transcripts.get(`${carrier.voice.id}|${pt.text}`) ?? null)
            : "";
        if (text === null)
          throw new Error(`${row.id}: no cached transcript for turn ${i} (rerun the corpus)`);
        // the row's word count came from the same transcript: a mismatch means a stale cache
        if (turn.words !== null && turn.words !== words(text).length)
          throw new Error(`${row.id}: transcript of turn ${i} does not match the row (rerun the corpus)`);
        delete turn.repeated;
        const shingles = answerShingles(text);
        if (!shingles) continue;
        const repeated = stored.some((a) => a.subject !== row.voice && sameAnswer(shingles, a.shingles));
        turn.repeated = repeated;
        mine.push(shingles);
        summary.compared += 1;
        if (repeated) summary.repeated += 1;
        flagged ||= repeated;
      }
      // stored with the session's report, after all its own replies were checked (completion.ts)
      for (const shingles of mine) stored.push({ subject: row.voice, shingles });
      if (flagged) summary.sessionsWithRepeat[row.kind] = (summary.sessionsWithRepeat[row.kind] ?? 0) + 1;
      const built = buildVector(SCENARIO_VECTORS.conversation, row.slices.conversation as never);
      row.vectors.conversation = Array.from(built.values, (v) => Number(v.toPrecision(7)));
    }
    summaries.push(summary);
  }
  return summaries;
}

/** Rewrites sessions.jsonl in place with the repetition flags and the new conversation vectors. */
export function applyRepetition(file = SESSIONS_FILE, dir = SCENARIO_DIR): RepetitionSummary[] {
  const rows = readFileSync(file, "utf8")
    .split("\n")
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as ScenarioRow);
  const summaries = markRepetition(rows, readTranscripts(dir));
  writeFileSync(file, `${rows.map((r) => JSON.stringify(r)).join("\n")}\n`);
  return summaries;
}

if (import.meta.main) {
  for (const s of applyRepetition()) console.log(JSON.stringify(s));
}
