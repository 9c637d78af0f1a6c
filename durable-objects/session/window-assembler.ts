/**
 * Groups incoming media into one-second windows of capture time (the tokenization unit) in a
 * bounded, memory-only buffer (product-spec §7: raw media lives seconds, in memory). When the
 * bytes awaiting tokenization pass `LIMITS.maxBufferedBytes`, new video frames are shed (and
 * zeroized) instead of growing the buffer; the caller tells the client to slow down.
 */
import type { BatchAudio, BatchFrame } from "../../lib/tokenizer-batch.ts";
import { MAX_FRAMES_PER_BATCH, zeroize } from "../../lib/tokenizer-batch.ts";
import { LIMITS, type MediaHeader, MediaKind, VideoFormat } from "../../lib/widget-protocol.ts";

export const WINDOW_MS = 1000;

export interface MediaWindow {
  seq: number;
  startMs: number;
  endMs: number;
  frames: { tsMs: number; format: BatchFrame["format"]; bytes: Uint8Array }[];
  audio: { tsMs: number; chunks: Uint8Array[] } | null;
  bytes: number;
}

export class WindowAssembler {
  #current: MediaWindow | null = null;
  #nextSeq = 0;
  #buffered = 0;
  #latestMs = 0;
  droppedFrames = 0;

  /**
   * Capture time of the newest sample received, kept or shed: how far the client's capture has
   * got, whatever the tokenizer has caught up with (the liveness node times challenges by it).
   */
  get latestMs(): number {
    return this.#latestMs;
  }

  /** Bytes held by windows not yet released (current + those being tokenized). */
  get bufferedBytes(): number {
    return this.#buffered;
  }

  /**
   * Adds one media payload (copied: the WebSocket message buffer is not ours to keep). Returns
   * the windows that closed because this sample lies past their end.
   */
  add(header: MediaHeader, payload: Uint8Array): { closed: MediaWindow[]; dropped: boolean } {
    const closed: MediaWindow[] = [];
    this.#latestMs = Math.max(this.#latestMs, header.tsMs);
    const windowStart = Math.floor(header.tsMs / WINDOW_MS) * WINDOW_MS;
    if (this.#current && windowStart >= this.#current.startMs + WINDOW_MS) {
      closed.push(this.#current);
      this.#current = null;
    }
    if (header.kind === MediaKind.video && this.#buffered + payload.byteLength > LIMITS.maxBufferedBytes) {
      this.droppedFrames += 1;
      return { closed, dropped: true };
    }
    if (this.#current && windowStart < this.#current.startMs) {
      // A late sample from an earlier window: its window has gone to the tokenizer already.
      return { closed, dropped: header.kind === MediaKind.video };
    }
    if (
      header.kind === MediaKind.video &&
      this.#current &&
      this.#current.frames.length >= MAX_FRAMES_PER_BATCH
    ) {
      // More frames in one second than a batch carries: shed, as for a full buffer.
      this.droppedFrames += 1;
      return { closed, dropped: true };
    }
    this.#current ??= {
      seq: this.#nextSeq++,
      startMs: windowStart,
      endMs: windowStart + WINDOW_MS,
      frames: [],
      audio: null,
      bytes: 0,
    };
    const bytes = payload.slice();
    if (header.kind === MediaKind.video) {
      this.#current.frames.push({
        tsMs: header.tsMs,
        format: header.format === VideoFormat.webp ? "webp" : "jpeg",
        bytes,
      });
    } else {
      this.#current.audio ??= { tsMs: header.tsMs, chunks: [] };
      this.#current.audio.chunks.push(bytes);
    }
    this.#current.bytes += bytes.byteLength;
    this.#buffered += bytes.byteLength;
    return { closed, dropped: false };
  }

  /** Closes the current window (end of session, or a node that needs a decision now). */
  flush(): MediaWindow | null {
    const w = this.#current;
    this.#current = null;
    return w && (w.frames.length > 0 || w.audio) ? w : null;
  }

  /** Zeroizes a window's media and forgets its bytes (after tokenization, or when shedding). */
  release(window: MediaWindow): void {
    zeroize(...window.frames.map((f) => f.bytes), ...(window.audio?.chunks ?? []));
    this.#buffered -= window.bytes;
    window.frames = [];
    window.audio = null;
    window.bytes = 0;
  }

  /** Drops everything still buffered (session end). */
  discard(): void {
    const w = this.#current;
    this.#current = null;
    if (w) this.release(w);
  }
}

export type { BatchAudio };
