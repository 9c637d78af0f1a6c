/**
 * The conversation node's offline condition language, evaluated (product-spec §2: "Conversation
 * conditions must work offline"): pure functions over the reply's transcript, kept apart from
 * the Durable Object so they read and are tested as plain code (test/lib/conversation.test.ts).
 * The syntax is parsed by `parseCondition` (lib/flow.ts); this module decides it.
 *
 * Intents are read by conversation-intent.ts (documented lexicons), numbers by
 * conversation-numbers.ts (digits and English words); this module combines them into outcomes,
 * follow-ups and prompts. `number_near` accepts a number within NUMBER_NEAR_TOLERANCE (5 %) of
 * the field. The readers are re-exported so callers keep one import.
 */
import type { ConversationOutcome } from "../../lib/flow.ts";
import { parseCondition } from "../../lib/flow.ts";
import { classifyIntent, type Intent, mentions, words } from "./conversation-intent.ts";
import { asNumber, parseNumbers } from "./conversation-numbers.ts";
import { readField } from "./node-logic.ts";

export {
  AFFIRM_PHRASES,
  classifyIntent,
  DENY_PHRASES,
  HEDGE_PHRASES,
  type Intent,
  mentions,
  REFUSE_PHRASES,
  words,
} from "./conversation-intent.ts";
export { parseNumbers, SCALES, TENS, UNITS } from "./conversation-numbers.ts";

export type SessionData = { metadata: Record<string, unknown>; providedData: Record<string, unknown> };

/** `number_near`: relative tolerance against the field's value. */
export const NUMBER_NEAR_TOLERANCE = 0.05;

/** What the session heard for one conversation node. */
export interface ConversationReply {
  /** voice activity detected speech in the reply */
  spoke: boolean;
  /** the recognised words ("" when nothing was recognised or no recognizer ran) */
  text: string;
  /** whether a recognizer ran on the reply (false: content conditions cannot be decided) */
  recognized: boolean;
}

/** How a reply reads for the conversation analyzer and `unclear`. */
export function replyIntent(reply: ConversationReply): Intent | "no_reply" | "unclear" {
  if (!reply.spoke && words(reply.text).length === 0) return "no_reply";
  return classifyIntent(reply.text) ?? "unclear";
}

/**
 * Whether a reply counts as evasive for the conversation analyzer: no reply, a refusal, or
 * speech with no intent that also carried no content the node asked about (no number, no
 * matched `mentions:`). Without a recognizer only a missing reply is decidable.
 */
export function isEvasive(reply: ConversationReply, outcome: string): boolean {
  const intent = replyIntent(reply);
  if (intent === "no_reply") return true;
  if (!reply.recognized) return false;
  if (intent === "refuse") return true;
  return intent === "unclear" && parseNumbers(reply.text).length === 0 && !outcome.startsWith("mentions:");
}

/**
 * The first of the node's conditions the reply satisfies, as the outcome name `outcomesOf`
 * uses (`"fallback"` for ""), or null when none does and there is no fallback. Without a
 * recognizer, content conditions (intents, `unclear`, mentions, numbers) are skipped, never
 * guessed; `no_reply` stays decidable from voice activity.
 */
export function chooseOutcome(
  outcomes: readonly ConversationOutcome[],
  reply: ConversationReply,
  data: SessionData,
  noReplyNeeded = false,
): string | null {
  const intent = replyIntent(reply);
  const numbers = reply.recognized ? parseNumbers(reply.text) : [];
  for (const o of outcomes) {
    const parsed = parseCondition(o.when);
    if (!parsed.ok) continue;
    const c = parsed.condition;
    let hit: boolean;
    switch (c.kind) {
      case "fallback":
        hit = true;
        break;
      case "no_reply":
        hit = intent === "no_reply" && !noReplyNeeded;
        break;
      case "affirm":
      case "deny":
      case "refuse":
      case "unclear":
        hit = reply.recognized && intent === c.kind;
        break;
      case "mentions":
        hit = reply.recognized && mentions(reply.text, c.terms);
        break;
      case "number_equals":
      case "number_near": {
        const expected = asNumber(readField(c.field, data));
        hit =
          expected !== null &&
          numbers.some((n) =>
            c.kind === "number_equals"
              ? Math.abs(n - expected) < 1e-9
              : Math.abs(n - expected) <= NUMBER_NEAR_TOLERANCE * Math.abs(expected),
          );
        break;
      }
    }
    if (hit) return o.when === "" ? "fallback" : o.when;
  }
  return null;
}

/**
 * Whether the node's follow-up question is due: `evasive` as `isEvasive`; `repeated` when the
 * reply was flagged as repeated across sessions; `inconsistent` when
 * the person spoke, a recognizer ran, and the reply fell through to the fallback although the
 * node has other conditions (e.g. an amount that is not the expected one).
 */
export function followUpDue(
  followUp: { when: "evasive" | "inconsistent" | "repeated" } | undefined,
  outcomes: readonly ConversationOutcome[],
  reply: ConversationReply,
  outcome: string,
  /** the reply repeats another subject's answer of the tenant (answer-repetition.ts) */
  repeated = false,
): boolean {
  if (!followUp) return false;
  if (followUp.when === "evasive") return isEvasive(reply, outcome);
  if (followUp.when === "repeated") return repeated;
  return (
    reply.recognized &&
    replyIntent(reply) !== "no_reply" &&
    outcome === "fallback" &&
    outcomes.some((o) => o.when !== "")
  );
}

/**
 * Fills `{{metadata.x}}` / `{{providedData.x}}` placeholders from the session's data; strings,
 * numbers and booleans are inserted as text, anything else (missing, objects) as "". The
 * result is capped at `maxChars`.
 */
export function renderPrompt(template: string, data: SessionData, maxChars = 500): string {
  const text = template.replace(
    /\{\{\s*((?:metadata|providedData)(?:\.[A-Za-z0-9_-]{1,64}){1,8})\s*\}\}/g,
    (_, path: string) => {
      const v = readField(path, data);
      return typeof v === "string" || typeof v === "number" || typeof v === "boolean" ? String(v) : "";
    },
  );
  return text.length > maxChars ? text.slice(0, maxChars) : text;
}
