/**
 * The hand-set first-version conversation model (domain-reasoned weights on standardised features,
 * never fitted to data), kept only as the baseline the trained model is compared with in
 * card.md (models/conversation/train.ts). The Worker ships the trained model.
 */
import { CONVERSATION_VECTOR } from "../../workers/analyzer-conversation/vector.ts";
import { defineModel } from "../build-lib.ts";

// mean defaults to each feature's neutral value; weight is logit per standard deviation.
export const CONVERSATION_HANDSET = defineModel(CONVERSATION_VECTOR, "conversation-handset-1.1.0", -2.2, {
  evasive_ratio: { std: 0.2, weight: 1.0 },
  no_reply_ratio: { std: 0.2, weight: 0.6 },
  latency_median_s: { std: 1.0, weight: 0.5 },
  latency_cv: { std: 0.25, weight: -0.4 },
  pauses_per_10s: { std: 1.2, weight: -0.6 },
  speech_s_mean: { std: 3, weight: 0.4 },
  words_per_min: { std: 30, weight: 0.3 },
  // Added with the feature (1.1.0): a reply matching another subject's answer is strong evidence
  // of a script; half the compared replies repeated puts 3 logits on the score (2 std × 1.5).
  repeated_answer_ratio: { std: 0.25, weight: 1.5 },
});
