/**
 * Conversation features: how the person answers the session's spoken prompts. Evasive replies
 * and long hesitations, and the cadence of reading a prepared script aloud (long, fluent runs
 * with few pauses, evenly timed starts), and replies that repeat another subject's answer of the
 * same tenant (a call centre's script; decided by the session DO from keyed digests). Timing,
 * counts and flags only, never the words themselves.
 * Ordered list = model input order (models/conversation/build.ts imports it).
 */
import type { AnalyzerInput } from "../../lib/analyzer-contract.ts";
import { type AnalyzerVector, cv, mean, median, ratio } from "../../lib/analyzer-runtime.ts";

export type ConversationSlice = AnalyzerInput<"conversation">;
type Turn = ConversationSlice["turns"][number];

const answered = (t: Turn): boolean => t.latencyMs !== null && t.speechMs > 0;

export const CONVERSATION_VECTOR: AnalyzerVector<ConversationSlice> = {
  analyzer: "conversation",
  features: [
    {
      name: "evasive_ratio",
      reasonCode: "CONVERSATION_EVASIVE",
      unit: "ratio 0..1",
      description: "share of turns judged evasive or a refusal",
      neutral: 0.05,
      extract: (s) => ratio(s.turns, (t) => t.evasive),
    },
    {
      name: "no_reply_ratio",
      reasonCode: "CONVERSATION_NO_REPLY",
      unit: "ratio 0..1",
      description: "share of prompts that got no spoken reply",
      neutral: 0.05,
      extract: (s) => ratio(s.turns, (t) => !answered(t)),
    },
    {
      name: "latency_median_s",
      reasonCode: "CONVERSATION_SLOW_REPLY",
      unit: "seconds",
      description: "median time from the end of the prompt to the first speech",
      neutral: 1.0,
      extract: (s) => {
        const m = median(s.turns.map((t) => t.latencyMs));
        return m === null ? null : m / 1000;
      },
    },
    {
      name: "latency_cv",
      reasonCode: "CONVERSATION_SCRIPTED_TIMING",
      unit: "coefficient of variation, capped at 5",
      description: "variability of reply latencies (played-back answers start on a fixed clock)",
      neutral: 0.5,
      extract: (s) => {
        const v = cv(
          s.turns.map((t) => t.latencyMs),
          3,
        );
        return v === null ? null : Math.min(5, v);
      },
    },
    {
      name: "pauses_per_10s",
      reasonCode: "CONVERSATION_READ_ALOUD",
      unit: "pauses per 10 s of speech",
      description: "pauses over 300 ms per 10 s of reply speech (reading aloud has few)",
      neutral: 2.5,
      extract: (s) => {
        const turns = s.turns.filter(answered);
        const speechS = turns.reduce((a, t) => a + t.speechMs, 0) / 1000;
        return speechS < 2 ? null : (10 * turns.reduce((a, t) => a + t.pauses, 0)) / speechS;
      },
    },
    {
      name: "speech_s_mean",
      reasonCode: "CONVERSATION_LONG_MONOLOGUE",
      unit: "seconds",
      description: "mean speech per answered turn (recited answers run long)",
      neutral: 4,
      extract: (s) => mean(s.turns.filter(answered).map((t) => t.speechMs / 1000)),
    },
    {
      name: "words_per_min",
      reasonCode: "CONVERSATION_FAST_CADENCE",
      unit: "words per minute of speech",
      description: "speaking rate when speech recognition ran (read text is fast and even)",
      neutral: 140,
      extract: (s) => {
        const turns = s.turns.filter((t) => answered(t) && t.words !== null);
        const minutes = turns.reduce((a, t) => a + t.speechMs, 0) / 60_000;
        return minutes < 2 / 60 ? null : turns.reduce((a, t) => a + (t.words ?? 0), 0) / minutes;
      },
    },
    {
      name: "repeated_answer_ratio",
      reasonCode: "CONVERSATION_ANSWER_REPEATED",
      unit: "ratio 0..1",
      description:
        "share of compared replies that match another subject's answer of the tenant (a recited script; keyed digests, docs/conversation.md)",
      neutral: 0,
      extract: (s) =>
        ratio(
          s.turns.filter((t) => t.repeated !== undefined),
          (t) => t.repeated === true,
        ),
    },
  ],
  evidence: (s) => ({ usable: s.turns.filter(answered).length, target: 4 }),
};
