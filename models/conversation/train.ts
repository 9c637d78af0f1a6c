/**
 * Trains the conversation model on the scenario corpus (`npm run corpus` first) and ships it:
 * `node models/conversation/train.ts` writes trained.json, model.onnx and card.md here. Fitting,
 * family comparison and calibration are shared with the other scenario analyzers
 * (models/train-lib.ts, models/train-run.ts); this file names the analyzer, its vector, its
 * hand-set baseline and what its card must say.
 */
import { CONVERSATION_VECTOR } from "../../workers/analyzer-conversation/vector.ts";
import { readScenarioRows, ship, trainAnalyzer } from "../train-run.ts";
import { CONVERSATION_HANDSET } from "./handset.ts";

export const VERSION = "conversation-trained-1.0.0";

export const CARD = {
  title: "conversation analyzer",
  worker: "workers/analyzer-conversation",
  folder: "models/conversation",
  scenarios:
    'Positives: *scripted* sessions (long prepared answers read at 1.15-1.3\u00d7 tempo without pauses, each reply starting 350-500 ms \u00b1 30 ms after the prompt) and *evasive* sessions (refusals such as "I would rather not say" or no reply at all in most turns). Turns are reduced from tokenized one-second windows exactly as the session DO does; words come from the service\'s PocketSphinx recognizer and evasiveness from conversation.ts `isEvasive`. Negatives: genuine sessions (short answers, 0.6-2.6 s latency, a 400-900 ms pause inside most answers) and every other kind.',
  failureModes: [
    "Transcripts were computed once per (voice, answer) on the clean synthesised answer, not on each session's mixed audio; background voices would lower recognition in the field.",
    "Call-centre babble is heard as speech by the voice-activity detector, shortening measured latencies and lengthening speech; the model can confuse it with read-aloud cadence.",
    "Answers inconsistent with session metadata are not represented by any feature of this vector (the condition language's `inconsistent` follow-up handles them).",
    "Fluent, fast, well-prepared honest speakers and people who stay silent for accessibility reasons are misread (fairness review pending).",
  ],
};

if (import.meta.main) {
  const vector = CONVERSATION_VECTOR as never;
  const trained = trainAnalyzer("conversation", vector, CONVERSATION_HANDSET, VERSION, readScenarioRows());
  ship(import.meta.dirname, vector, trained, CARD);
  console.log(JSON.stringify(trained.report.families));
}
