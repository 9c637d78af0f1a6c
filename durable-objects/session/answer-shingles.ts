/**
 * What "the same answer" means for cross-session repetition (issue 7, product-spec §2 conversation
 * analyzer "scripted answers"): a reply transcript is normalised (NFKC lower case as the condition
 * language reads it, number words folded to digits, fillers and articles dropped) and cut into
 * word 3-gram shingles. Two replies are compared by containment — the share of the smaller
 * shingle set found in the other — so a recited script matches even when the recognizer drops,
 * adds or mishears a word or two (each error costs at most three shingles). Pure functions: the
 * shingles are turned into keyed digests by the tokenizer's HSM (answer-repetition.ts) and never
 * stored as text. Method and threshold: docs/conversation.md "Repetition across sessions".
 */
import { words } from "./conversation-intent.ts";
import { parseNumbers, SCALES, TENS, UNITS } from "./conversation-numbers.ts";

/** Words per shingle: long enough that unrelated answers rarely share one, short enough to survive ASR errors. */
export const SHINGLE_WORDS = 3;
/**
 * Replies with fewer shingles are never compared: "yes I did" or "two thousand four hundred"
 * is what every honest person says too. Six 3-gram shingles = at least eight words.
 */
export const MIN_SHINGLES = 6;
/** Upper bound on shingles per reply (a 20 s reply is ~60 words); more are ignored. */
export const MAX_SHINGLES = 128;
/** Containment at or above which two replies count as the same answer (with MIN_SHARED_SHINGLES). */
export const REPEAT_THRESHOLD = 0.5;
/** Shingles two replies must share, besides the containment, to count as the same answer. */
export const MIN_SHARED_SHINGLES = 6;

/**
 * Disfluencies and discourse fillers (and the articles, which PocketSphinx drops and inserts
 * freely): they say nothing about which script was read, and a reader's "um" must not break a match.
 */
export const FILLER_WORDS: ReadonlySet<string> = new Set([
  "um",
  "umm",
  "uh",
  "uhh",
  "uhm",
  "er",
  "erm",
  "ah",
  "eh",
  "hm",
  "hmm",
  "mm",
  "mhm",
  "oh",
  "well",
  "like",
  "so",
  "basically",
  "actually",
  "just",
  "a",
  "an",
  "the",
]);

const NUMBER_WORDS: ReadonlySet<string> = new Set([
  ...Object.keys(UNITS),
  ...Object.keys(TENS),
  ...Object.keys(SCALES),
  "hundred",
]);
const isNumberWord = (w: string | undefined) => w !== undefined && NUMBER_WORDS.has(w);

/**
 * The reply as a list of normalised words: `words` (conversation.ts), thousands separators
 * removed first ("2,400" → "2400"), every run of number words replaced by its value in digits
 * ("two thousand four hundred" and "twenty four hundred" → "2400", "a hundred and five" → "105"),
 * fillers and articles dropped.
 */
export function normalizeAnswer(text: string): string[] {
  const tokens = words(text.normalize("NFKC").replace(/(\d),(?=\d{3}(?!\d))/g, "$1"));
  const out: string[] = [];
  for (let i = 0; i < tokens.length; ) {
    const w = tokens[i] ?? "";
    const startsNumber =
      isNumberWord(w) || (w === "a" && (tokens[i + 1] === "hundred" || (tokens[i + 1] ?? "") in SCALES));
    if (/^\d+$/.test(w)) {
      out.push(String(Number(w))); // "0042" and "42" are one number
      i += 1;
      continue;
    }
    if (!startsNumber) {
      if (!FILLER_WORDS.has(w)) out.push(w);
      i += 1;
      continue;
    }
    // The run: number words, plus "and" / "point" between two of them ("two hundred and five").
    let j = i + 1;
    while (
      j < tokens.length &&
      (isNumberWord(tokens[j]) ||
        ((tokens[j] === "and" || tokens[j] === "point") && isNumberWord(tokens[j + 1])))
    )
      j += 1;
    for (const n of parseNumbers(tokens.slice(i, j).join(" "))) out.push(String(n));
    i = j;
  }
  return out;
}

/** The reply's distinct word 3-gram shingles, in order of first occurrence, at most MAX_SHINGLES. */
export function shingles(normalized: readonly string[]): string[] {
  const seen = new Set<string>();
  for (let i = 0; i + SHINGLE_WORDS <= normalized.length && seen.size < MAX_SHINGLES; i++) {
    seen.add(normalized.slice(i, i + SHINGLE_WORDS).join(" "));
  }
  return [...seen];
}

/** Shingles of a reply long enough to compare, or null (see MIN_SHINGLES). */
export function answerShingles(text: string): string[] | null {
  const s = shingles(normalizeAnswer(text));
  return s.length >= MIN_SHINGLES ? s : null;
}

/**
 * Shingles two replies share, and the containment of the smaller set in the larger,
 * |A ∩ B| / min(|A|, |B|), in 0..1 (0 when either is empty). Works on shingle strings and on
 * their keyed digests alike: equal shingles of one tenant have equal digests.
 */
export function overlap(a: readonly string[], b: readonly string[]): { shared: number; containment: number } {
  const setA = new Set(a);
  const setB = new Set(b);
  if (setA.size === 0 || setB.size === 0) return { shared: 0, containment: 0 };
  const [small, large] = setA.size <= setB.size ? [setA, setB] : [setB, setA];
  let shared = 0;
  for (const x of small) if (large.has(x)) shared += 1;
  return { shared, containment: shared / small.size };
}

/**
 * Whether two replies are the same answer: containment ≥ REPEAT_THRESHOLD and at least
 * MIN_SHARED_SHINGLES shared. The count keeps two short answers that merely open alike ("I am
 * sending the money to my brother / sister today": 4 of 6 shared) from counting as one script.
 */
export function sameAnswer(a: readonly string[], b: readonly string[]): boolean {
  const o = overlap(a, b);
  return o.shared >= MIN_SHARED_SHINGLES && o.containment >= REPEAT_THRESHOLD;
}
