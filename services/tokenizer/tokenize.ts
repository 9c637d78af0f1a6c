/**
 * One batch in, one `TokenizeReply` out: the heart of "tokenize first, analyze second" (seed,
 * product-spec §7). Frames are decoded one at a time, shown to every frame module, and zeroized
 * in a `finally` before the next is decoded; a parallel face engine (features/face-pool.ts) takes
 * its own copy of the pixels to a worker thread, which zeroizes it after the models ran, and
 * `flush` waits for those frames before the window is finished. The audio's float copy is wiped
 * inside `extractAudio`. The request body itself belongs to the
 * caller, which zeroizes it. The reply is validated against `TokenizeReplySchema` before it
 * leaves (house-style 4): a reply that breaks the contract is a 500, never a half-truth.
 *
 * Fingerprint: when the batch header asks for one (`wantFingerprint`, recognition and face_compare
 * nodes) the face engine also yields the window's mean face embedding, which becomes the
 * BioHash template under the tenant's current tokenization key version (fingerprint/biohash.ts)
 * and is zeroized at once. Without usable faces, without an embedding-capable face engine, or
 * without a keystore (`engines.fingerprint` null) the reply says `fingerprint: null`.
 *
 * Transcript: when the batch header asks for one (`transcribe`, conversation nodes) the window's
 * PCM is copied once into an Int16Array for the recognizer (engines.asr, started once per
 * service), which makes and zeroizes its own copy; ours is zeroized in a `finally`. Without a
 * recognizer, without audio or when recognition fails the reply says `transcript: null` — the
 * window's features are never lost to the recognizer. Transcripts are never logged.
 *
 * Residency: a batch names its session's zone; one for a zone outside `zones` (the instance's
 * TOKENIZER_ZONES) is refused before a byte of media is decoded, and the reply names the zone it
 * was tokenized for, which the session DO checks (lib/residency.ts).
 */
import {
  type FaceWindow,
  FEATURES_SCHEMA,
  type ImageWindow,
  type TokenizeReply,
  TokenizeReplySchema,
} from "../../lib/features.ts";
import { BatchFormatError, decodeBatch } from "../../lib/tokenizer-batch.ts";
import type { SpeechRecognizer } from "./asr/engine.ts";
import { TokenizerError } from "./errors.ts";
import { extractAudio } from "./features/audio.ts";
import { noFaceEngine } from "./features/face.ts";
import type { FaceEngine, FaceFrameModule } from "./features/face-engine.ts";
import { type DecodedFrame, decodeFrame, zeroizeFrame } from "./features/frame-decode.ts";
import { imageEngine } from "./features/image.ts";
import type { FrameFeatureEngine } from "./features/module.ts";
import type { BioHasher } from "./fingerprint/biohash.ts";

export interface FeatureEngines {
  image: FrameFeatureEngine<ImageWindow>;
  face: FaceEngine | FrameFeatureEngine<FaceWindow>;
  /** keyed template maker; absent or null: every fingerprint request answers null */
  fingerprint?: Pick<BioHasher, "hash"> | null;
  /** speech recognizer; absent or null: every transcript request answers null */
  asr?: Pick<SpeechRecognizer, "transcribe"> | null;
}

export const defaultEngines: FeatureEngines = {
  image: imageEngine,
  face: noFaceEngine,
  fingerprint: null,
  asr: null,
};

