/**
 * Intents of a conversation reply (product-spec §2: conditions decided offline), for the
 * condition language in conversation.ts: small, documented English lexicons matched as
 * whole-word phrases after NFKC lower-casing and expanding "n't" to " not" ("don't" → "do not").
 * Precedence: a refusal wins; a hedge ("I don't know", "not sure") is no intent (→ `unclear`);
 * otherwise the earliest affirm or deny phrase decides. An affirm phrase preceded or followed by
 * "not" ("not correct", "I do not") is not an affirmation.
 */

export type Intent = "affirm" | "deny" | "refuse";

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
