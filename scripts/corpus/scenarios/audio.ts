/**
 * Session audio for the scenario corpus: every utterance is synthesised by espeak-ng or flite
 * (Debian; platform-notes "Test media nobody here wrote"), shaped by ffmpeg audio filters
 * (tempo, vocal-stress vibrato/tremolo, whisper level, noise beds from `anoisesrc`) and resampled
 * to the widget's 16 kHz mono s16 PCM; the session timeline (latency, reply, pauses, coaching,
 * babble) is then laid out by adding those ffmpeg outputs sample by sample. Synthesised WAVs and
 * shaped PCM are cached under `.dev/corpus/scenarios/audio` by a hash of their recipe, so a rerun
 * spawns no synthesiser. Nothing here is a recording of a person.
 */
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { seededRandom } from "../../lib/seeded-random.ts";
import { BABBLE, type PlannedSession, type Voice } from "./plan.ts";

const run = promisify(execFile);
export const RATE = 16_000;
const BED_MS = 60_000;
const BED_SEED = { train: 101, validation: 202, test: 303 } as const;
/** vocal-stress presets: pitch tremor (vibrato), amplitude tremor (tremolo), a subdued level */
const STRESS = [
  "vibrato=f=5.5:d=0.3,tremolo=f=5:d=0.35,volume=-7dB",
  "vibrato=f=6.5:d=0.45,tremolo=f=6:d=0.45,volume=-9dB",
  "vibrato=f=7.5:d=0.35,tremolo=f=7:d=0.4,volume=-11dB",
];

function key(parts: unknown): string {
  return createHash("sha256").update(JSON.stringify(parts)).digest("hex").slice(0, 20);
}

async function cached(dir: string, name: string, make: (tmp: string) => Promise<void>): Promise<string> {
  mkdirSync(dir, { recursive: true });
  const out = join(dir, name);
  if (!existsSync(out)) {
    const tmp = `${out}.partial-${process.pid}${name.slice(name.lastIndexOf("."))}`;
    await make(tmp);
    renameSync(tmp, out);
  }
  return out;
}

/** Synthesises `text` with the voice; returns the cached WAV path. */
export async function synthesise(
  cacheDir: string,
  voice: Voice,
  text: string,
  whisper = false,
): Promise<string> {
  const name = `${key([voice, text, whisper])}.wav`;
  return cached(join(cacheDir, "tts"), name, async (tmp) => {
    if (voice.engine === "flite") {
      await run("flite", ["-voice", voice.name, "-t", text, "-o", tmp]);
    } else {
      const v = whisper ? `${voice.name.split("+")[0]}+whisper` : voice.name;
      await run("espeak-ng", ["-v", v, "-p", String(voice.pitch), "-s", "155", "-w", tmp, text]);
    }
  });
}

/** ffmpeg: WAV → filters → 16 kHz mono s16le; returns the samples. */
export async function shape(cacheDir: string, wav: string, filters: string[]): Promise<Int16Array> {
  const name = `${key([wav, filters])}.pcm`;
  const file = await cached(join(cacheDir, "pcm"), name, async (tmp) => {
    const af = [...filters, `aresample=${RATE}`].join(",");
    await run("ffmpeg", ["-v", "error", "-y", "-i", wav, "-af", af, "-ac", "1", "-f", "s16le", tmp]);
  });
  const b = readFileSync(file);
  return new Int16Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}

/** A noise bed from ffmpeg's `anoisesrc` (colour, amplitude, seed), `ms` long. */
export async function noise(cacheDir: string, colour: string, amplitude: number, ms: number, seed: number) {
  const name = `${key(["noise", colour, amplitude.toFixed(5), ms, seed])}.pcm`;
  const file = await cached(join(cacheDir, "pcm"), name, async (tmp) => {
    const src = `anoisesrc=d=${(ms / 1000).toFixed(3)}:c=${colour}:a=${amplitude.toFixed(5)}:r=${RATE}:s=${seed}`;
    await run("ffmpeg", ["-v", "error", "-y", "-f", "lavfi", "-i", src, "-ac", "1", "-f", "s16le", tmp]);
  });
  const b = readFileSync(file);
  return new Int16Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}

/** Adds `src` into `dst` at sample offset `at`, with gain. */
function addAt(dst: Float32Array, src: Int16Array, at: number, gain = 1): void {
  for (let i = 0; i < src.length && at + i < dst.length; i++) {
    if (at + i >= 0) dst[at + i] = (dst[at + i] ?? 0) + ((src[i] ?? 0) / 32768) * gain;
  }
}

const samples = (ms: number): number => Math.round((ms * RATE) / 1000);
const db = (d: number): number => 10 ** (d / 20);

export interface TurnSpan {
  /** window index at which the turn (end of the prompt) starts */
  startWindow: number;
  windows: number;
  /** the clean voice track of the reply as synthesised, for the recognizer (see build.ts) */
  replyKey: string | null;
}

