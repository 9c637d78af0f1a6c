/**
 * The tokenizer's speech-recognition seam: raw 16 kHz mono PCM in, an English transcript with
 * word timings out, fully offline. The transcript of a conversation answer is sensitive data:
 * implementations never write audio or text to disk or to a log, and zeroize every copy of the
 * audio they make. The caller keeps ownership of (and zeroizes) the array it passes in.
 *
 * The implementation in use is pocketsphinx.ts (Debian `python3-pocketsphinx` +
 * `pocketsphinx-en-us`, a long-lived decoder process fed through pipes); see its header for why.
 */

/** Sample rate every recognizer expects: 16 kHz, mono, signed 16-bit. */
export const ASR_SAMPLE_RATE = 16_000;

export interface RecognizedWord {
  /** lower-case dictionary spelling, e.g. "authorize", "don't" */
  word: string;
  startMs: number;
  endMs: number;
  /** the engine's posterior probability for the word, 0..1 */
  confidence: number;
}

export interface Transcript {
  /** the words joined by single spaces; "" when nothing was recognised */
  text: string;
  words: RecognizedWord[];
}

export interface TranscribeOptions {
  /**
   * Expected whole answers, e.g. ["yes", "yes i do", "no", "no i don't"] or ["five hundred
   * euros", "one thousand euros"]. When given, the result is exactly one of these phrases (a
   * grammar), which makes closed answers far more reliable; each word's `confidence` then says
   * whether the open-vocabulary decode heard that word too (0 = it did not: probably an answer
   * outside the list). Phrases with a word the engine cannot pronounce are ignored; if none is
   * usable the open vocabulary is used.
   */
  hints?: string[];
}

export interface SpeechRecognizer {
  transcribe(pcm16k: Int16Array, opts?: TranscribeOptions): Promise<Transcript>;
  close(): Promise<void>;
}

export type SpeechRecognizerErrorCode =
  /** the engine is not installed or could not load its model */
  | "ASR_UNAVAILABLE"
  /** the input was rejected before decoding (too long, malformed hints) */
  | "ASR_INPUT"
  /** the engine failed, crashed or timed out on this request */
  | "ASR_FAILED"
  /** close() was called */
  | "ASR_CLOSED";

/** Messages are written by this module and never contain audio or transcript text. */
export class SpeechRecognizerError extends Error {
  override readonly name = "SpeechRecognizerError";
  readonly code: SpeechRecognizerErrorCode;
  constructor(code: SpeechRecognizerErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}

export function transcriptOf(words: RecognizedWord[]): Transcript {
  return { text: words.map((w) => w.word).join(" "), words };
}
