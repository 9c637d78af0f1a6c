/**
 * The conversation node end to end through the fixed tokenizer: the session sends its reply
 * windows with `transcribe`, the double answers with the transcript the test scripted, and the
 * DO decides the node's conditions (durable-objects/session/conversation.ts), writes the
 * transcript into the report and the turns into the conversation analyzer's slice.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ScriptedClient } from "../../scripts/lib/scripted-client.ts";
import type { FixedTokenizer } from "../support/fixed-tokenizer.ts";
import { createSession, type Harness, startHarness } from "../support/harness.ts";

const FRAME = new Uint8Array([0x4c, 0xff, 0xd8, 1, 2, 3]); // profile "L"
const SECOND = 16_000;
/** 1 s silence, 2 s "speech", 3 s silence, repeated: one reply every 6 s of capture. */
const REPLIES = Int16Array.from({ length: 6 * SECOND }, (_, i) =>
  i >= SECOND && i < 3 * SECOND ? Math.round(8000 * Math.sin((2 * Math.PI * 150 * i) / SECOND)) || 1 : 0,
);
const SILENCE = new Int16Array(SECOND);

const FLOW = [
  { id: "start", type: "start", next: "perm" },
  { id: "perm", type: "permissions", outcomes: { granted: "ask", denied: "done" } },
  {
    id: "ask",
    type: "conversation",
    prompt: "Did you authorise the payment of {{metadata.amount}} euros to {{metadata.payee}}?",
    outcomes: [
      { when: "refuse", next: "refused" },
      { when: "affirm", next: "amount" },
      { when: "deny", next: "done" },
      { when: "no_reply", next: "silent" },
      { when: "", next: "done" },
    ],
  },
  {
    id: "amount",
    type: "conversation",
    prompt: "How much was it?",
    followUp: { prompt: "Please say the exact amount of the payment.", when: "inconsistent" },
    outcomes: [
      { when: "number_equals:amount", next: "done" },
      { when: "number_near:amount", next: "done" },
      { when: "", next: "done" },
    ],
  },
  { id: "refused", type: "end" },
  { id: "silent", type: "end" },
  { id: "done", type: "end" },
];

interface ReportBody {
  session: {
    status: string;
    report: {
      nodes: { id: string; outcome: string }[];
      transcript: { nodeId: string; speaker: string; text: string; atMs: number }[];
      risk: { analyzers: { conversation: { signals: Record<string, { value: number }> } } };
      degraded: { component: string; code: string }[];
    };
  };
}

let h: Harness;
let fixed: FixedTokenizer;
beforeAll(async () => {
  h = await startHarness();
  fixed = h.tokenizer as FixedTokenizer;
});
afterAll(async () => {
  await h?.dispose();
});

/** `answers` null: the double answers `transcript: null` (a tokenizer whose recognizer is down). */
async function run(answers: string[] | null, audio: Int16Array): Promise<ReportBody["session"]["report"]> {
  const { session, clientSecret } = await createSession(h, {
    flow: FLOW,
    metadata: { amount: 2400, payee: "ACME" },
  });
  fixed.answers.set(session.id, answers ?? []);
  if (!answers) fixed.noRecognizer.add(session.id);
  const client = await ScriptedClient.connect(h.platform.url, clientSecret.secret);
  const closed = await client.stream({ frames: [FRAME], audio }, 40);
  expect(closed.code).toBe(1000);
  const prompt = client.messages.find((m) => m.type === "node" && m.nodeId === "ask");
  expect(prompt).toMatchObject({ prompt: "Did you authorise the payment of 2400 euros to ACME?" });
  await h.receiver.waitFor(
    (w) => w.json.type === "session.completed" && w.json.data.session.id === session.id,
  );
  const body = (await (await h.api(`/v1/sessions/${session.id}`)).json()) as ReportBody;
  expect(body.session.status).toBe("complete");
  expect(fixed.transcribed.get(session.id) ?? 0).toBeGreaterThan(0);
  return body.session.report;
}

