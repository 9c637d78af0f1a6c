/**
 * Video windows for the scenario sessions. Genuine video is the liveness corpus's own bona fide
 * windows of the split's clip (scripts/corpus/build.ts ran them through the tokenization
 * service; `.dev/corpus/features.jsonl`), and a replayed, frozen head (behaviour anomaly) reuses
 * its print and paste windows. Two scenario attacks need new frames, made here with ffmpeg from
 * the same clip and tokenized by the service's own image and face engines:
 *
 * - virtual background: the person's region of the live clip keyed onto a blurred, frozen frame
 *   (what background-replacement tools show: a static scene around a moving person);
 * - second face: a face still (the split's own still or a frozen frame of its clip) in a corner
 *   of the live clip, as a coach or a photo held beside the subject would appear.
 */
import { execFile } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import type { WindowFeatures } from "../../../lib/features.ts";
import { encodeBatch } from "../../../lib/tokenizer-batch.ts";
import { type FeatureEngines, tokenize } from "../../../services/tokenizer/tokenize.ts";
import { seededRandom } from "../../lib/seeded-random.ts";
import type { TestMedia } from "../../lib/test-media.ts";
import type { CorpusRow } from "../build.ts";
import { type ClipId, FRAMES, type Split } from "../plan.ts";
import { seedOf } from "./plan.ts";

const run = promisify(execFile);

export type VideoWindow = Pick<WindowFeatures, "face" | "image">;
export type VideoKind = "live" | "frozen" | "virtual-background" | "second-face";
export type VideoPools = Record<Split, Record<VideoKind, VideoWindow[]>>;

/** Person region (x, y, w, h at 320×240) and a corner face still per split's clip. */
const LAYOUT: Record<ClipId, { person: [number, number, number, number]; still: string; crop: number[] }> = {
  cap12: { person: [88, 40, 146, 200], still: "{still:graceHopper}", crop: [165, 50, 200, 250] },
  cap13: { person: [88, 44, 144, 196], still: "{frame:cap13@5}", crop: [145, 90, 110, 130] },
  franck: { person: [60, 8, 210, 232], still: "{still:astronaut}", crop: [145, 10, 170, 190] },
};
const CLIP_SECONDS: Record<ClipId, number> = { cap12: 53, cap13: 30, franck: 200 };
/** New windows per split and attack. */
export const GENERATED = 10;

function input(arg: string, media: TestMedia, dir: string): Promise<string[]> {
  const m = /^\{(still|frame):([^}@]+)@?([0-9.]*)\}$/.exec(arg);
  if (!m) throw new Error(`bad source ${arg}`);
  const [, type, ref = "", at = "0"] = m;
  if (type === "still")
    return Promise.resolve([
      "-loop",
      "1",
      "-framerate",
      "5",
      "-t",
      "1",
      "-i",
      media.stills[ref as "astronaut"],
    ]);
  const out = join(dir, `${ref}-${at}.png`);
  const ready = existsSync(out)
    ? Promise.resolve()
    : run("ffmpeg", [
        "-v",
        "error",
        "-y",
        "-ss",
        at,
        "-i",
        media.clips[ref as ClipId],
        "-frames:v",
        "1",
        out,
      ]).then(() => undefined);
  return ready.then(() => ["-loop", "1", "-framerate", "5", "-t", "1", "-i", out]);
}

