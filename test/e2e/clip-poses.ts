/**
 * Per-frame head pose and eye openness of the e2e webcam clips, measured by the tokenizer's own
 * face engine (`createFaceObserver`, services/tokenizer/features/face-human.ts) so that the
 * challenge camera (challenge-camera.ts) picks its segments by the same yardstick the platform
 * judges them with. Frames are decoded by ffmpeg into memory (raw RGB on a pipe, never a file) and
 * wiped by the observer; only the numbers are cached, as JSON in the git-ignored
 * `.dev/media-cache/poses` (the clips' rights are unstated: nothing derived from them is
 * committed — scripts/lib/test-media.ts).
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { MEDIA_CACHE } from "../../scripts/lib/test-media.ts";
import { eyeAspectRatio } from "../../services/tokenizer/features/face-geometry.ts";
import { createFaceObserver } from "../../services/tokenizer/features/face-human.ts";

/** One decoded frame's measurements; null fields when no face was found. */
export interface FramePose {
  /** seconds from the clip's start */
  t: number;
  /** signed head yaw and pitch of the largest face, degrees, as the tokenizer reads them */
  yawDeg: number | null;
  pitchDeg: number | null;
  /** eye aspect ratio (face-window.ts counts < 0.2 as closed) */
  ear: number | null;
}

export interface ClipPoses {
  clip: string;
  fps: number;
  width: number;
  height: number;
  frames: FramePose[];
}

/** Bumped whenever the measurement changes, so an old cache is not reused. */
const VERSION = 1;

/** Every frame of `clip` at `fps`, `width`×`height` (aspect is the caller's business), as RGB. */
export function decodeRgb(
  clip: string,
  fps: number,
  width: number,
  height: number,
  startS = 0,
  seconds?: number,
) {
  const args = ["-v", "error"];
  if (startS > 0) args.push("-ss", String(startS));
  args.push("-i", clip);
  if (seconds !== undefined) args.push("-t", String(seconds));
  args.push(
    "-vf",
    `fps=${fps},scale=${width}:${height}`,
    "-an",
    "-f",
    "rawvideo",
    "-pix_fmt",
    "rgb24",
    "pipe:1",
  );
  const raw = execFileSync("ffmpeg", args, { maxBuffer: 1 << 30, timeout: 300_000 });
  const size = width * height * 3;
  const frames: Uint8Array[] = [];
  for (let o = 0; o + size <= raw.length; o += size) frames.push(raw.subarray(o, o + size));
  return { frames, wipe: () => raw.fill(0) };
}

/** Measures (once; cached) every frame of `clip` at `fps`. CPU: ~0.1–0.2 s per frame. */
export async function clipPoses(clip: string, fps: number, width = 320, height = 240): Promise<ClipPoses> {
  const dir = join(MEDIA_CACHE, "poses");
  const file = join(dir, `${basename(clip)}-v${VERSION}-f${fps}-${width}x${height}.json`);
  if (existsSync(file)) return JSON.parse(readFileSync(file, "utf8")) as ClipPoses;
  const observer = await createFaceObserver();
  const decoded = decodeRgb(clip, fps, width, height);
  const frames: FramePose[] = [];
  try {
    for (const [i, rgb] of decoded.frames.entries()) {
      // observe() zeroizes the pixels it is given: hand it a copy of the frame's view
      const { observation } = await observer.observe({ width, height, rgb: rgb.slice() }, false);
      const [face] = observation.faces;
      const t = Math.round((i / fps) * 1000) / 1000;
      if (!face || face.mesh.length < 468) frames.push({ t, yawDeg: null, pitchDeg: null, ear: null });
      else
        frames.push({
          t,
          yawDeg: (face.yawRad * 180) / Math.PI,
          pitchDeg: (face.pitchRad * 180) / Math.PI,
          ear: eyeAspectRatio(face.mesh),
        });
    }
  } finally {
    decoded.wipe();
  }
  const poses: ClipPoses = { clip: basename(clip), fps, width, height, frames };
  mkdirSync(dir, { recursive: true });
  const partial = `${file}.partial-${process.pid}`;
  writeFileSync(partial, JSON.stringify(poses));
  renameSync(partial, file);
  return poses;
}
