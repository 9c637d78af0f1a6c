/**
 * The widget's protocol v1 client (docs/protocol.md, lib/widget-protocol.ts): one WebSocket
 * authenticated by offering `facet.v1` and the `cs_…` secret as subprotocols (never in the URL),
 * JSON control messages, and binary media framed with `encodeMedia`.
 *
 * Backpressure: the socket's `bufferedAmount` is capped. Over the cap video frames are dropped
 * and audio still goes out (a gap in speech costs more than a missing frame, and audio is a
 * small, steady stream). Media is also released in capture-time order across both kinds,
 * because the server closes a one-second window as soon as any later sample arrives and drops
 * what comes after (docs/protocol.md § Windowing): a video frame waits until the audio chunk
 * covering its time has been sent.
 */
import { mulawEncode } from "../../lib/g711.ts";
import {
  AudioFormat,
  type ClientMessage,
  encodeMedia,
  MediaKind,
  PROTOCOL,
  type ServerMessage,
  VideoFormat,
} from "../../lib/widget-protocol.ts";

/** Above this many bytes queued in the socket, video frames are dropped. */
const BUFFER_CAP_BYTES = 192 * 1024;
/** Above this even audio waits (the link is effectively stalled). */
const HARD_CAP_BYTES = 2 * 1024 * 1024;
/** Video older than this is released even if no audio covers it (microphone stalled). */
const MAX_VIDEO_HOLD_MS = 700;

export interface UpstreamStats {
  /** bytes handed to the socket (headers included), by kind */
  videoBytes: number;
  audioBytes: number;
  controlBytes: number;
  videoFrames: number;
  audioChunks: number;
  droppedFrames: number;
  /** wall-clock ms of the first media message, for rates */
  firstMediaAt: number | null;
}

export interface ConnectionHandlers {
  onMessage(message: ServerMessage): void;
  onClose(code: number, reason: string, opened: boolean): void;
}

/** encodeMedia allocates a fresh, exactly sized buffer: send it without copying. */
function wire(message: Uint8Array): ArrayBuffer {
  const { buffer } = message;
  return buffer instanceof ArrayBuffer && message.byteOffset === 0 && message.byteLength === buffer.byteLength
    ? buffer
    : message.slice().buffer;
}

interface HeldFrame {
  tsMs: number;
  jpeg: Uint8Array;
}

export class Connection {
  readonly stats: UpstreamStats = {
    videoBytes: 0,
    audioBytes: 0,
    controlBytes: 0,
    videoFrames: 0,
    audioChunks: 0,
    droppedFrames: 0,
    firstMediaAt: null,
  };
  #socket: WebSocket;
  #opened = false;
  #videoSeq = 0;
  #audioSeq = 0;
  #held: HeldFrame[] = [];
  /** capture time up to which audio has been sent; null while no audio flows */
  #audioSentUntil: number | null = null;

  constructor(apiBase: string, clientSecret: string, handlers: ConnectionHandlers) {
    const url = new URL("/v1/connect", apiBase);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    this.#socket = new WebSocket(url.toString(), [PROTOCOL, clientSecret]);
    this.#socket.binaryType = "arraybuffer";
    this.#socket.addEventListener("open", () => {
      this.#opened = true;
    });
    this.#socket.addEventListener("message", (event: MessageEvent) => {
      if (typeof event.data !== "string") return;
      let message: ServerMessage;
      try {
        message = JSON.parse(event.data) as ServerMessage;
      } catch {
        return;
      }
      handlers.onMessage(message);
    });
    this.#socket.addEventListener("close", (event: CloseEvent) => {
      handlers.onClose(event.code, event.reason, this.#opened);
    });
  }

  get open(): boolean {
    return this.#socket.readyState === WebSocket.OPEN;
  }

  send(message: ClientMessage): void {
    if (!this.open) return;
    const text = JSON.stringify(message);
    this.stats.controlBytes += text.length;
    this.#socket.send(text);
  }

  /** Queues one JPEG frame; it leaves once audio up to its capture time has been sent. */
  sendVideo(tsMs: number, jpeg: Uint8Array, audioActive: boolean): void {
    this.#held.push({ tsMs, jpeg });
    if (!audioActive) this.#audioSentUntil = null;
    this.#releaseVideo(tsMs);
  }

  sendAudio(tsMs: number, pcm: Int16Array): void {
    if (!this.open) return;
    if (this.#socket.bufferedAmount > HARD_CAP_BYTES) return;
    // G.711 µ-law on the wire: 128 kbit/s instead of 256 (lib/g711.ts).
    const bytes = mulawEncode(pcm);
    const message = encodeMedia(
      { kind: MediaKind.audio, format: AudioFormat.mulaw16k, seq: this.#audioSeq++, tsMs },
      bytes,
    );
    this.#socket.send(wire(message));
    this.stats.audioBytes += message.byteLength;
    this.stats.audioChunks += 1;
    this.stats.firstMediaAt ??= Date.now();
    this.#audioSentUntil = tsMs + (pcm.length / 16_000) * 1000;
    this.#releaseVideo(null);
  }

  #releaseVideo(newestTs: number | null): void {
    while (this.#held.length > 0) {
      const frame = this.#held[0] as HeldFrame;
      const covered = this.#audioSentUntil === null || frame.tsMs <= this.#audioSentUntil;
      const stale = newestTs !== null && newestTs - frame.tsMs > MAX_VIDEO_HOLD_MS;
      if (!covered && !stale) return;
      this.#held.shift();
      this.#transmitVideo(frame);
    }
  }

  #transmitVideo(frame: HeldFrame): void {
    if (!this.open) return;
    if (this.#socket.bufferedAmount > BUFFER_CAP_BYTES) {
      this.stats.droppedFrames += 1;
      return;
    }
    const message = encodeMedia(
      { kind: MediaKind.video, format: VideoFormat.jpeg, seq: this.#videoSeq++, tsMs: frame.tsMs },
      frame.jpeg,
    );
    this.#socket.send(wire(message));
    this.stats.videoBytes += message.byteLength;
    this.stats.videoFrames += 1;
    this.stats.firstMediaAt ??= Date.now();
  }

  close(): void {
    this.#held = [];
    if (this.#socket.readyState === WebSocket.OPEN || this.#socket.readyState === WebSocket.CONNECTING)
      this.#socket.close(1000);
  }
}
