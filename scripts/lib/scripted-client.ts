/**
 * A scripted widget: a Node WebSocket client that speaks protocol v1 (lib/widget-protocol.ts)
 * and streams frames and audio it is given, answering the server's steps the way a cooperative
 * user would. The tests, `npm run session` and the bench (bench/session-client.ts, which needs
 * each message's arrival time) use it; the browser widget is the other client.
 */
import {
  AudioFormat,
  encodeMedia,
  MediaKind,
  PROTOCOL,
  type ServerMessage,
  VideoFormat,
} from "../../lib/widget-protocol.ts";

/** A server message and when it arrived (`performance.now()`, taken before parsing). */
export interface Receipt {
  at: number;
  message: ServerMessage;
}

export interface ClosedInfo {
  code: number;
  reason: string;
}

export interface MediaSource {
  /** JPEG frames, cycled */
  frames: Uint8Array[];
  /** 16 kHz mono PCM s16le, cycled; null for no microphone */
  audio: Int16Array | null;
  /** capture frames per second */
  fps?: number;
  /** wall-clock pacing between capture seconds, ms (1000 = real time) */
  msPerCaptureSecond?: number;
}

export class ScriptedClient {
  readonly messages: ServerMessage[] = [];
  /** every server message with its arrival time, in order (the same messages as `messages`) */
  readonly receipts: Receipt[] = [];
  readonly closed: Promise<ClosedInfo>;
  #socket: WebSocket;
  #waiters: { predicate: (m: ServerMessage) => boolean; resolve: (r: Receipt) => void }[] = [];
  #videoSeq = 0;
  #audioSeq = 0;

  private constructor(socket: WebSocket) {
    this.#socket = socket;
    socket.binaryType = "arraybuffer";
    this.closed = new Promise((resolve) => {
      socket.addEventListener("close", (e) => resolve({ code: e.code, reason: e.reason }));
    });
    socket.addEventListener("message", (e) => {
      if (typeof e.data !== "string") return;
      const at = performance.now();
      const receipt = { at, message: JSON.parse(e.data) as ServerMessage };
      this.messages.push(receipt.message);
      this.receipts.push(receipt);
      for (const w of [...this.#waiters]) {
        if (w.predicate(receipt.message)) {
          this.#waiters.splice(this.#waiters.indexOf(w), 1);
          w.resolve(receipt);
        }
      }
    });
  }

  /** Opens the connection; rejects when the server refuses the upgrade. */
  static connect(apiBase: string | URL, clientSecret: string): Promise<ScriptedClient> {
    const url = new URL("/v1/connect", apiBase);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    const socket = new WebSocket(url.toString(), [PROTOCOL, clientSecret]);
    return new Promise((resolve, reject) => {
      const client = new ScriptedClient(socket);
      socket.addEventListener("open", () => resolve(client), { once: true });
      socket.addEventListener("error", () => reject(new Error("WebSocket connection refused")), {
        once: true,
      });
    });
  }

  get open(): boolean {
    return this.#socket.readyState === WebSocket.OPEN;
  }

  async waitFor(predicate: (m: ServerMessage) => boolean, timeoutMs = 20_000): Promise<ServerMessage> {
    return (await this.waitForReceipt(predicate, timeoutMs)).message;
  }

  /** The first message matching `predicate` (already received or not), with its arrival time. */
  waitForReceipt(predicate: (m: ServerMessage) => boolean, timeoutMs = 20_000): Promise<Receipt> {
    const hit = this.receipts.find((r) => predicate(r.message));
    if (hit) return Promise.resolve(hit);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no matching server message within ${timeoutMs} ms`)),
        timeoutMs,
      );
      this.#waiters.push({
        predicate,
        resolve: (r) => {
          clearTimeout(timer);
          resolve(r);
        },
      });
    });
  }

  sendJson(message: unknown): void {
    this.#socket.send(JSON.stringify(message));
  }

  sendRaw(data: string | Uint8Array): void {
    this.#socket.send(data);
  }

  /** Sends one JPEG frame; returns the message's size in bytes (WebSocket framing excluded). */
  sendFrame(tsMs: number, jpeg: Uint8Array): number {
    const message = encodeMedia(
      { kind: MediaKind.video, format: VideoFormat.jpeg, seq: this.#videoSeq++, tsMs },
      jpeg,
    );
    this.#socket.send(message);
    return message.byteLength;
  }

  /**
   * Sends one 16 kHz audio chunk as PCM16, or as G.711 µ-law already encoded by the caller (what
   * the browser widget sends); returns the message's size in bytes.
   */
  sendAudio(tsMs: number, pcm: Int16Array): number;
  sendAudio(tsMs: number, mulaw: Uint8Array, format: "mulaw"): number;
  sendAudio(tsMs: number, samples: Int16Array | Uint8Array, format: "pcm16" | "mulaw" = "pcm16"): number {
    const bytes = new Uint8Array(samples.buffer, samples.byteOffset, samples.byteLength);
    const audioFormat = format === "mulaw" ? AudioFormat.mulaw16k : AudioFormat.pcm16k;
    const message = encodeMedia(
      { kind: MediaKind.audio, format: audioFormat, seq: this.#audioSeq++, tsMs },
      bytes,
    );
    this.#socket.send(message);
    return message.byteLength;
  }

  close(code = 1000): void {
    this.#socket.close(code);
  }

  /**
   * Streams media until the server ends the session (or `maxCaptureSeconds` pass), granting
   * permissions when asked. Returns how the connection closed.
   */
  async stream(source: MediaSource, maxCaptureSeconds = 60): Promise<ClosedInfo> {
    const fps = source.fps ?? 5;
    const pace = source.msPerCaptureSecond ?? 200;
    let ended = false;
    void this.closed.then(() => {
      ended = true;
    });
    this.answerPermissions();
    let frameIndex = 0;
    let audioOffset = 0;
    const audioChunk = 16000 / fps;
    for (let second = 0; second < maxCaptureSeconds && !ended; second++) {
      for (let i = 0; i < fps && !ended && this.open; i++) {
        const tsMs = second * 1000 + (i * 1000) / fps;
        const frame = source.frames[frameIndex++ % source.frames.length];
        if (frame) this.sendFrame(tsMs, frame);
        if (source.audio && source.audio.length > 0) {
          const chunk = new Int16Array(audioChunk);
          for (let k = 0; k < audioChunk; k++)
            chunk[k] = source.audio[(audioOffset + k) % source.audio.length] ?? 0;
          audioOffset += audioChunk;
          this.sendAudio(tsMs, chunk);
        }
        await new Promise((r) => setTimeout(r, pace / fps));
      }
    }
    return this.closed;
  }

  #answered = false;
  /** From now on (and for a prompt already received), grants camera and microphone when asked. */
  answerPermissions(): void {
    if (this.#answered) return;
    this.#answered = true;
    const answer = (m: ServerMessage) => {
      if (m.type === "node" && m.nodeType === "permissions")
        this.sendJson({ type: "permissions", camera: true, microphone: true });
    };
    this.messages.forEach(answer);
    this.#socket.addEventListener("message", (e) => {
      if (typeof e.data === "string") answer(JSON.parse(e.data) as ServerMessage);
    });
  }
}
