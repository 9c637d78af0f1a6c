/**
 * The conversation node through the real tokenization service and its real recognizer
 * (PocketSphinx): flite speaks consistent answers, the session transcribes its one-second
 * reply windows, and the answers take the expected branches; the report's transcript is
 * compared with what was said (WER printed). Skipped, with a message, without the engine or flite.
 */
import { existsSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { synthesize } from "../../scripts/lib/asr-speech.ts";
import { corpusWer, wer } from "../../scripts/lib/asr-wer.ts";
import { ScriptedClient } from "../../scripts/lib/scripted-client.ts";
import { pocketSphinxInstalled } from "../../services/tokenizer/asr/pocketsphinx.ts";
import { converse } from "../support/converse.ts";
import { createSession, type Harness, startHarness } from "../support/harness.ts";

const installed = pocketSphinxInstalled() && existsSync("/usr/bin/flite");
if (!installed) {
  console.warn(
    "conversation-asr.test.ts skipped: apt-get install python3-pocketsphinx pocketsphinx-en-us flite",
  );
}

const FLOW = [
  { id: "start", type: "start", next: "perm" },
  { id: "perm", type: "permissions", camera: false, outcomes: { granted: "ask", denied: "done" } },
  {
    id: "ask",
    type: "conversation",
    prompt: "Did you authorise the payment of {{metadata.amount}} euros?",
    outcomes: [
      { when: "refuse", next: "done" },
      { when: "affirm", next: "amount" },
      { when: "", next: "done" },
    ],
  },
  {
    id: "amount",
    type: "conversation",
    prompt: "How much was it?",
    outcomes: [
      { when: "number_equals:amount", next: "done" },
      { when: "", next: "done" },
    ],
  },
  { id: "done", type: "end" },
];

describe.skipIf(!installed)("conversation with the real recognizer", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ tokenizer: "real" });
  });
  afterAll(async () => {
    await h?.dispose();
  });

  // Two voices and two reaction times: the session transcribes one-second windows, so an answer
  // is split across two or three of them (and then once more as a whole reply).
  it.each([
    ["slt", 1],
    ["rms", 1.5],
  ])(
    "a consistent spoken answer (flite %s, %s s lead) takes the expected branch and is transcribed",
    {
      timeout: 120_000,
    },
    async (voice, leadS) => {
      const answers = ["yes I did", "two thousand four hundred"];
      const { session, clientSecret } = await createSession(h, { flow: FLOW, metadata: { amount: 2400 } });
      // Synthesise first: a connected session idles out (IDLE_TIMEOUT_SECONDS) while flite runs.
      const spoken = {
        ask: await synthesize(answers[0] ?? "", "flite", String(voice)),
        amount: await synthesize(answers[1] ?? "", "flite", String(voice)),
      };
      const client = await ScriptedClient.connect(h.platform.url, clientSecret.secret);
      const closed = { code: await converse(client, spoken, Number(leadS)) };
      expect(closed.code).toBe(1000);
      const body = (await (await h.api(`/v1/sessions/${session.id}`)).json()) as {
        session: {
          report: {
            nodes: { id: string; outcome: string }[];
            transcript: { nodeId: string; speaker: string; text: string }[];
          };
        };
      };
      const { nodes, transcript } = body.session.report;
      const heard = (nodeId: string) =>
        transcript.find((s) => s.nodeId === nodeId && s.speaker === "user")?.text ?? "";
      const results = [wer(answers[0] ?? "", heard("ask")), wer(answers[1] ?? "", heard("amount"))];
      console.info(
        `session transcript (flite ${voice}, lead ${leadS} s, per window + whole reply): "${heard("ask")}" / "${heard("amount")}", WER ${corpusWer(results).toFixed(3)}`,
      );
      expect(nodes.map((n) => [n.id, n.outcome])).toEqual([
        ["start", "next"],
        ["perm", "granted"],
        ["ask", "affirm"],
        ["amount", "number_equals:amount"],
      ]);
      expect(corpusWer(results)).toBeLessThanOrEqual(0.34);
    },
  );
});