/** Tokenizes `body` (an `application/vnd.facet.batch`); does not zeroize it — the caller does. */
export async function tokenize(
  body: Uint8Array,
  engines: FeatureEngines = defaultEngines,
  /** zones this instance serves; in-process callers that bypass the service serve both */
  zones: readonly ("eu" | "us")[] = ["eu", "us"],
): Promise<TokenizeReply> {
  let batch: ReturnType<typeof decodeBatch>;
  try {
    batch = decodeBatch(body);
  } catch (error) {
    if (error instanceof BatchFormatError) throw new TokenizerError("ERR_BATCH_FORMAT", error.message);
    throw error;
  }
  const { header, payload } = batch;
  if (header.zone !== undefined && !zones.includes(header.zone)) {
    throw new TokenizerError("ERR_ZONE_NOT_SERVED", `this tokenizer serves ${zones.join(", ")}`);
  }
  if (header.endMs < header.startMs) throw new TokenizerError("ERR_BATCH_FORMAT", "endMs precedes startMs");

  const image = engines.image.newWindow(header.frames.length);
  const fingerprinting = header.wantFingerprint && Boolean(engines.fingerprint);
  const face: FaceFrameModule = engines.face.newWindow(header.frames.length, { embeddings: fingerprinting });
  try {
    for (const spec of header.frames) {
      let frame: DecodedFrame | null = null;
      try {
        frame = decodeFrame(spec, payload.subarray(spec.offset, spec.offset + spec.length));
        await image.addFrame(frame);
        await face.addFrame(frame);
      } finally {
        if (frame) zeroizeFrame(frame);
      }
    }
    // A parallel face engine has only started the frames (each on its own copy of the pixels):
    // the audio features are computed while its workers run, not after them, since the window's
    // reply waits for both (bench/README.md "Optimisations": off the last window's critical path).
    const audio = header.audio
      ? extractAudio(
          payload.subarray(header.audio.offset, header.audio.offset + header.audio.length),
          header.audio.tsMs - header.startMs,
        )
      : null;
    await face.flush?.();
    const fingerprint = fingerprinting ? await makeFingerprint(header.tenantId, face, engines) : null;
    const transcript = header.transcribe
      ? await makeTranscript(
          header.audio
            ? payload.subarray(header.audio.offset, header.audio.offset + header.audio.length)
            : null,
          header.transcribe.hints,
          engines,
        )
      : undefined;
    const reply = {
      features: {
        schema: FEATURES_SCHEMA,
        seq: header.seq,
        startMs: header.startMs,
        endMs: header.endMs,
        face: face.finish(),
        image: image.finish(),
        audio,
      },
      fingerprint,
      ...(transcript === undefined ? {} : { transcript }),
      zone: header.zone ?? null,
    };
    const checked = TokenizeReplySchema.safeParse(reply);
    if (!checked.success) throw new Error("tokenizer reply violates TokenizeReplySchema");
    return checked.data;
  } finally {
    image.dispose();
    face.dispose();
  }
}

/** The window's template, or null without usable faces. The embedding is zeroized here. */
async function makeFingerprint(
  tenantId: string,
  face: FaceFrameModule,
  engines: FeatureEngines,
): Promise<TokenizeReply["fingerprint"]> {
  const embedding = face.embedding?.() ?? null;
  if (!embedding || !engines.fingerprint) {
    embedding?.vector.fill(0);
    return null;
  }
  try {
    const { keyVersion, bits } = await engines.fingerprint.hash(tenantId, embedding.vector);
    return { keyVersion, bits, frames: embedding.frames };
  } finally {
    embedding.vector.fill(0);
  }
}

/** The window's transcript, or null without audio, without a recognizer, or when it fails. */
async function makeTranscript(
  pcmBytes: Uint8Array | null,
  hints: string[] | undefined,
  engines: FeatureEngines,
): Promise<TokenizeReply["transcript"]> {
  if (!pcmBytes || pcmBytes.byteLength < 2 || !engines.asr) return null;
  const view = new DataView(pcmBytes.buffer, pcmBytes.byteOffset, pcmBytes.byteLength);
  const pcm = new Int16Array(pcmBytes.byteLength >> 1);
  try {
    for (let i = 0; i < pcm.length; i++) pcm[i] = view.getInt16(i * 2, true);
    const t = await engines.asr.transcribe(pcm, hints && hints.length > 0 ? { hints } : {});
    return {
      text: t.text,
      words: t.words.map((w) => ({
        word: w.word,
        startMs: Math.max(0, w.startMs),
        endMs: Math.max(0, w.endMs),
        confidence: Math.min(1, Math.max(0, w.confidence)),
      })),
    };
  } catch {
    // SpeechRecognizerError: unavailable, crashed, timed out — the window still counts.
    return null;
  } finally {
    pcm.fill(0);
  }
}
