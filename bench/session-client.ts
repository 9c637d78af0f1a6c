/**
 * The bench's widget: one verification session over protocol v1 (docs/protocol.md), streaming in
 * real time exactly what the browser widget sends — JPEG frames at 5 fps and G.711 µ-law audio in
 * 200 ms chunks (widget/src/connection.ts) — and timestamping every server message on arrival,
 * which the decision-latency and capacity phases need. scripts/lib/scripted-client.ts is the
 * tests' client; it sends PCM16 and keeps no arrival times, so the bench has its own.
 */
import { mulawEncode } from "../lib/g711.ts";
import {
  AudioFormat,
  encodeMedia,
  MediaKind,
  PROTOCOL,
  type ServerMessage,
  VideoFormat,
} from "../lib/widget-protocol.ts";
import { wsFrameOverhead } from "./bandwidth.ts";
import { sleep } from "./tokenizer/measure.ts";

export const FPS = 5;
const TICK_MS = 1000 / FPS;
const SAMPLES_PER_TICK = 16_000 / FPS;

export interface Timed {
  at: number;
  message: ServerMessage;
}

export interface StreamMedia {
  frames: Uint8Array[];
  /** 16 kHz mono PCM, cycled */
  pcm: Int16Array;
}

export interface StreamResult {
  /** performance.now() when the last video frame left */
  lastFrameAt: number;
  /** per window w: when the first sample of window w+1 left, i.e. when window w closed */
  windowClosedAt: number[];
  /** bytes put on the socket, WebSocket framing included */
  bytes: number;
  seconds: number;
}

export class BenchClient {
  readonly received: Timed[] = [];
  readonly closed: Promise<number>;
  #socket: WebSocket;
  #waiters: { predicate: (m: ServerMessage) => boolean; resolve: (t: Timed) => void }[] = [];
  #videoSeq = 0;
  #audioSeq = 0;

  private constructor(socket: WebSocket) {
    this.#socket = socket;
    socket.binaryType = "arraybuffer";
    this.closed = new Promise((resolve) => socket.addEventListener("close", (e) => resolve(e.code)));
    socket.addEventListener("message", (e) => {
      if (typeof e.data !== "string") return;
      const timed = { at: performance.now(), message: JSON.parse(e.data) as ServerMessage };
      this.received.push(timed);
      if (timed.message.type === "node" && timed.message.nodeType === "permissions")
        this.send({ type: "permissions", camera: true, microphone: true });
      for (const w of [...this.#waiters]) {
        if (w.predicate(timed.message)) {
          this.#waiters.splice(this.#waiters.indexOf(w), 1);
          w.resolve(timed);
        }
      }
    });
  }

  static connect(apiBase: URL, clientSecret: string): Promise<BenchClient> {
    const url = new URL("/v1/connect", apiBase);
    url.protocol = "ws:";
    const socket = new WebSocket(url.toString(), [PROTOCOL, clientSecret]);
    return new Promise((resolve, reject) => {
      const client = new BenchClient(socket);
      socket.addEventListener("open", () => resolve(client), { once: true });
      socket.addEventListener("error", () => reject(new Error("WebSocket refused")), { once: true });
    });
  }

  waitFor(predicate: (m: ServerMessage) => boolean, timeoutMs = 30_000): Promise<Timed> {
    const hit = this.received.find((t) => predicate(t.message));
    if (hit) return Promise.resolve(hit);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no server message within ${timeoutMs} ms`)),
        timeoutMs,
      );
      this.#waiters.push({
        predicate,
        resolve: (t) => {
          clearTimeout(timer);
          resolve(t);
        },
      });
    });
  }

  send(message: unknown): void {
    if (this.#socket.readyState === WebSocket.OPEN) this.#socket.send(JSON.stringify(message));
  }

  close(): void {
    this.#socket.close(1000);
  }

  /**
   * Streams `seconds` of capture on an absolute 200 ms schedule (no drift): each tick sends the
   * audio chunk, then the frame, both stamped with the tick's capture time.
   */
  async stream(media: StreamMedia, seconds: number, offset = 0): Promise<StreamResult> {
    const start = performance.now();
    const result: StreamResult = { lastFrameAt: start, windowClosedAt: [], bytes: 0, seconds };
    const ticks = seconds * FPS;
    for (let i = 0; i < ticks && this.#socket.readyState === WebSocket.OPEN; i++) {
      const wait = start + i * TICK_MS - performance.now();
      if (wait > 0) await sleep(wait);
      const tsMs = i * TICK_MS;
      const pcm = new Int16Array(SAMPLES_PER_TICK);
      for (let k = 0; k < SAMPLES_PER_TICK; k++)
        pcm[k] = media.pcm[((offset + i) * SAMPLES_PER_TICK + k) % media.pcm.length] ?? 0;
      const audio = encodeMedia(
        { kind: MediaKind.audio, format: AudioFormat.mulaw16k, seq: this.#audioSeq++, tsMs },
        mulawEncode(pcm),
      );
      this.#socket.send(audio);
      if (i > 0 && i % FPS === 0) result.windowClosedAt.push(performance.now());
      const jpeg = media.frames[(offset + i) % media.frames.length] ?? new Uint8Array();
      const video = encodeMedia(
        { kind: MediaKind.video, format: VideoFormat.jpeg, seq: this.#videoSeq++, tsMs },
        jpeg,
      );
      this.#socket.send(video);
      result.lastFrameAt = performance.now();
      result.bytes += audio.byteLength + wsFrameOverhead(audio.byteLength);
      result.bytes += video.byteLength + wsFrameOverhead(video.byteLength);
    }
    return result;
  }
}