describe("conversation node", () => {
  it("affirm takes its branch, the amount is compared with metadata, the transcript is in the report", async () => {
    const report = await run(["yes I did", "two thousand four hundred euros"], REPLIES);
    expect(report.nodes.map((n) => [n.id, n.outcome])).toEqual([
      ["start", "next"],
      ["perm", "granted"],
      ["ask", "affirm"],
      ["amount", "number_equals:amount"],
    ]);
    expect(report.transcript.map(({ nodeId, speaker, text }) => ({ nodeId, speaker, text }))).toEqual([
      { nodeId: "ask", speaker: "prompt", text: "Did you authorise the payment of 2400 euros to ACME?" },
      { nodeId: "ask", speaker: "user", text: "yes I did" },
      { nodeId: "amount", speaker: "prompt", text: "How much was it?" },
      { nodeId: "amount", speaker: "user", text: "two thousand four hundred euros" },
    ]);
    const atMs = report.transcript.map((s) => s.atMs);
    expect([...atMs].sort((a, b) => a - b)).toEqual(atMs);
    // The conversation analyzer scored real turns: two answered, none evasive, words counted.
    const signals = report.risk.analyzers.conversation.signals;
    expect(signals.CONVERSATION_EVASIVE?.value).toBe(0);
    expect(signals.CONVERSATION_NO_REPLY?.value).toBe(0);
    expect(signals.CONVERSATION_FAST_CADENCE?.value).toBeGreaterThan(100);
  });

  it("the whole-reply transcription wins over words cut by window boundaries", async () => {
    const report = await run(["yes", "two fellas four hundred | two thousand four hundred"], REPLIES);
    expect(report.nodes.at(-1)).toMatchObject({ id: "amount", outcome: "number_equals:amount" });
    expect(report.transcript.at(-1)).toMatchObject({ speaker: "user", text: "two thousand four hundred" });
  });

  it("a near amount takes number_near", async () => {
    const report = await run(["yeah", "about 2,450"], REPLIES);
    expect(report.nodes.slice(2).map((n) => n.outcome)).toEqual(["affirm", "number_near:amount"]);
  });

  it("an inconsistent amount gets the follow-up question once, and its answer decides", async () => {
    const report = await run(["yes", "three thousand", "two thousand four hundred"], REPLIES);
    expect(report.nodes.slice(2).map((n) => [n.id, n.outcome])).toEqual([
      ["ask", "affirm"],
      ["amount", "number_equals:amount"],
    ]);
    expect(report.transcript.slice(2).map(({ speaker, text }) => [speaker, text])).toEqual([
      ["prompt", "How much was it?"],
      ["user", "three thousand"],
      ["prompt", "Please say the exact amount of the payment."],
      ["user", "two thousand four hundred"],
    ]);
  });

  it("a second inconsistent answer takes the fallback", async () => {
    const report = await run(["yes", "three thousand", "five thousand"], REPLIES);
    expect(report.nodes.at(-1)).toMatchObject({ id: "amount", outcome: "fallback" });
  });

  it("a refusal takes the refuse branch and counts as evasive", async () => {
    const report = await run(["none of your business"], REPLIES);
    expect(report.nodes.at(-1)).toMatchObject({ id: "ask", outcome: "refuse" });
    expect(report.transcript.at(-1)).toMatchObject({ speaker: "user", text: "none of your business" });
    expect(report.risk.analyzers.conversation.signals.CONVERSATION_EVASIVE?.value).toBe(1);
  });

  it("without a recognizer a spoken reply takes the fallback and the report says ASR_UNAVAILABLE", async () => {
    const report = await run(null, REPLIES);
    expect(report.nodes.at(-1)).toMatchObject({ id: "ask", outcome: "fallback" });
    expect(report.transcript.map((s) => s.speaker)).toEqual(["prompt"]);
    expect(report.degraded).toContainEqual(expect.objectContaining({ code: "ASR_UNAVAILABLE" }));
  });

  it("a long reply that cannot be compared across sessions is not flagged, and the report says so", async () => {
    // The double has no answer-digest route, like a tokenizer that cannot reach its HSM.
    const report = await run(
      ["yes I did and I am sending the money to my cousin for his new business in the city"],
      REPLIES,
    );
    expect(report.nodes.at(-1)?.id).toBe("amount");
    expect(report.transcript.find((s) => s.speaker === "user")).not.toHaveProperty("flags");
    expect(report.degraded).toContainEqual(expect.objectContaining({ code: "ANSWER_REPETITION_UNCHECKED" }));
    expect(report.degraded).not.toContainEqual(expect.objectContaining({ code: "ASR_UNAVAILABLE" }));
  });

  it("silence ends in no_reply with only the prompt in the transcript", async () => {
    const report = await run([], SILENCE);
    expect(report.nodes.at(-1)).toMatchObject({ id: "ask", outcome: "no_reply" });
    expect(report.transcript.map((s) => s.speaker)).toEqual(["prompt"]);
    expect(report.risk.analyzers.conversation.signals.CONVERSATION_NO_REPLY?.value).toBe(1);
  });
});