async function frames(
  id: string,
  kind: "virtual-background" | "second-face",
  clip: ClipId,
  media: TestMedia,
  cacheDir: string,
): Promise<Uint8Array[]> {
  const dir = join(cacheDir, "frames", id);
  if (!existsSync(join(dir, ".done"))) {
    const r = seededRandom(seedOf(id, 5));
    const work = `${dir}.partial-${process.pid}`;
    rmSync(work, { recursive: true, force: true });
    mkdirSync(work, { recursive: true });
    const start = (0.5 + (CLIP_SECONDS[clip] - 2) * r()).toFixed(2);
    const live = ["-ss", start, "-i", media.clips[clip]];
    const L = LAYOUT[clip];
    mkdirSync(join(cacheDir, "stills"), { recursive: true });
    let args: string[];
    if (kind === "virtual-background") {
      const [x, y, w, h] = L.person;
      const frozen = Math.round(1 + (CLIP_SECONDS[clip] - 3) * r());
      const bg = await input(`{frame:${clip}@${frozen}}`, media, join(cacheDir, "stills"));
      args = [
        ...live,
        ...bg,
        "-filter_complex",
        `[1:v]scale=320:240,setsar=1,gblur=sigma=${(5 + 6 * r()).toFixed(1)},hue=h=${Math.round(360 * r())}[bg];` +
          `[0:v]fps=5,scale=320:240,setsar=1,crop=${w}:${h}:${x}:${y}[p];[bg][p]overlay=${x}:${y}:shortest=1`,
      ];
    } else {
      const [cx = 0, cy = 0, cw = 0, ch = 0] = L.crop;
      const size = Math.round(80 + 30 * r());
      const corner = r() < 0.5 ? 6 : 320 - size - 6;
      const still = await input(L.still, media, join(cacheDir, "stills"));
      args = [
        ...live,
        ...still,
        "-filter_complex",
        `[0:v]fps=5,scale=320:240,setsar=1[bg];[1:v]crop=${cw}:${ch}:${cx}:${cy},scale=${size}:${Math.round(size * 1.15)}[f];` +
          `[bg][f]overlay=${corner}:8:shortest=1`,
      ];
    }
    await run(
      "ffmpeg",
      [
        "-v",
        "error",
        "-y",
        "-threads",
        "1",
        ...args,
        "-an",
        "-frames:v",
        String(FRAMES),
        "-q:v",
        "4",
        join(work, "f-%03d.jpg"),
      ],
      { timeout: 120_000 },
    );
    writeFileSync(join(work, ".done"), "1");
    rmSync(dir, { recursive: true, force: true });
    renameSync(work, dir);
  }
  return readdirSync(dir)
    .filter((f) => f.endsWith(".jpg"))
    .sort()
    .map((f) => new Uint8Array(readFileSync(join(dir, f))));
}

/** Tokenizes one window of JPEG frames with webcam-like timestamps; returns face and image. */
export async function tokenizeFrames(
  jpegs: Uint8Array[],
  engines: FeatureEngines,
  seed: number,
): Promise<VideoWindow> {
  const r = seededRandom(seed);
  let offset = 0;
  let ts = 0;
  const specs = jpegs.map((bytes) => {
    const spec = { tsMs: Math.round(ts), format: "jpeg" as const, offset, length: bytes.byteLength };
    offset += bytes.byteLength;
    ts += 200 + 30 * (r() - 0.5);
    return spec;
  });
  const header = {
    tenantId: "tenant-corpus",
    sessionId: "corpus-scenario-video",
    seq: 0,
    startMs: 0,
    endMs: 1000,
    frames: specs,
    audio: null,
    wantFingerprint: false,
  };
  const reply = await tokenize(encodeBatch(header, jpegs), engines);
  return { face: reply.features.face, image: reply.features.image };
}

/** The video pools per split: corpus rows plus the generated attack windows. */
export async function videoPools(
  rows: readonly CorpusRow[],
  media: TestMedia,
  engines: FeatureEngines,
  cacheDir: string,
  clips: Record<Split, ClipId>,
): Promise<VideoPools> {
  const pools = {} as VideoPools;
  for (const split of ["train", "validation", "test"] as const) {
    const mine = rows.filter((r) => r.split === split);
    const pool: Record<VideoKind, VideoWindow[]> = {
      live: mine.filter((r) => r.class === "bona-fide").map(({ face, image }) => ({ face, image })),
      frozen: mine
        .filter((r) => r.kind === "print" || r.kind === "paste")
        .map(({ face, image }) => ({ face, image })),
      "virtual-background": [],
      "second-face": [],
    };
    for (const kind of ["virtual-background", "second-face"] as const) {
      for (let n = 0; n < GENERATED; n++) {
        const id = `${split}-${kind}-${n}`;
        const jpegs = await frames(id, kind, clips[split], media, cacheDir);
        pool[kind].push(await tokenizeFrames(jpegs, engines, seedOf(id, 9)));
      }
    }
    if (pool.live.length === 0)
      throw new Error(`no bona fide windows for ${split}: run the liveness corpus first`);
    pools[split] = pool;
  }
  return pools;
}
