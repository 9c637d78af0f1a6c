/**
 * Test and benchmark speech for the speech recognizer, made in memory: text is synthesised by
 * Debian `flite` (CMU diphone/clustergen voices) or `espeak-ng` and converted to 16 kHz mono s16
 * by `ffmpeg`, all through pipes. Also reads the human recordings of Debian
 * `pocketsphinx-testdata` (LibriVox "Sense and Sensibility" clips, spoken card names).
 */
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";

export type Synthesizer = "flite" | "espeak-ng";

export const TESTDATA_DIR = "/usr/share/pocketsphinx/test/data";

export function commandExists(path: string): boolean {
  return existsSync(path);
}

/** Runs `cmd args`, feeding `input` on stdin; resolves with stdout. */
function pipeThrough(cmd: string, args: string[], input: Buffer | null): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ["pipe", "pipe", "pipe"] });
    const out: Buffer[] = [];
    let err = "";
    child.stdout.on("data", (c: Buffer) => out.push(c));
    child.stderr.on("data", (c: Buffer) => {
      if (err.length < 4096) err += c.toString("utf8");
    });
    child.on("error", reject);
    child.on("close", (code) => {
      if (code === 0) resolve(Buffer.concat(out));
      else reject(new Error(`${cmd} exited ${code}: ${err.trim().split("\n").pop() ?? ""}`));
    });
    child.stdin.on("error", () => undefined);
    child.stdin.end(input ?? undefined);
  });
}

export function bytesToPcm(bytes: Buffer): Int16Array {
  const pcm = new Int16Array(bytes.length >> 1);
  for (let i = 0; i < pcm.length; i++) pcm[i] = bytes.readInt16LE(i * 2);
  return pcm;
}

/** Any WAV on stdin to 16 kHz mono s16le on stdout. */
export async function toPcm16k(wav: Buffer): Promise<Int16Array> {
  const raw = await pipeThrough(
    "ffmpeg",
    [
      "-hide_banner",
      "-loglevel",
      "error",
      "-f",
      "wav",
      "-i",
      "pipe:0",
      "-ac",
      "1",
      "-ar",
      "16000",
      "-f",
      "s16le",
      "pipe:1",
    ],
    wav,
  );
  return bytesToPcm(raw);
}

/** Speaks `text` with flite (default voice "slt") or espeak-ng (default "en-us", 150 wpm). */
export async function synthesize(
  text: string,
  synth: Synthesizer = "flite",
  voice?: string,
): Promise<Int16Array> {
  const wav =
    synth === "flite"
      ? // flite can only write to a path; /dev/stdout must be a real pipe (Node gives children a
        // socket, which open() refuses), hence the shell pipeline. Text and voice are arguments.
        await pipeThrough(
          "sh",
          ["-c", 'flite -voice "$1" -t "$2" -o /dev/stdout | cat', "sh", voice ?? "slt", text],
          null,
        )
      : await pipeThrough("espeak-ng", ["-v", voice ?? "en-us", "-s", "150", "--stdout", text], null);
  return toPcm16k(wav);
}

/** The `data` chunk of a 16 kHz mono 16-bit PCM WAV file. */
export function readWav16k(path: string): Int16Array {
  const file = readFileSync(path);
  if (file.toString("ascii", 0, 4) !== "RIFF" || file.toString("ascii", 8, 12) !== "WAVE") {
    throw new Error(`${path}: not a WAV file`);
  }
  let at = 12;
  let format: { channels: number; rate: number; bits: number } | null = null;
  while (at + 8 <= file.length) {
    const id = file.toString("ascii", at, at + 4);
    const size = file.readUInt32LE(at + 4);
    const body = at + 8;
    if (id === "fmt ") {
      format = {
        channels: file.readUInt16LE(body + 2),
        rate: file.readUInt32LE(body + 4),
        bits: file.readUInt16LE(body + 14),
      };
    } else if (id === "data") {
      if (format === null || format.channels !== 1 || format.rate !== 16000 || format.bits !== 16) {
        throw new Error(`${path}: expected 16 kHz mono 16-bit PCM`);
      }
      return bytesToPcm(file.subarray(body, Math.min(file.length, body + size)));
    }
    at = body + size + (size & 1);
  }
  throw new Error(`${path}: no data chunk`);
}

export interface LabelledClip {
  name: string;
  reference: string;
  pcm: Int16Array;
}

/** Human speech from pocketsphinx-testdata: `set` "librivox" (read prose) or "cards" (card names). */
export function testdataClips(set: "librivox" | "cards"): LabelledClip[] {
  const dir = `${TESTDATA_DIR}/${set}`;
  const listing = readFileSync(`${dir}/${set === "cards" ? "cards.transcription" : "transcription"}`, "utf8");
  const clips: LabelledClip[] = [];
  for (const line of listing.split("\n")) {
    const m = /^\s*<s>(.*)<\/s>\s*\(([^)]+)\)\s*$/.exec(line);
    if (m === null) continue;
    const reference = (m[1] ?? "").trim().replace(/\s+/g, " ");
    const name = m[2] ?? "";
    clips.push({ name, reference, pcm: readWav16k(`${dir}/${name}.wav`) });
  }
  return clips;
}
