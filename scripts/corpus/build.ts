/**
 * `npm run corpus`: builds the liveness evaluation corpus (scripts/corpus/plan.ts) in the
 * git-ignored `.dev/corpus`:
 *
 * 1. frames — each planned window's 5 JPEGs made by ffmpeg from the fetched test media
 *    (scripts/lib/test-media.ts), cached per recipe (`.dev/corpus/frames/<id>/`);
 * 2. features — every window through the tokenization service's own extraction, in process:
 *    `tokenize()` with the service's image engine and the @vladmandic/human face engine
 *    (services/tokenizer), exactly the bytes-in/features-out path the service runs; the liveness
 *    slice → vector via workers/analyzer-liveness/vector.ts. Written to `.dev/corpus/features.jsonl`;
 * 3. the manifest (committed: ids, labels, splits, sources, sha256 of every generated window) to
 *    `docs/evaluation/corpus-manifest.json`.
 *
 * Tokenization runs in two child processes (the face engine uses one core each). Options:
 * `--shard i/n` (internal), `--limit N` (first N planned windows, for smoke runs), `--frames-only`
 * (stop after step 1), `--only <regexp>` (with `--frames-only`: just the windows whose id matches,
 * e.g. to rebuild a few windows several times and compare their sha256).
 */
import { execFile, execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { buildVector } from "../../lib/analyzer-runtime.ts";
import { FEATURES_SCHEMA, type WindowFeatures } from "../../lib/features.ts";
import { encodeBatch } from "../../lib/tokenizer-batch.ts";
import { createHumanFaceEngine } from "../../services/tokenizer/features/face-human.ts";
import { imageEngine } from "../../services/tokenizer/features/image.ts";
import { tokenize } from "../../services/tokenizer/tokenize.ts";
import { LIVENESS_VECTOR, type LivenessSlice } from "../../workers/analyzer-liveness/vector.ts";
import { REPO } from "../lib/platform.ts";
import { ensureTestMedia, type TestMedia } from "../lib/test-media.ts";
import { CORPUS_DIR, FEATURES_FILE, MANIFEST_FILE } from "./paths.ts";
import { CORPUS_SEED, FRAMES, type PlannedWindow, planCorpus } from "./plan.ts";
import { runShards } from "./shards.ts";

const run = promisify(execFile);

/** One line of features.jsonl. */
export interface CorpusRow {
  id: string;
  class: PlannedWindow["class"];
  kind: PlannedWindow["kind"];
  split: PlannedWindow["split"];
  identities: string[];
  sources: string[];
  /** sha256 over the window's JPEG frames, in order */
  sha256: string;
  face: WindowFeatures["face"];
  image: WindowFeatures["image"];
  /** LIVENESS_VECTOR order; missing evidence = the feature's neutral value */
  vector: number[];
  present: boolean[];
}

function recipeKey(w: PlannedWindow): string {
  return createHash("sha256")
    .update(JSON.stringify([w.inputs, w.filter, w.quality]))
    .digest("hex")
    .slice(0, 16);
}

/**
 * Frozen clip frames being extracted by this process, by output path: the frame pool runs four
 * windows at once and several of them can freeze the same frame (every validation paste window uses
 * `{frame:cap13@5}`), so they share one ffmpeg run instead of writing the same partial file.
 */
const extracting = new Map<string, Promise<string>>();

/** Resolves `{clip:…}`, `{still:…}` and `{frame:clip@s}` placeholders to cached files. */
function resolve(arg: string, media: TestMedia): Promise<string> {
  const m = /^\{(clip|still|frame):([^}]+)\}$/.exec(arg);
  if (!m) return Promise.resolve(arg);
  const [, type, ref = ""] = m;
  if (type === "clip") return Promise.resolve(media.clips[ref as keyof TestMedia["clips"]]);
  if (type === "still") return Promise.resolve(media.stills[ref as keyof TestMedia["stills"]]);
  const [clip = "", at = "0"] = ref.split("@");
  const dir = join(CORPUS_DIR, "stills");
  mkdirSync(dir, { recursive: true });
  const out = join(dir, `${clip}-${at}.png`);
  if (existsSync(out)) return Promise.resolve(out);
  let pending = extracting.get(out);
  if (!pending) {
    const partial = `${out}.partial-${process.pid}.png`;
    pending = run("ffmpeg", [
      "-v",
      "error",
      "-y",
      "-ss",
      at,
      "-i",
      media.clips[clip as keyof TestMedia["clips"]],
      "-frames:v",
      "1",
      partial,
    ]).then(() => {
      renameSync(partial, out);
      return out;
    });
    extracting.set(out, pending);
  }
  return pending;
}