export interface SessionAudio {
  pcm: Int16Array;
  turns: TurnSpan[];
}

/**
 * Lays out one session: per turn, the latency (room only, a whispered coach when coached), the
 * reply (phrases with a pause, tempo and stress shaping), then 2 s of room so the DO's reply end
 * (two silent windows) is reached. Turns start on one-second window boundaries, as the DO counts.
 */
export async function sessionAudio(cacheDir: string, s: PlannedSession): Promise<SessionAudio> {
  const random = seededRandom(s.seed ^ 0x5eed);
  const stress = s.kind === "duress";
  const voiceFilters = (tempo: number): string[] => {
    // tempo in 0.05 steps and three stress presets, so shaped replies are reused across sessions
    const f = [`atempo=${(Math.round(tempo * 20) / 20).toFixed(2)}`];
    if (stress) {
      // acoustic stress correlates: pitch tremor (vibrato) and amplitude tremor (tremolo), subdued
      f.push(pick(random, STRESS));
    }
    return f;
  };
  const parts: { pcm: Int16Array; at: number; gain: number }[] = [];
  const turns: TurnSpan[] = [];
  let cursorMs = 0;
  for (const t of s.turns) {
    const startMs = Math.ceil(cursorMs / 1000) * 1000;
    let at = startMs + t.latencyMs;
    let replyKey: string | null = null;
    if (t.coach && s.helpers[0]) {
      const wav = await synthesise(cacheDir, s.helpers[0], t.coach, true);
      const pcm = await shape(cacheDir, wav, [pick(random, ["volume=-4dB", "volume=-7dB", "volume=-10dB"])]);
      parts.push({ pcm, at: samples(startMs + 300), gain: 1 });
      at = Math.max(at, startMs + 300 + (pcm.length * 1000) / RATE + 300);
    }
    if (t.reply !== "none") {
      const words = t.text.split(" ");
      const phrases = t.breakAt > 0 ? [words.slice(0, t.breakAt), words.slice(t.breakAt)] : [words];
      replyKey = `${s.voice.id}|${t.text}`;
      for (const [i, phrase] of phrases.entries()) {
        const wav = await synthesise(cacheDir, s.voice, phrase.join(" "));
        const pcm = await shape(cacheDir, wav, voiceFilters(t.tempo));
        parts.push({ pcm, at: samples(at), gain: 1 });
        at += (pcm.length * 1000) / RATE + (i < phrases.length - 1 ? t.pauseMs : 0);
      }
    } else {
      at += 8000; // no reply: the DO waits NO_REPLY_WINDOWS
    }
    const endMs = at + 2000;
    turns.push({
      startWindow: startMs / 1000,
      windows: Math.ceil((endMs - startMs) / 1000),
      replyKey,
    });
    cursorMs = endMs;
  }
  const totalMs = Math.ceil(cursorMs / 1000) * 1000;
  const mix = new Float32Array(samples(totalMs));
  for (const p of parts) addAt(mix, p.pcm, p.at, p.gain);

  // room bed: pink noise for an ordinary room; none at all for an injected (virtual) source
  const injected = s.kind === "virtual-background" && random() < 0.6;
  if (!injected) {
    const level = s.kind === "call-centre" ? -44 + 6 * random() : -62 + 14 * random();
    // one 60 s bed per split, cut at a seeded offset and scaled: one ffmpeg run serves every session
    const bed = await noise(cacheDir, "pink", db(-40), BED_MS, BED_SEED[s.split]);
    const offset = samples(Math.floor(random() * (BED_MS - 1000)));
    const looped = Int16Array.from({ length: mix.length }, (_, i) => bed[(offset + i) % bed.length] ?? 0);
    addAt(mix, looped, 0, db(level + 40));
  }
  if (s.kind === "call-centre") {
    // other agents talking in the room, continuously, 12-20 dB below the speaker
    for (const [h, helper] of s.helpers.entries()) {
      let ms = 200 * h;
      while (ms < totalMs) {
        const wav = await synthesise(cacheDir, helper, pick(random, BABBLE));
        const pcm = await shape(cacheDir, wav, ["lowpass=f=3400"]);
        addAt(mix, pcm, samples(ms), db(-12 - 8 * random()));
        ms += (pcm.length * 1000) / RATE + 200 + 600 * random();
      }
    }
  }
  const pcm = new Int16Array(mix.length);
  for (let i = 0; i < mix.length; i++)
    pcm[i] = Math.max(-32768, Math.min(32767, Math.round((mix[i] ?? 0) * 32767)));
  return { pcm, turns };
}

function pick<T>(random: () => number, xs: readonly T[]): T {
  return xs[Math.floor(random() * xs.length) % xs.length] as T;
}
