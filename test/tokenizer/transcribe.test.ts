/**
 * Speech recognition through the tokenize route: a batch that asks for `transcribe` gets the
 * window's transcript (`TokenizeReplySchema.transcript`), one that does not gets no transcript
 * field, and a missing or failing recognizer answers `transcript: null` without losing the
 * window's features. In-process with a stub recognizer (hints, zeroized copy, failure), then
 * against the real service with PocketSphinx and flite speech (skipped, with a message, when
 * the engine or flite is missing).
 */
import { existsSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TokenizeReplySchema } from "../../lib/features.ts";
import { type BatchHeader, encodeBatch } from "../../lib/tokenizer-batch.ts";
import { synthesize } from "../../scripts/lib/asr-speech.ts";
import { wer } from "../../scripts/lib/asr-wer.ts";
import type { SpeechRecognizer, TranscribeOptions } from "../../services/tokenizer/asr/engine.ts";
import { SpeechRecognizerError } from "../../services/tokenizer/asr/engine.ts";
import { pocketSphinxInstalled } from "../../services/tokenizer/asr/pocketsphinx.ts";
import { loadConfig } from "../../services/tokenizer/config.ts";
import { defaultEngines, tokenize } from "../../services/tokenizer/tokenize.ts";
import { BATCH_HEADERS, call, type RunningService, startService, tone } from "./support.ts";

function audioBatch(pcm: Uint8Array, transcribe?: BatchHeader["transcribe"]): Uint8Array {
  return encodeBatch(
    {
      tenantId: "tenant-test",
      sessionId: "session-test",
      seq: 0,
      startMs: 0,
      endMs: 1000,
      frames: [],
      audio: { tsMs: 0, encoding: "pcm_s16le", sampleRate: 16000, offset: 0, length: pcm.length },
      wantFingerprint: false,
      ...(transcribe ? { transcribe } : {}),
    },
    [pcm],
  );
}

const pcmBytes = (pcm: Int16Array) => new Uint8Array(pcm.buffer, pcm.byteOffset, pcm.byteLength);

describe("tokenize() with a recognizer", () => {
  const seen: { pcm: Int16Array; opts: TranscribeOptions | undefined }[] = [];
  const stub: Pick<SpeechRecognizer, "transcribe"> = {
    async transcribe(pcm, opts) {
      seen.push({ pcm, opts });
      return {
        text: "yes i do",
        words: [
          { word: "yes", startMs: 100, endMs: 300, confidence: 0.9 },
          { word: "i", startMs: 320, endMs: 380, confidence: 0.8 },
          { word: "do", startMs: 400, endMs: 600, confidence: 0.95 },
        ],
      };
    },
  };
  const engines = { ...defaultEngines, asr: stub };

  it("transcribes when asked, forwards hints and zeroizes its PCM copy", async () => {
    const audio = tone(200, 1, 0.3);
    const reply = await tokenize(audioBatch(audio, { hints: ["yes i do", "no"] }), engines);
    expect(TokenizeReplySchema.parse(reply)).toEqual(reply);
    expect(reply.transcript?.text).toBe("yes i do");
    expect(reply.transcript?.words.map((w) => w.word)).toEqual(["yes", "i", "do"]);
    expect(reply.features.audio).not.toBeNull();
    const call0 = seen.at(-1);
    expect(call0?.opts).toEqual({ hints: ["yes i do", "no"] });
    expect(call0?.pcm.length).toBe(audio.length / 2);
    expect(call0?.pcm.every((s) => s === 0)).toBe(true);
  });

  it("has no transcript field unless asked", async () => {
    const before = seen.length;
    const reply = await tokenize(audioBatch(tone(200, 1, 0.3)), engines);
    expect("transcript" in reply).toBe(false);
    expect(seen.length).toBe(before);
  });

  it("answers null without a recognizer, without audio, or when recognition fails", async () => {
    expect((await tokenize(audioBatch(tone(200, 1, 0.3), {}), defaultEngines)).transcript).toBeNull();
    const failing = {
      ...defaultEngines,
      asr: {
        transcribe: () => Promise.reject(new SpeechRecognizerError("ASR_FAILED", "decoder crashed")),
      },
    };
    const reply = await tokenize(audioBatch(tone(200, 1, 0.3), {}), failing);
    expect(reply.transcript).toBeNull();
    expect(reply.features.audio?.speechRatio).toBeGreaterThanOrEqual(0);
  });

  it("config: TOKENIZER_ASR is pocketsphinx, none or (default) auto", () => {
    const base = {
      TOKENIZER_TLS_CERT: "c",
      TOKENIZER_TLS_KEY: "k",
      TOKENIZER_CLIENT_CA: "a",
      TOKENIZER_DEV_MODE: "1",
    };
    expect(loadConfig([], base).asr).toBe("auto");
    expect(loadConfig([], { ...base, TOKENIZER_ASR: "none" }).asr).toBe("none");
    expect(() => loadConfig([], { ...base, TOKENIZER_ASR: "whisper" })).toThrow(/TOKENIZER_ASR/);
  });
});

const speech = pocketSphinxInstalled() && existsSync("/usr/bin/flite");
if (!speech) {
  console.warn(
    "transcribe.test.ts: real-service cases skipped — apt-get install python3-pocketsphinx pocketsphinx-en-us flite",
  );
}

describe.skipIf(!speech)("the service's recognizer (PocketSphinx)", () => {
  let service: RunningService;
  beforeAll(async () => {
    service = await startService({ TOKENIZER_FACE: "none" });
  });
  afterAll(async () => {
    await service?.stop();
  });

  it("transcribes a spoken answer in one window", { timeout: 60_000 }, async () => {
    const answers = ["yes I do", "no", "two thousand four hundred euros"];
    const results = [];
    for (const answer of answers) {
      const reply = await call(service, {
        headers: BATCH_HEADERS,
        body: audioBatch(pcmBytes(await synthesize(answer, "flite", "slt")), {}),
      });
      expect(reply.status, reply.body.toString()).toBe(200);
      const parsed = TokenizeReplySchema.parse(reply.json());
      expect(parsed.transcript).not.toBeNull();
      results.push(wer(answer, parsed.transcript?.text ?? ""));
      for (const w of parsed.transcript?.words ?? []) expect(w.endMs).toBeGreaterThanOrEqual(w.startMs);
    }
    const errors = results.reduce((n, r) => n + r.errors, 0);
    const words = results.reduce((n, r) => n + r.words, 0);
    console.info(`tokenize transcript WER (flite slt, whole answers): ${(errors / words).toFixed(3)}`);
    expect(errors / words).toBeLessThanOrEqual(0.2);
    // The transcript never reaches the request log.
    expect(service.stderr()).not.toMatch(/thousand|yes/);
  });

  it("TOKENIZER_ASR=none answers transcript: null", { timeout: 60_000 }, async () => {
    const off = await startService({ TOKENIZER_FACE: "none", TOKENIZER_ASR: "none" });
    try {
      const reply = await call(off, { headers: BATCH_HEADERS, body: audioBatch(tone(200, 1, 0.3), {}) });
      expect(reply.status).toBe(200);
      expect(TokenizeReplySchema.parse(reply.json()).transcript).toBeNull();
    } finally {
      await off.stop();
    }
  });
});