/** Makes (or reuses) the window's frames; returns the JPEG bytes in order. */
async function frames(w: PlannedWindow, media: TestMedia): Promise<Uint8Array[]> {
  const dir = join(CORPUS_DIR, "frames", w.id);
  const key = recipeKey(w);
  const done = join(dir, ".done");
  if (!existsSync(done) || readFileSync(done, "utf8") !== key) {
    rmSync(dir, { recursive: true, force: true });
    const work = `${dir}.partial-${process.pid}`;
    rmSync(work, { recursive: true, force: true });
    mkdirSync(work, { recursive: true });
    const args = ["-v", "error", "-y", "-threads", "1", "-filter_threads", "1"];
    for (const input of w.inputs) for (const a of input) args.push(await resolve(a, media));
    args.push("-filter_complex", w.filter, "-an", "-frames:v", String(FRAMES));
    args.push("-q:v", String(w.quality), join(work, "frame-%03d.jpg"));
    try {
      await run("ffmpeg", args, { timeout: 120_000 });
    } catch (error) {
      throw new Error(`ffmpeg failed for ${w.id}: ${(error as { stderr?: string }).stderr ?? error}`);
    }
    writeFileSync(join(work, ".done"), key);
    renameSync(work, dir);
  }
  const files = readdirSync(dir)
    .filter((f) => f.endsWith(".jpg"))
    .sort();
  if (files.length !== FRAMES) throw new Error(`${w.id}: ffmpeg made ${files.length} frames, want ${FRAMES}`);
  return files.map((f) => new Uint8Array(readFileSync(join(dir, f))));
}

function framesSha(jpegs: Uint8Array[]): string {
  const h = createHash("sha256");
  for (const j of jpegs) h.update(j);
  return h.digest("hex");
}

function batchBody(w: PlannedWindow, jpegs: Uint8Array[]): Uint8Array {
  let offset = 0;
  const specs = jpegs.map((bytes, i) => {
    const spec = { tsMs: w.tsMs[i] ?? i * 200, format: "jpeg" as const, offset, length: bytes.byteLength };
    offset += bytes.byteLength;
    return spec;
  });
  return encodeBatch(
    {
      tenantId: "tenant-corpus",
      sessionId: `corpus-${w.id}`.slice(0, 64),
      seq: 0,
      startMs: 0,
      endMs: 1000,
      frames: specs,
      audio: null,
      wantFingerprint: false,
    },
    jpegs,
  );
}

/** The liveness slice of a single-window session without challenges (what the DO would cut). */
export function sliceOf(features: Pick<WindowFeatures, "face" | "image">): LivenessSlice {
  const image = features.image;
  return {
    windows: [
      {
        face: features.face,
        image: image
          ? {
              sharpness: image.sharpness,
              clippedRatio: image.clippedRatio,
              moireEnergy: image.moireEnergy,
              noiseMismatch: image.noiseMismatch,
              frameIntervalCv: image.frameIntervalCv,
            }
          : null,
      },
    ],
    challenges: { issued: 0, passed: 0 },
  };
}

function parseArg(name: string): string | null {
  const i = process.argv.indexOf(name);
  return i >= 0 ? (process.argv[i + 1] ?? null) : null;
}

async function tokenizeShard(plan: PlannedWindow[], shard: number, shards: number): Promise<void> {
  const media = ensureTestMedia();
  if (!media) throw new Error("test media unavailable");
  const engine = await createHumanFaceEngine(FRAMES, 1);
  const engines = { image: imageEngine, face: engine, fingerprint: null };
  const out: string[] = [];
  const mine = plan.filter((_, i) => i % shards === shard);
  let n = 0;
  for (const w of mine) {
    const jpegs = await frames(w, media);
    const reply = await tokenize(batchBody(w, jpegs), engines);
    if (reply.features.schema !== FEATURES_SCHEMA) throw new Error("schema drift");
    const { face, image } = reply.features;
    const built = buildVector(LIVENESS_VECTOR, sliceOf({ face, image }));
    const row: CorpusRow = {
      id: w.id,
      class: w.class,
      kind: w.kind,
      split: w.split,
      identities: w.identities,
      sources: w.sources,
      sha256: framesSha(jpegs),
      face,
      image,
      vector: Array.from(built.values, (v) => Number(v.toPrecision(7))),
      present: built.present,
    };
    out.push(JSON.stringify(row));
    if (++n % 25 === 0) process.stderr.write(`shard ${shard}: ${n}/${mine.length}\n`);
  }
  await engine.close?.();
  writeFileSync(join(CORPUS_DIR, `features.shard-${shard}.jsonl`), `${out.join("\n")}\n`);
}

