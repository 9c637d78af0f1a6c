/**
 * The conversation node's offline condition language, evaluated (product-spec §2: "Conversation
 * conditions must work offline"): pure functions over the reply's transcript, kept apart from
 * the Durable Object so they read and are tested as plain code (test/lib/conversation.test.ts).
 * The syntax is parsed by `parseCondition` (lib/flow.ts); this module decides it.
 *
 * Intents come from small, documented English lexicons (below), matched as whole-word phrases
 * after NFKC lower-casing and expanding "n't" to " not" ("don't" → "do not"). Precedence:
 * a refusal wins; a hedge ("I don't know", "not sure") is no intent (→ `unclear`); otherwise the
 * earliest affirm or deny phrase decides. An affirm phrase preceded or followed by "not" ("not
 * correct", "I do not") is not an affirmation.
 *
 * Numbers are read in digits ("2,400", "2400.50") and English words ("five hundred", "two
 * thousand four hundred", "twenty four hundred", "twelve point five"); `number_near` accepts
 * a number within NUMBER_NEAR_TOLERANCE (5 %) of the field.
 */
import type { ConversationOutcome } from "../../lib/flow.ts";
import { parseCondition } from "../../lib/flow.ts";
import { readField } from "./node-logic.ts";

export type Intent = "affirm" | "deny" | "refuse";
export type SessionData = { metadata: Record<string, unknown>; providedData: Record<string, unknown> };

/** `number_near`: relative tolerance against the field's value. */
export const NUMBER_NEAR_TOLERANCE = 0.05;

/** Declining to answer. Checked first: "no comment" is a refusal, not a "no". */
export const REFUSE_PHRASES: readonly string[] = [
  "i refuse",
  "refuse to",
  "i will not",
  "i would rather not",
  "rather not say",
  "prefer not to",
  "not telling",
  "not going to tell",
  "not going to answer",
  "none of your business",
  "no comment",
  "i decline",
  "do not want to say",
  "do not want to answer",
  "not answering",
  "mind your own business",
];

/** Speech that commits to nothing: masks the affirm / deny lexicons (→ `unclear`). */
export const HEDGE_PHRASES: readonly string[] = [
  "i do not know",
  "do not know",
  "not sure",
  "do not remember",
  "can not remember",
  "cannot remember",
  "i have no idea",
  "no idea",
  "maybe",
  "perhaps",
];

export const DENY_PHRASES: readonly string[] = [
  "no",
  "nope",
  "nah",
  "never",
  "negative",
  "incorrect",
  "wrong",
  "not correct",
  "not right",
  "not true",
  "not me",
  "i did not",
  "i do not",
  "i have not",
  "i am not",
  "that is not",
  "it is not",
  "it was not",
];

export const AFFIRM_PHRASES: readonly string[] = [
  "yes",
  "yeah",
  "yep",
  "yup",
  "correct",
  "right",
  "sure",
  "certainly",
  "absolutely",
  "affirmative",
  "indeed",
  "of course",
  "okay",
  "ok",
  "true",
  "i do",
  "i did",
  "i have",
  "i am",
  "i agree",
  "i confirm",
  "i authorise",
  "i authorize",
  "i authorised",
  "i authorized",
  "that is right",
  "that is correct",
  "it was me",
];

