/**
 * scripts/corpus/scenarios/repetition.ts on a hand-made plan and transcripts: the corpus marks a
 * reply `repeated` exactly as the session DO would (answer-repetition.ts) — only against earlier
 * sessions of the same split, never against the same subject (voice), never for replies under six
 * shingles or unspoken ones — and rewrites the conversation vector's last input to match.
 */
import { describe, expect, it } from "vitest";
import type { PlannedSession, PlannedTurn } from "../../scripts/corpus/scenarios/plan.ts";
import { markRepetition } from "../../scripts/corpus/scenarios/repetition.ts";
import type { ScenarioRow } from "../../scripts/corpus/scenarios/rows.ts";

const SCRIPT = "yes I am opening this account for myself and nobody else has asked me to open it";
const SHORT = "yes I am";

const turn = (text: string): PlannedTurn => ({
  question: 1,
  reply: "answer",
  text,
  latencyMs: 500,
  breakAt: 0,
  pauseMs: 0,
  tempo: 1,
  coach: null,
});

function session(id: string, split: PlannedSession["split"], voice: string, texts: string[]): PlannedSession {
  return {
    id,
    kind: "scripted",
    split,
    voice: { id: voice, engine: "flite", name: voice, pitch: 50 },
    helpers: [],
    clip: "cap12",
    seed: 1,
    turns: texts.map(turn),
    labels: {},
  };
}

function row(s: PlannedSession, spoke: boolean[], transcripts: Map<string, string>): ScenarioRow {
  const turns = s.turns.map((t, i) => ({
    latencyMs: spoke[i] ? 400 : null,
    speechMs: spoke[i] ? 3000 : 0,
    pauses: 0,
    words: spoke[i]
      ? (transcripts.get(`${s.voice.id}|${t.text}`) ?? "").split(" ").filter(Boolean).length
      : 0,
    evasive: false,
  }));
  return {
    id: s.id,
    kind: s.kind,
    split: s.split,
    voice: s.voice.id,
    helpers: [],
    clip: s.clip,
    labels: {},
    slices: { conversation: { turns } },
    vectors: { conversation: [] },
  } as unknown as ScenarioRow;
}

describe("scenario corpus: cross-session repetition", () => {
  const plan = [
    session("train-scripted-00", "train", "a", [SCRIPT, SHORT]),
    session("train-scripted-01", "train", "a", [SCRIPT]), // same subject as 00
    session("train-scripted-02", "train", "b", [SCRIPT, SCRIPT]),
    session("train-scripted-03", "train", "c", [SCRIPT]), // spoke nothing
    session("validation-scripted-00", "validation", "d", [SCRIPT]), // another tenant
  ];
  const transcripts = new Map<string, string>();
  for (const s of plan)
    for (const t of s.turns) transcripts.set(`${s.voice.id}|${t.text}`, t.text.toLowerCase());
  const spoke = [[true, true], [true], [true, true], [false], [true]];
  const rows = plan.map((s, i) => row(s, spoke[i] ?? [], transcripts));
  const summary = markRepetition(rows, transcripts, plan);
  const flags = rows.map((r) => r.slices.conversation.turns.map((t) => t.repeated));

  it("follows the DO's rules", () => {
    expect(flags[0]).toEqual([false, undefined]); // first in its tenant; the short reply is not compared
    expect(flags[1]).toEqual([false]); // only the same subject said it before
    expect(flags[2]).toEqual([true, true]); // another subject recited it in an earlier session
    expect(flags[3]).toEqual([undefined]); // nothing spoken, nothing compared
    expect(flags[4]).toEqual([false]); // another split is another tenant
    expect(summary.find((s) => s.split === "train")).toMatchObject({ compared: 4, repeated: 2 });
  });

  it("rewrites the conversation vector with the repeated share last", () => {
    for (const r of rows) expect(r.vectors.conversation).toHaveLength(8);
    expect(rows.map((r) => r.vectors.conversation[7])).toEqual([0, 0, 1, 0, 0]);
  });

  it("is idempotent", () => {
    markRepetition(rows, transcripts, plan);
    expect(rows.map((r) => r.slices.conversation.turns.map((t) => t.repeated))).toEqual(flags);
  });
});