async function pool<T>(items: T[], width: number, task: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) {
        const item = items[next++];
        if (item !== undefined) await task(item);
      }
    }),
  );
}

async function main(): Promise<void> {
  const limit = Number(parseArg("--limit") ?? "0");
  const all = planCorpus(CORPUS_SEED);
  const only = parseArg("--only");
  if (only !== null && !process.argv.includes("--frames-only"))
    throw new Error("--only <regexp> selects windows for a frames-only rebuild: add --frames-only");
  const pick = only === null ? null : new RegExp(only);
  const plan = (limit > 0 ? all.slice(0, limit) : all).filter((w) => pick === null || pick.test(w.id));
  mkdirSync(CORPUS_DIR, { recursive: true });
  const shardArg = parseArg("--shard");
  if (shardArg) {
    const [i = "0", n = "1"] = shardArg.split("/");
    await tokenizeShard(plan, Number(i), Number(n));
    return;
  }
  const t0 = performance.now();
  const media = ensureTestMedia();
  if (!media) throw new Error("test media unavailable: the corpus needs apt and npm sources (see stderr)");
  const width = Math.max(1, Math.min(4, cpus().length));
  await pool(plan, width, (w) => frames(w, media));
  const t1 = performance.now();
  process.stderr.write(`frames: ${plan.length} windows in ${((t1 - t0) / 1000).toFixed(1)} s\n`);
  if (process.argv.includes("--frames-only")) return;

  const shards = Math.max(1, Math.min(2, cpus().length));
  await runShards(import.meta.filename, shards, limit, "shard");
  const byId = new Map<string, string>();
  for (let i = 0; i < shards; i++) {
    const file = join(CORPUS_DIR, `features.shard-${i}.jsonl`);
    for (const line of readFileSync(file, "utf8").split("\n")) {
      if (line.trim()) byId.set((JSON.parse(line) as CorpusRow).id, line);
    }
    rmSync(file);
  }
  const lines = plan.map((w) => {
    const line = byId.get(w.id);
    if (!line) throw new Error(`no features for ${w.id}`);
    return line;
  });
  writeFileSync(FEATURES_FILE, `${lines.join("\n")}\n`);
  const t2 = performance.now();
  process.stderr.write(`features: ${lines.length} windows in ${((t2 - t1) / 1000).toFixed(1)} s\n`);

  if (limit === 0) {
    const rows = lines.map((l) => JSON.parse(l) as CorpusRow);
    mkdirSync(join(REPO, "docs", "evaluation"), { recursive: true });
    const manifest = {
      description:
        "Liveness evaluation corpus (scripts/corpus). Media are fetched at run time and never committed; " +
        "this lists each generated one-second window (5 JPEG frames, 320x240) with its label, split, " +
        "source media and the sha256 over its frames in order.",
      seed: CORPUS_SEED,
      windows: rows.map((r) => ({
        id: r.id,
        class: r.class,
        kind: r.kind,
        split: r.split,
        identities: r.identities,
        sources: r.sources,
        sha256: r.sha256,
      })),
    };
    writeFileSync(MANIFEST_FILE, `${JSON.stringify(manifest, null, 2)}\n`);
    // the repository's formatter owns committed JSON layout (biome.json)
    execFileSync(join(REPO, "node_modules", ".bin", "biome"), ["format", "--write", MANIFEST_FILE], {
      stdio: "ignore",
    });
    process.stderr.write(`manifest: ${MANIFEST_FILE}\n`);
  }
  process.stderr.write(`corpus total ${((t2 - t0) / 1000).toFixed(1)} s\n`);
  // session scenarios for the five non-liveness analyzers (scripts/corpus/scenarios/build.ts)
  await (await import("./scenarios/build.ts")).buildScenarios(limit);
}

if (import.meta.main) await main();
