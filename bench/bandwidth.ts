/**
 * Upstream bandwidth per session, two ways. "Budget" is what the browser widget is built to send:
 * its constants are read from widget/src (capture.ts: frame rate and the video bit budget the JPEG
 * quality loop holds; audio-worklet.ts: 200 ms chunks; connection.ts: G.711 µ-law, 8 bits per
 * sample at 16 kHz), plus the 16-byte media header (lib/widget-protocol.ts) and the client→server
 * WebSocket frame header (RFC 6455 §5.2: 2 bytes, +2 for a 126–65535 byte payload, +4 mask).
 * widget/src is browser TypeScript with parameter properties, which Node cannot strip, so the
 * constants are read from the source text, not imported. "Measured" is the bytes the bench's own
 * clients (same encoding, real webcam JPEGs) put on the socket per second of capture.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import jpeg from "jpeg-js";
import { MEDIA_HEADER_BYTES } from "../lib/widget-protocol.ts";
import { REPO } from "../scripts/lib/platform.ts";

export const BANDWIDTH_TARGET_KBPS = 250;
const AUDIO_SAMPLE_RATE = 16_000;
/** G.711 µ-law: one byte per sample */
const MULAW_BITS_PER_SAMPLE = 8;

export interface WidgetEncoding {
  fps: number;
  videoBudgetBps: number;
  audioChunkMs: number;
  audioBps: number;
}

function constant(file: string, name: string): number {
  const text = readFileSync(join(REPO, file), "utf8");
  const match = new RegExp(`const ${name}\\s*=\\s*([\\d_]+)`).exec(text);
  if (!match?.[1]) throw new Error(`${file}: ${name} not found (the bench reads it from the source)`);
  return Number(match[1].replaceAll("_", ""));
}

export function widgetEncoding(): WidgetEncoding {
  const muLaw = readFileSync(join(REPO, "widget/src/connection.ts"), "utf8").includes("AudioFormat.mulaw16k");
  return {
    fps: constant("widget/src/capture.ts", "FPS_DEFAULT"),
    videoBudgetBps: constant("widget/src/capture.ts", "VIDEO_BUDGET_BPS"),
    audioChunkMs: constant("widget/src/audio-worklet.ts", "CHUNK_MS"),
    audioBps: AUDIO_SAMPLE_RATE * (muLaw ? MULAW_BITS_PER_SAMPLE : 16),
  };
}

/** Bytes of one client→server WebSocket frame header for a payload of `n` bytes (masked). */
export function wsFrameOverhead(n: number): number {
  return 2 + 4 + (n >= 126 ? (n > 65_535 ? 8 : 2) : 0);
}

export interface BandwidthFigures {
  encoding: WidgetEncoding;
  /** the widget's budget with all framing, kbit/s */
  budgetKbps: number;
  /** framing alone (media headers + WebSocket headers), kbit/s */
  framingKbps: number;
  /** what the bench clients sent per second of capture, kbit/s (null if nothing was measured) */
  measuredKbps: number | null;
  /** the same media as PCM16 audio instead of µ-law: the encoding the widget avoids */
  pcm16Kbps: number;
  meanJpegBytes: number;
}

export function bandwidthFigures(meanJpegBytes: number, measuredKbps: number | null): BandwidthFigures {
  const e = widgetEncoding();
  const audioChunksPerS = 1000 / e.audioChunkMs;
  const audioChunkBytes = ((e.audioBps / 8) * e.audioChunkMs) / 1000;
  const videoFrameBytes = e.videoBudgetBps / 8 / e.fps;
  const framingBytes =
    audioChunksPerS * (MEDIA_HEADER_BYTES + wsFrameOverhead(audioChunkBytes + MEDIA_HEADER_BYTES)) +
    e.fps * (MEDIA_HEADER_BYTES + wsFrameOverhead(videoFrameBytes + MEDIA_HEADER_BYTES));
  const framingKbps = (framingBytes * 8) / 1000;
  const budgetKbps = (e.videoBudgetBps + e.audioBps) / 1000 + framingKbps;
  return {
    encoding: e,
    budgetKbps,
    framingKbps,
    measuredKbps,
    pcm16Kbps: budgetKbps + e.audioBps / 1000,
    meanJpegBytes,
  };
}

/**
 * Re-encodes `frames` the way the widget's quality loop would (capture.ts: quality 0.45 down to
 * 0.15 until a frame fits VIDEO_BUDGET_BPS / 8 / FPS_DEFAULT bytes): the highest of a few
 * qualities whose mean frame size fits. The source clips are ffmpeg q:v 4 JPEGs, larger than any
 * browser would send under the budget, so the bench sends what the widget would.
 */
export function fitToWidgetBudget(frames: Uint8Array[]): { frames: Uint8Array[]; quality: number } {
  const e = widgetEncoding();
  const budget = e.videoBudgetBps / 8 / e.fps;
  const decoded = frames.map((f) => jpeg.decode(f, { useTArray: true }));
  // The quality is chosen on every 4th frame (encoding is slow in pure JS), then applied to all.
  const probe = decoded.filter((_, i) => i % 4 === 0);
  let chosen = 15;
  for (const quality of [45, 35, 25, 15]) {
    const mean = probe.reduce((a, d) => a + jpeg.encode(d, quality).data.byteLength, 0) / probe.length;
    chosen = quality;
    if (mean <= budget) break;
  }
  return { frames: decoded.map((d) => new Uint8Array(jpeg.encode(d, chosen).data)), quality: chosen };
}
