/**
 * The widget ↔ edge WebSocket protocol, version 1 (docs/protocol.md is the prose version).
 *
 * Binary messages carry media with a 16-byte little-endian header:
 *   byte 0     kind: 1 video frame, 2 audio chunk
 *   byte 1     format: video 1 = JPEG, 2 = WebP; audio 1 = PCM s16le 16 kHz mono,
 *              2 = G.711 µ-law 16 kHz mono
 *   bytes 2–3  reserved, 0
 *   bytes 4–7  u32 sequence number, per kind, strictly increasing
 *   bytes 8–15 f64 capture timestamp, ms since the client's first sample
 *   bytes 16…  payload
 * Text messages are JSON control messages, validated by the schemas below. The client
 * authenticates with its client secret as a WebSocket subprotocol (`facet.v1`, `cs_…`) so the
 * secret never appears in a URL or an access log.
 */
import { z } from "zod";
import { BehaviorSignalsSchema, DeviceSignalsSchema } from "./features.ts";

export const PROTOCOL = "facet.v1";
export const MEDIA_HEADER_BYTES = 16;

export const MediaKind = { video: 1, audio: 2 } as const;
export const VideoFormat = { jpeg: 1, webp: 2 } as const;
/** Audio: 1 = PCM s16le 16 kHz mono; 2 = G.711 µ-law 16 kHz mono (lib/g711.ts, half the bytes). */
export const AudioFormat = { pcm16k: 1, mulaw16k: 2 } as const;

/** Limits enforced by the session Durable Object (docs/protocol.md § Limits). */
export const LIMITS = {
  /** one binary message (a JPEG frame or an audio chunk) */
  maxMediaMessageBytes: 256 * 1024,
  /** one JSON control message */
  maxControlMessageBytes: 16 * 1024,
  /** sustained messages per second, per connection (token bucket) */
  messagesPerSecond: 60,
  /** burst allowance on top of the sustained rate */
  messageBurst: 120,
  /** media bytes buffered in the DO awaiting tokenization before frames are shed */
  maxBufferedBytes: 4 * 1024 * 1024,
} as const;

/** Close codes (RFC 6455 §7.4.2 reserves 4000–4999 for applications). */
export const CloseCode = {
  normal: 1000,
  malformed: 4400,
  unauthorized: 4401,
  idleTimeout: 4408,
  protocolOrder: 4409,
  sessionEnded: 4410,
  tooLarge: 4413,
  rateExceeded: 4429,
  internal: 4500,
} as const;
export type CloseCodeValue = (typeof CloseCode)[keyof typeof CloseCode];

export interface MediaHeader {
  kind: number;
  format: number;
  seq: number;
  tsMs: number;
}

export function encodeMedia(header: MediaHeader, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(MEDIA_HEADER_BYTES + payload.byteLength);
  const view = new DataView(out.buffer);
  view.setUint8(0, header.kind);
  view.setUint8(1, header.format);
  view.setUint32(4, header.seq, true);
  view.setFloat64(8, header.tsMs, true);
  out.set(payload, MEDIA_HEADER_BYTES);
  return out;
}

export type MediaDecodeResult =
  | { ok: true; header: MediaHeader; payload: Uint8Array }
  | { ok: false; reason: string };

export function decodeMedia(data: ArrayBuffer): MediaDecodeResult {
  if (data.byteLength <= MEDIA_HEADER_BYTES)
    return { ok: false, reason: "media message shorter than its header" };
  const view = new DataView(data);
  const kind = view.getUint8(0);
  const format = view.getUint8(1);
  if (view.getUint16(2, true) !== 0) return { ok: false, reason: "reserved header bytes must be 0" };
  if (kind === MediaKind.video) {
    if (format !== VideoFormat.jpeg && format !== VideoFormat.webp)
      return { ok: false, reason: "unknown video format" };
  } else if (kind === MediaKind.audio) {
    if (format !== AudioFormat.pcm16k && format !== AudioFormat.mulaw16k) {
      return { ok: false, reason: "unknown audio format" };
    }
    if (format === AudioFormat.pcm16k && (data.byteLength - MEDIA_HEADER_BYTES) % 2 !== 0) {
      return { ok: false, reason: "PCM16 payload of odd length" };
    }
  } else {
    return { ok: false, reason: "unknown media kind" };
  }
  const tsMs = view.getFloat64(8, true);
  if (!Number.isFinite(tsMs) || tsMs < 0 || tsMs > 86_400_000)
    return { ok: false, reason: "capture timestamp out of range" };
  return {
    ok: true,
    header: { kind, format, seq: view.getUint32(4, true), tsMs },
    payload: new Uint8Array(data, MEDIA_HEADER_BYTES),
  };
}

/** Client → server control messages. */
export const ClientMessageSchema = z.discriminatedUnion("type", [
  z.object({ type: z.literal("hello"), device: DeviceSignalsSchema }).strict(),
  z.object({ type: z.literal("permissions"), camera: z.boolean(), microphone: z.boolean() }).strict(),
  z.object({ type: z.literal("email"), value: z.string().email().max(254) }).strict(),
  z.object({ type: z.literal("cancel_step") }).strict(),
  z.object({ type: z.literal("signals"), behavior: BehaviorSignalsSchema }).strict(),
  z.object({ type: z.literal("ping") }).strict(),
]);
export type ClientMessage = z.infer<typeof ClientMessageSchema>;

/** Every liveness challenge the server can draw (a flow may narrow them, lib/flow.ts `actions`). */
export const CHALLENGE_ACTIONS = ["turn_left", "turn_right", "blink", "look_up"] as const;
export type ChallengeAction = (typeof CHALLENGE_ACTIONS)[number];
/** Why a challenge failed: the opposite movement (a turn the other way, looking down), or none in time. */
export type ChallengeFailure = "opposite" | "time_up";

/** Server → client control messages (what the widget renders). */
export type ServerMessage =
  | { type: "ready"; sessionId: string; protocol: typeof PROTOCOL; locale: string }
  | { type: "node"; nodeId: string; nodeType: "permissions"; camera: boolean; microphone: boolean }
  | { type: "node"; nodeId: string; nodeType: "liveness"; challenges: number; minSeconds: number }
  | { type: "node"; nodeId: string; nodeType: "enter_email"; prompt: string }
  | { type: "node"; nodeId: string; nodeType: "conversation"; prompt: string; noReplyNeeded: boolean }
  | { type: "node"; nodeId: string; nodeType: "recognition" | "face_compare" }
  | { type: "challenge"; nodeId: string; index: number; action: ChallengeAction }
  /**
   * The challenge was seen answered (at once), the opposite movement came first (at once: failed
   * for good), or its response period ended without it. `reason` says which failure, null when
   * passed.
   */
  | {
      type: "challenge_result";
      nodeId: string;
      index: number;
      passed: boolean;
      reason: ChallengeFailure | null;
    }
  | { type: "progress"; nodeId: string; usableSeconds: number; requiredSeconds: number }
  | { type: "slow_down"; droppedFrames: number }
  | { type: "pong" }
  | { type: "complete"; status: "complete" | "incomplete"; reason: string | null }
  | { type: "error"; code: string; message: string };
