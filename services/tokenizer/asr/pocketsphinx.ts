/**
 * SpeechRecognizer backed by CMU PocketSphinx (Debian `python3-pocketsphinx`, `pocketsphinx-en-us`:
 * BSD licence, 37 MB US-English continuous model + 26 MB trigram LM + CMUdict).
 *
 * Why this engine and shape (measured, see the asr test): no English ASR model installs from the
 * npm registry (whisper.cpp, sherpa-onnx and vosk packages ship engines only and fetch models
 * from hubs), and PocketSphinx is the only recognizer Debian packages. Of its front ends, the
 * `pocketsphinx_continuous` CLI reloads the model on every call and normalises cepstra with a
 * live estimate, which is much worse on short answers; this module keeps one decoder loaded in
 * a long-lived `/usr/bin/python3 pocketsphinx_worker.py` child and decodes each answer as one
 * full utterance. Audio goes through the child's stdin only (never disk); the request copy is
 * zeroized in both processes after use; the child's log goes to /dev/null; transcripts are never
 * logged. Requests are decoded one at a time; the worker is restarted after a crash or timeout.
 */
import { type ChildProcessByStdio, spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { endianness } from "node:os";
import { dirname, join } from "node:path";
import type { Readable, Writable } from "node:stream";
import { fileURLToPath } from "node:url";
import {
  ASR_SAMPLE_RATE,
  type RecognizedWord,
  type SpeechRecognizer,
  SpeechRecognizerError,
  type TranscribeOptions,
  type Transcript,
  transcriptOf,
} from "./engine.ts";

export const WORKER_SCRIPT = join(dirname(fileURLToPath(import.meta.url)), "pocketsphinx_worker.py");
export const DEFAULT_MODEL_DIR = "/usr/share/pocketsphinx/model/en-us";
/** Debian's interpreter: the Debian binding is not visible to pyenv or venv interpreters. */
export const DEFAULT_PYTHON = "/usr/bin/python3";
/**
 * PocketSphinx's noise removal keeps a noise estimate from one utterance to the next, so one
 * person's answer would change the transcript of the next person's. Off, every request is
 * decoded from the same state (deterministic); measured WER was equal or better on every set but
 * one (one extra phrase wrong of 21 words on the human "cards" clips).
 */
export const DEFAULT_DECODER_OPTIONS: Readonly<Record<string, string>> = { "-remove_noise": "no" };

export interface PocketSphinxOptions {
  python?: string;
  modelDir?: string;
  /** PocketSphinx decoder options merged over DEFAULT_DECODER_OPTIONS (the worker accepts a fixed list) */
  decoderOptions?: Record<string, string>;
  /** longest accepted answer, seconds (default 120; the worker's own cap is 600) */
  maxSeconds?: number;
  /** model load budget, ms (default 30 s) */
  startTimeoutMs?: number;
  /** per request: fixed part plus `timeoutFactor` x audio duration (defaults 10 s, 5) */
  timeoutBaseMs?: number;
  timeoutFactor?: number;
}

const MAX_HINTS = 200;
const MAX_HINT_CHARS = 200;

type Worker = ChildProcessByStdio<Writable, Readable, Readable>;

interface Pending {
  id: number;
  resolve: (words: RecognizedWord[]) => void;
  reject: (err: SpeechRecognizerError) => void;
  timer: NodeJS.Timeout;
}

interface WorkerMessage {
  id?: unknown;
  words?: unknown;
  error?: unknown;
  ready?: unknown;
  fatal?: unknown;
}

export class PocketSphinxRecognizer implements SpeechRecognizer {
  readonly #python: string;
  readonly #modelDir: string;
  readonly #decoderArgs: string[];
  readonly #maxSamples: number;
  readonly #startTimeoutMs: number;
  readonly #timeoutBaseMs: number;
  readonly #timeoutFactor: number;
  #worker: Worker | null = null;
  #starting: Promise<Worker> | null = null;
  #pending: Pending | null = null;
  #queue: Promise<unknown> = Promise.resolve();
  #nextId = 1;
  #closed = false;

  constructor(options: PocketSphinxOptions = {}) {
    this.#python = options.python ?? DEFAULT_PYTHON;
    this.#modelDir = options.modelDir ?? DEFAULT_MODEL_DIR;
    this.#decoderArgs = Object.entries({ ...DEFAULT_DECODER_OPTIONS, ...options.decoderOptions }).flat();
    this.#maxSamples = Math.round((options.maxSeconds ?? 120) * ASR_SAMPLE_RATE);
    this.#startTimeoutMs = options.startTimeoutMs ?? 30_000;
    this.#timeoutBaseMs = options.timeoutBaseMs ?? 10_000;
    this.#timeoutFactor = options.timeoutFactor ?? 5;
  }

  /** Process id of the decoder child (for CPU accounting), or undefined before start. */
  get pid(): number | undefined {
    return this.#worker?.pid;
  }

  /** Loads the model now rather than on the first request; rejects with ASR_UNAVAILABLE. */
  async start(): Promise<void> {
    await this.#ensureWorker();
  }

  transcribe(pcm16k: Int16Array, opts: TranscribeOptions = {}): Promise<Transcript> {
    if (this.#closed) return Promise.reject(new SpeechRecognizerError("ASR_CLOSED", "recognizer closed"));
    if (!(pcm16k instanceof Int16Array)) {
      return Promise.reject(new SpeechRecognizerError("ASR_INPUT", "audio must be an Int16Array"));
    }
    if (pcm16k.length > this.#maxSamples) {
      return Promise.reject(new SpeechRecognizerError("ASR_INPUT", "audio too long"));
    }
    let hints: string[] | null;
    try {
      hints = checkHints(opts.hints);
    } catch (err) {
      return Promise.reject(err);
    }
    if (pcm16k.length === 0) return Promise.resolve(transcriptOf([]));

    // Copy now: the caller may zeroize its array as soon as this returns.
    const copy = Buffer.allocUnsafeSlow(pcm16k.length * 2);
    new Int16Array(copy.buffer, copy.byteOffset, pcm16k.length).set(pcm16k);
    if (endianness() === "BE") copy.swap16();

    const run = this.#queue.then(
      () => this.#decode(copy, hints),
      () => this.#decode(copy, hints),
    );
    this.#queue = run.catch(() => undefined);
    return run.then(transcriptOf, (err: unknown) => {
      copy.fill(0);
      throw err;
    });
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#queue;
    const worker = this.#worker;
    this.#worker = null;
    if (worker === null || worker.exitCode !== null || worker.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      const kill = setTimeout(() => worker.kill("SIGKILL"), 2_000);
      worker.once("exit", () => {
        clearTimeout(kill);
        resolve();
      });
      worker.stdin.end();
    });
  }

  async #decode(copy: Buffer, hints: string[] | null): Promise<RecognizedWord[]> {
    if (this.#closed) {
      copy.fill(0);
      throw new SpeechRecognizerError("ASR_CLOSED", "recognizer closed");
    }
    const worker = await this.#ensureWorker();
    const samples = copy.length / 2;
    const id = this.#nextId++;
    const timeoutMs = this.#timeoutBaseMs + (this.#timeoutFactor * samples * 1000) / ASR_SAMPLE_RATE;
    return new Promise<RecognizedWord[]>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#fail(new SpeechRecognizerError("ASR_FAILED", "speech recognition timed out"));
        worker.kill("SIGKILL");
      }, timeoutMs);
      this.#pending = { id, resolve, reject, timer };
      worker.stdin.write(`${JSON.stringify({ id, samples, hints })}\n`);
      worker.stdin.write(copy, () => copy.fill(0));
    });
  }

  #ensureWorker(): Promise<Worker> {
    if (this.#worker !== null) return Promise.resolve(this.#worker);
    if (this.#starting === null) {
      this.#starting = this.#spawn().finally(() => {
        this.#starting = null;
      });
    }
    return this.#starting;
  }

  #spawn(): Promise<Worker> {
    return new Promise<Worker>((resolve, reject) => {
      let worker: Worker;
      try {
        worker = spawn(this.#python, ["-I", "-B", WORKER_SCRIPT, this.#modelDir, ...this.#decoderArgs], {
          stdio: ["pipe", "pipe", "pipe"],
          env: { PATH: "/usr/bin:/bin", LANG: "C.UTF-8" },
        });
      } catch {
        reject(new SpeechRecognizerError("ASR_UNAVAILABLE", `cannot start ${this.#python}`));
        return;
      }
      let ready = false;
      let stderrTail = "";
      const unavailable = (why: string) => {
        clearTimeout(timer);
        worker.kill("SIGKILL");
        reject(new SpeechRecognizerError("ASR_UNAVAILABLE", `PocketSphinx unavailable: ${why}`));
      };
      const timer = setTimeout(() => unavailable("model load timed out"), this.#startTimeoutMs);

      // Only read before the model is ready (import errors); afterwards stderr is drained unread.
      worker.stderr.on("data", (chunk: Buffer) => {
        if (!ready && stderrTail.length < 2048) stderrTail += chunk.toString("utf8");
      });
      worker.stdin.on("error", () => undefined); // EPIPE after a crash surfaces via "exit"
      worker.on("error", (err) => {
        if (!ready) unavailable(err.message);
      });
      worker.on("exit", (code, signal) => {
        if (this.#worker === worker) this.#worker = null;
        if (!ready) {
          unavailable(`worker exited (${signal ?? code})${lastLine(stderrTail)}`);
          return;
        }
        this.#fail(new SpeechRecognizerError("ASR_FAILED", `speech recognizer exited (${signal ?? code})`));
      });

      let buffered = "";
      worker.stdout.setEncoding("utf8");
      worker.stdout.on("data", (chunk: string) => {
        buffered += chunk;
        let nl = buffered.indexOf("\n");
        while (nl >= 0) {
          const line = buffered.slice(0, nl);
          buffered = buffered.slice(nl + 1);
          nl = buffered.indexOf("\n");
          let msg: WorkerMessage;
          try {
            msg = JSON.parse(line) as WorkerMessage;
          } catch {
            continue;
          }
          if (!ready) {
            if (msg.ready === true) {
              ready = true;
              clearTimeout(timer);
              stderrTail = "";
              this.#worker = worker;
              resolve(worker);
            } else if (typeof msg.fatal === "string") {
              unavailable(msg.fatal);
            }
            continue;
          }
          this.#onMessage(msg);
        }
      });
    });
  }

  #onMessage(msg: WorkerMessage): void {
    const pending = this.#pending;
    if (pending === null || msg.id !== pending.id) return;
    this.#pending = null;
    clearTimeout(pending.timer);
    if (typeof msg.error === "string") {
      pending.reject(new SpeechRecognizerError("ASR_FAILED", `decoder error (${msg.error})`));
      return;
    }
    const words = parseWords(msg.words);
    if (words === null) {
      pending.reject(new SpeechRecognizerError("ASR_FAILED", "malformed decoder reply"));
      return;
    }
    pending.resolve(words);
  }

  #fail(err: SpeechRecognizerError): void {
    const pending = this.#pending;
    if (pending === null) return;
    this.#pending = null;
    clearTimeout(pending.timer);
    pending.reject(err);
  }
}

