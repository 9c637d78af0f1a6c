/**
 * Word error rate for the speech-recognizer tests: (substitutions + deletions + insertions) /
 * reference words, by Levenshtein distance over normalised words.
 */

/** British spellings the US-English dictionary writes differently (counted as the same word). */
const SPELLING: Readonly<Record<string, string>> = {
  authorise: "authorize",
  authorised: "authorized",
  authorising: "authorizing",
  cheque: "check",
  recognise: "recognize",
  cancelled: "canceled",
};

export function normalizeWords(text: string): string[] {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9' ]+/g, " ")
    .split(/\s+/)
    .filter((w) => w !== "")
    .map((w) => SPELLING[w] ?? w);
}

/** Edit distance between two word sequences. */
export function wordEditDistance(ref: readonly string[], hyp: readonly string[]): number {
  let prev = Array.from({ length: hyp.length + 1 }, (_, j) => j);
  for (let i = 1; i <= ref.length; i++) {
    const cur = [i];
    for (let j = 1; j <= hyp.length; j++) {
      const sub = (prev[j - 1] ?? 0) + (ref[i - 1] === hyp[j - 1] ? 0 : 1);
      cur.push(Math.min(sub, (prev[j] ?? 0) + 1, (cur[j - 1] ?? 0) + 1));
    }
    prev = cur;
  }
  return prev[hyp.length] ?? 0;
}

export interface WerResult {
  errors: number;
  words: number;
  wer: number;
}

export function wer(reference: string, hypothesis: string): WerResult {
  const ref = normalizeWords(reference);
  const errors = wordEditDistance(ref, normalizeWords(hypothesis));
  return { errors, words: ref.length, wer: ref.length === 0 ? (errors === 0 ? 0 : 1) : errors / ref.length };
}

/** Corpus WER: total errors over total reference words. */
export function corpusWer(results: readonly WerResult[]): number {
  const words = results.reduce((n, r) => n + r.words, 0);
  const errors = results.reduce((n, r) => n + r.errors, 0);
  return words === 0 ? 0 : errors / words;
}
