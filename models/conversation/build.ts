/**
 * Conversation model parameters. Evidence: evasive or missing replies, long latencies on a fixed
 * clock, read-aloud cadence (few pauses, long fluent speech, fast rate), answers repeated across
 * subjects of one tenant.
 * First version: hand-set, domain-reasoned weights on standardised features (see card.md); the
 * evaluation issue replaces them with a trained model. Feature order comes from
 * workers/analyzer-conversation/vector.ts. Run `node models/conversation/build.ts` to rewrite model.onnx.
 */

import { CONVERSATION_VECTOR } from "../../workers/analyzer-conversation/vector.ts";
import { defineModel, writeModel } from "../build-lib.ts";

// mean defaults to each feature's neutral value; weight is logit per standard deviation.
export const CONVERSATION_MODEL = defineModel(CONVERSATION_VECTOR, "conversation-handset-1.1.0", -2.2, {
  evasive_ratio: { std: 0.2, weight: 1.0 },
  no_reply_ratio: { std: 0.2, weight: 0.6 },
  latency_median_s: { std: 1.0, weight: 0.5 },
  latency_cv: { std: 0.25, weight: -0.4 },
  pauses_per_10s: { std: 1.2, weight: -0.6 },
  speech_s_mean: { std: 3, weight: 0.4 },
  words_per_min: { std: 30, weight: 0.3 },
  // A reply matching another subject's answer is strong evidence of a script: half the compared
  // replies repeated puts 3 logits on the score (std 0.25 → 2 std × 1.5).
  repeated_answer_ratio: { std: 0.25, weight: 1.5 },
});

if (import.meta.main) writeModel(CONVERSATION_MODEL, import.meta.dirname);