/** Whether Debian's python3-pocketsphinx and pocketsphinx-en-us are installed (a cheap check). */
export function pocketSphinxInstalled(python = DEFAULT_PYTHON, modelDir = DEFAULT_MODEL_DIR): boolean {
  if (!existsSync(python) || !existsSync(join(modelDir, "en-us", "mdef"))) return false;
  const probe = spawnSync(python, ["-I", "-B", "-c", "import pocketsphinx"], {
    stdio: "ignore",
    timeout: 10_000,
  });
  return probe.status === 0;
}

/** Starts a recognizer and waits for its model; rejects with ASR_UNAVAILABLE when not installed. */
export async function createPocketSphinxRecognizer(
  options: PocketSphinxOptions = {},
): Promise<PocketSphinxRecognizer> {
  const recognizer = new PocketSphinxRecognizer(options);
  await recognizer.start();
  return recognizer;
}

function checkHints(hints: unknown): string[] | null {
  if (hints === undefined) return null;
  if (!Array.isArray(hints) || hints.length > MAX_HINTS) {
    throw new SpeechRecognizerError("ASR_INPUT", `hints must be an array of at most ${MAX_HINTS} strings`);
  }
  const out: string[] = [];
  for (const h of hints) {
    if (typeof h !== "string" || h.length > MAX_HINT_CHARS) {
      throw new SpeechRecognizerError(
        "ASR_INPUT",
        `each hint must be a string of at most ${MAX_HINT_CHARS} characters`,
      );
    }
    out.push(h);
  }
  return out.length > 0 ? out : null;
}

function parseWords(raw: unknown): RecognizedWord[] | null {
  if (!Array.isArray(raw)) return null;
  const words: RecognizedWord[] = [];
  for (const entry of raw) {
    if (!Array.isArray(entry) || entry.length !== 4) return null;
    const [word, startMs, endMs, confidence] = entry as unknown[];
    if (
      typeof word !== "string" ||
      typeof startMs !== "number" ||
      typeof endMs !== "number" ||
      typeof confidence !== "number"
    ) {
      return null;
    }
    words.push({ word, startMs, endMs, confidence });
  }
  return words;
}

function lastLine(text: string): string {
  const line = text.trim().split("\n").pop()?.trim() ?? "";
  return line === "" ? "" : `: ${line.slice(0, 200)}`;
}
