/**
 * Wire format of one tokenization batch, session DO → regional tokenization service.
 *
 * One HTTPS request per window (about one second of media) over mutual TLS. The body is binary
 * so frames travel without base64 inflation or an extra copy:
 *
 *   offset 0  "FCTB"            magic
 *   offset 4  u8 version = 1, u8[3] reserved (0)
 *   offset 8  u32 LE headerLength
 *   offset 12 header JSON (UTF-8), `BatchHeaderSchema`
 *   then      payload bytes; every frame / the audio chunk names its [offset, offset+length)
 *             relative to the start of the payload section
 *
 * The header carries no media; the payload section carries nothing but media. Both sides call
 * `zeroize` on the payload once it has been consumed (product-spec §7).
 */
import { z } from "zod";

export const BATCH_CONTENT_TYPE = "application/vnd.facet.batch";
export const BATCH_MAGIC = 0x46435442; // "FCTB"
export const BATCH_VERSION = 1;
/** Upper bound of one batch; the tokenizer refuses larger bodies with ERR_BATCH_TOO_LARGE. */
export const MAX_BATCH_BYTES = 8 * 1024 * 1024;
export const MAX_FRAMES_PER_BATCH = 60;
export const MAX_FRAME_DIMENSION = 1920;

const Span = { offset: z.number().int().min(0), length: z.number().int().min(1) };

export const BatchFrameSchema = z.object({
  /** capture timestamp, ms since the session's first sample */
  tsMs: z.number().min(0),
  format: z.enum(["jpeg", "webp", "rgb"]),
  /** required for raw RGB; decoded from the header for JPEG/WebP */
  width: z.number().int().min(1).max(MAX_FRAME_DIMENSION).optional(),
  height: z.number().int().min(1).max(MAX_FRAME_DIMENSION).optional(),
  ...Span,
});
export type BatchFrame = z.infer<typeof BatchFrameSchema>;

export const BatchAudioSchema = z.object({
  tsMs: z.number().min(0),
  /** signed 16-bit little-endian mono PCM */
  encoding: z.literal("pcm_s16le"),
  sampleRate: z.literal(16000),
  ...Span,
});
export type BatchAudio = z.infer<typeof BatchAudioSchema>;

export const BatchHeaderSchema = z.object({
  tenantId: z.string().min(1).max(64),
  sessionId: z.string().min(1).max(64),
  /**
   * The session's data-residency zone (lib/residency.ts). The edge always sends it; a tokenizer
   * that does not serve it refuses the batch (421 ERR_ZONE_NOT_SERVED). Optional only for
   * in-process callers (benchmarks, corpus builder) that bypass the edge.
   */
  zone: z.enum(["eu", "us"]).optional(),
  /** window sequence number within the session */
  seq: z.number().int().min(0),
  /** session-relative start of the window, ms */
  startMs: z.number().min(0),
  endMs: z.number().min(0),
  frames: z.array(BatchFrameSchema).max(MAX_FRAMES_PER_BATCH),
  audio: BatchAudioSchema.nullable(),
  /** ask for the keyed face template (recognition / face_compare nodes) */
  wantFingerprint: z.boolean(),
  /**
   * Ask for a transcript of the window's audio (conversation nodes). `hints` are expected
   * whole answers (services/tokenizer/asr/engine.ts `TranscribeOptions.hints`).
   */
  transcribe: z
    .object({ hints: z.array(z.string().min(1).max(200)).max(200).optional() })
    .strict()
    .optional(),
});
export type BatchHeader = z.infer<typeof BatchHeaderSchema>;

export interface DecodedBatch {
  header: BatchHeader;
  /** view into the request body: zeroize it when done */
  payload: Uint8Array;
}

export class BatchFormatError extends Error {
  override readonly name = "BatchFormatError";
}

/** Builds the request body. The caller's buffers are copied once, into the body. */
export function encodeBatch(header: BatchHeader, parts: Uint8Array[]): Uint8Array {
  const headerBytes = new TextEncoder().encode(JSON.stringify(header));
  const payloadLength = parts.reduce((n, p) => n + p.byteLength, 0);
  const body = new Uint8Array(12 + headerBytes.byteLength + payloadLength);
  const view = new DataView(body.buffer);
  view.setUint32(0, BATCH_MAGIC);
  view.setUint8(4, BATCH_VERSION);
  view.setUint32(8, headerBytes.byteLength, true);
  body.set(headerBytes, 12);
  let at = 12 + headerBytes.byteLength;
  for (const part of parts) {
    body.set(part, at);
    at += part.byteLength;
  }
  return body;
}

/** Parses and bounds-checks a batch; every span must lie inside the payload section. */
export function decodeBatch(body: Uint8Array): DecodedBatch {
  if (body.byteLength < 12) throw new BatchFormatError("batch shorter than its preamble");
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  if (view.getUint32(0) !== BATCH_MAGIC) throw new BatchFormatError("bad magic");
  if (view.getUint8(4) !== BATCH_VERSION) throw new BatchFormatError("unsupported batch version");
  const headerLength = view.getUint32(8, true);
  if (headerLength === 0 || 12 + headerLength > body.byteLength) {
    throw new BatchFormatError("header length out of range");
  }
  let json: unknown;
  try {
    json = JSON.parse(
      new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(
        body.subarray(12, 12 + headerLength),
      ),
    );
  } catch {
    throw new BatchFormatError("header is not UTF-8 JSON");
  }
  const parsed = BatchHeaderSchema.safeParse(json);
  if (!parsed.success) throw new BatchFormatError(`invalid header: ${parsed.error.issues[0]?.message ?? ""}`);
  const payload = body.subarray(12 + headerLength);
  const spans = [...parsed.data.frames, ...(parsed.data.audio ? [parsed.data.audio] : [])];
  for (const span of spans) {
    if (span.offset + span.length > payload.byteLength) {
      throw new BatchFormatError("a media span lies outside the payload");
    }
  }
  return { header: parsed.data, payload };
}

/** Overwrites media bytes in place once they are no longer needed (product-spec §7). */
export function zeroize(...buffers: (Uint8Array | ArrayBuffer | null | undefined)[]): void {
  for (const buffer of buffers) {
    if (!buffer) continue;
    (buffer instanceof Uint8Array ? buffer : new Uint8Array(buffer)).fill(0);
  }
}