/** NFKC, lower case, "n't" → " not", "that's" → "that is"; letters, digits and apostrophes only. */
export function words(text: string): string[] {
  return text
    .normalize("NFKC")
    .toLowerCase()
    .replace(/[’‘]/g, "'")
    .replace(/\bwon't\b/g, "will not")
    .replace(/\bcan't\b/g, "can not")
    .replace(/\bshan't\b/g, "shall not")
    .replace(/n't\b/g, " not")
    .replace(/\b(that|it|what)'s\b/g, "$1 is")
    .replace(/\bi'm\b/g, "i am")
    .replace(/\bi've\b/g, "i have")
    .replace(/[^\p{L}\p{N}']+/gu, " ")
    .split(" ")
    .map((w) => w.replace(/^'+|'+$/g, ""))
    .filter((w) => w !== "");
}

/** Start indices where `phrase` (already in `words` form) occurs as whole words. */
function occurrences(tokens: readonly string[], phrase: readonly string[]): number[] {
  const at: number[] = [];
  if (phrase.length === 0) return at;
  for (let i = 0; i + phrase.length <= tokens.length; i++) {
    if (phrase.every((p, k) => tokens[i + k] === p)) at.push(i);
  }
  return at;
}

const tokenized = (phrases: readonly string[]) => phrases.map((p) => words(p));
const REFUSE = tokenized(REFUSE_PHRASES);
const HEDGE = tokenized(HEDGE_PHRASES);
const DENY = tokenized(DENY_PHRASES);
const AFFIRM = tokenized(AFFIRM_PHRASES);

/** The reply's intent, or null for speech that matches none (or hedges). */
export function classifyIntent(text: string): Intent | null {
  const tokens = words(text);
  if (tokens.length === 0) return null;
  if (REFUSE.some((p) => occurrences(tokens, p).length > 0)) return "refuse";
  if (HEDGE.some((p) => occurrences(tokens, p).length > 0)) return null;
  let first: { at: number; intent: Intent } | null = null;
  const consider = (at: number, intent: Intent) => {
    if (first === null || at < first.at) first = { at, intent };
  };
  for (const p of DENY) for (const at of occurrences(tokens, p)) consider(at, "deny");
  for (const p of AFFIRM) {
    for (const at of occurrences(tokens, p)) {
      const negated = tokens[at - 1] === "not" || tokens[at + p.length] === "not";
      if (!negated) consider(at, "affirm");
    }
  }
  return (first as { at: number; intent: Intent } | null)?.intent ?? null;
}

/** Whether `text` contains any of the terms as whole words (terms: NFKC lower case). */
export function mentions(text: string, terms: readonly string[]): boolean {
  const tokens = words(text);
  return terms.some((t) => occurrences(tokens, words(t)).length > 0);
}

export const UNITS: Readonly<Record<string, number>> = {
  zero: 0,
  one: 1,
  two: 2,
  three: 3,
  four: 4,
  five: 5,
  six: 6,
  seven: 7,
  eight: 8,
  nine: 9,
  ten: 10,
  eleven: 11,
  twelve: 12,
  thirteen: 13,
  fourteen: 14,
  fifteen: 15,
  sixteen: 16,
  seventeen: 17,
  eighteen: 18,
  nineteen: 19,
};
export const TENS: Readonly<Record<string, number>> = {
  twenty: 20,
  thirty: 30,
  forty: 40,
  fourty: 40,
  fifty: 50,
  sixty: 60,
  seventy: 70,
  eighty: 80,
  ninety: 90,
};
export const SCALES: Readonly<Record<string, number>> = { thousand: 1_000, million: 1_000_000, billion: 1e9 };

/**
 * Every number spoken or written in `text`, in order: digit groups ("2,400", "1.5") and runs of
 * English number words ("two thousand four hundred and fifty", "a hundred", "twelve point five").
 */
export function parseNumbers(text: string): number[] {
  const out: number[] = [];
  const normalized = text.normalize("NFKC").toLowerCase();
  // Digits first (thousands separators "," only when grouped by three), then blank them out.
  const withoutDigits = normalized.replace(/\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?/g, (m) => {
    const n = Number(m.replace(/,/g, ""));
    if (Number.isFinite(n)) out.push(n);
    return " | ";
  });
  const tokens = withoutDigits
    .replace(/-/g, " ")
    .split(/[^a-z|]+/)
    .filter((w) => w !== "");
  let total = 0;
  let current = 0;
  let inNumber = false;
  let decimals: string | null = null;
  const flush = () => {
    if (inNumber) {
      const value = total + current;
      out.push(decimals ? Number(`${value}.${decimals}`) : value);
    }
    total = 0;
    current = 0;
    inNumber = false;
    decimals = null;
  };
  for (let i = 0; i < tokens.length; i++) {
    const w = tokens[i] ?? "";
    const next = tokens[i + 1] ?? "";
    if (decimals !== null) {
      const d = UNITS[w];
      if (d !== undefined && d < 10) {
        decimals += String(d);
        continue;
      }
      flush();
    }
    if (w in UNITS) {
      // "twenty five" and "hundred five" are one number; "five six" and "twenty twelve" two.
      const u = UNITS[w] ?? 0;
      const sub = current % 100;
      if (inNumber && sub !== 0 && (sub % 10 !== 0 || u >= 10)) flush();
      current += u;
      inNumber = true;
    } else if (w in TENS) {
      if (inNumber && current % 100 !== 0) flush();
      current += TENS[w] ?? 0;
      inNumber = true;
    } else if (w === "hundred") {
      if (current >= 100) {
        // "three hundred and five hundred": the second "hundred" starts a new number.
        const sub = current % 100;
        current -= sub;
        flush();
        current = (sub || 1) * 100;
      } else {
        current = (inNumber ? current || 1 : 1) * 100;
      }
      inNumber = true;
    } else if (w in SCALES) {
      total += (inNumber ? current || 1 : 1) * (SCALES[w] ?? 1);
      current = 0;
      inNumber = true;
    } else if (w === "a" && (next === "hundred" || next in SCALES)) {
      // "a hundred", "a thousand"
      if (inNumber) flush();
    } else if (w === "and" && inNumber && (next in UNITS || next in TENS)) {
      // "two hundred and fifty"
    } else if (w === "point" && inNumber && (UNITS[next] ?? 10) < 10) {
      decimals = "";
    } else {
      flush();
    }
  }
  flush();
  return out;
}

function asNumber(v: unknown): number | null {
  if (typeof v === "number" && Number.isFinite(v)) return v;
  if (typeof v === "string") {
    const s = v.trim().replace(/,/g, "");
    if (s !== "" && Number.isFinite(Number(s))) return Number(s);
  }
  return null;
}

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
