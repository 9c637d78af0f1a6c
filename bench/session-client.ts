/**
 * The bench's widget: one verification session over protocol v1 (docs/protocol.md), streaming in
 * real time exactly what the browser widget sends — JPEG frames at 5 fps and G.711 µ-law audio in
 * 200 ms chunks (widget/src/connection.ts) — on an absolute schedule. It wraps the tests' scripted
 * client (scripts/lib/scripted-client.ts), whose receipts carry the arrival time of every server
 * message, which the decision-latency and capacity phases need.
 */
import { mulawEncode } from "../lib/g711.ts";
import type { ServerMessage } from "../lib/widget-protocol.ts";
import { type Receipt, ScriptedClient } from "../scripts/lib/scripted-client.ts";
import { wsFrameOverhead } from "./bandwidth.ts";
import { sleep } from "./tokenizer/measure.ts";

export const FPS = 5;
const TICK_MS = 1000 / FPS;
const SAMPLES_PER_TICK = 16_000 / FPS;

export type Timed = Receipt;

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
  readonly closed: Promise<number>;
  #client: ScriptedClient;

  private constructor(client: ScriptedClient) {
    this.#client = client;
    this.closed = client.closed.then((c) => c.code);
    client.answerPermissions();
  }

  static async connect(apiBase: URL, clientSecret: string): Promise<BenchClient> {
    return new BenchClient(await ScriptedClient.connect(apiBase, clientSecret));
  }

  /** every server message with its arrival time (`performance.now()`) */
  get received(): readonly Timed[] {
    return this.#client.receipts;
  }

  waitFor(predicate: (m: ServerMessage) => boolean, timeoutMs = 30_000): Promise<Timed> {
    return this.#client.waitForReceipt(predicate, timeoutMs);
  }

  send(message: unknown): void {
    if (this.#client.open) this.#client.sendJson(message);
  }

  close(): void {
    this.#client.close(1000);
  }

  /**
   * Streams `seconds` of capture on an absolute 200 ms schedule (no drift): each tick sends the
   * audio chunk, then the frame, both stamped with the tick's capture time.
   */
  async stream(media: StreamMedia, seconds: number, offset = 0): Promise<StreamResult> {
    const start = performance.now();
    const result: StreamResult = { lastFrameAt: start, windowClosedAt: [], bytes: 0, seconds };
    const ticks = seconds * FPS;
    for (let i = 0; i < ticks && this.#client.open; i++) {
      const wait = start + i * TICK_MS - performance.now();
      if (wait > 0) await sleep(wait);
      const tsMs = i * TICK_MS;
      const pcm = new Int16Array(SAMPLES_PER_TICK);
      for (let k = 0; k < SAMPLES_PER_TICK; k++)
        pcm[k] = media.pcm[((offset + i) * SAMPLES_PER_TICK + k) % media.pcm.length] ?? 0;
      const audio = this.#client.sendAudio(tsMs, mulawEncode(pcm), "mulaw");
      if (i > 0 && i % FPS === 0) result.windowClosedAt.push(performance.now());
      const video = this.#client.sendFrame(
        tsMs,
        media.frames[(offset + i) % media.frames.length] ?? new Uint8Array(),
      );
      result.lastFrameAt = performance.now();
      result.bytes += audio + wsFrameOverhead(audio);
      result.bytes += video + wsFrameOverhead(video);
    }
    return result;
  }
}
