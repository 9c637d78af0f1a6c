/**
 * Measures the speech recognizer: word error rate per sentence and overall, and real-time factor
 * (decoder CPU time / audio time), for synthetic voices and the human clips of Debian
 * `pocketsphinx-testdata`; optionally against the `pocketsphinx_continuous` CLI (one process per
 * answer, audio on stdin) for comparison.
 *
 *   node scripts/lib/asr-bench.ts [--cli] [--opts '{"-remove_noise":"no"}']
 */
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { ASR_SAMPLE_RATE } from "../../services/tokenizer/asr/engine.ts";
import {
  createPocketSphinxRecognizer,
  type PocketSphinxRecognizer,
} from "../../services/tokenizer/asr/pocketsphinx.ts";
import { type LabelledClip, type Synthesizer, synthesize, testdataClips } from "./asr-speech.ts";
import { corpusWer, type WerResult, wer } from "./asr-wer.ts";

/** Answers typical of a verification conversation. */
export const VERIFICATION_SENTENCES: readonly string[] = [
  "yes I authorise the transfer of five hundred euros",
  "no I did not ask for this payment",
  "the money goes to my brother john smith",
  "I refuse to confirm this transaction",
  "I don't know",
  "yes",
  "no",
  "please send two thousand four hundred dollars to maria garcia",
  "nobody is telling me what to say",
];

export const YES_NO_HINTS: string[] = ["yes", "yes i do", "no", "no i don't", "i do", "i don't"];

const CLK_TCK = 100;

/** CPU seconds (user + system) used so far by process `pid`, from /proc. */
export function processCpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}

interface Row {
  name: string;
  reference: string;
  hypothesis: string;
  result: WerResult;
  audioSeconds: number;
  cpuSeconds: number;
}

async function viaWorker(
  recognizer: PocketSphinxRecognizer,
  clip: LabelledClip,
  hints?: string[],
): Promise<Row> {
  const pid = recognizer.pid;
  if (pid === undefined) throw new Error("worker not started");
  const before = processCpuSeconds(pid);
  const t = await recognizer.transcribe(clip.pcm, hints === undefined ? {} : { hints });
  const cpuSeconds = processCpuSeconds(pid) - before;
  return row(clip, t.text, cpuSeconds);
}

/**
 * One `pocketsphinx_continuous` per clip; CPU from bash's `times` (children's user + sys). The
 * `cat |` gives it a real pipe: Node hands children a socket, which `-infile /dev/stdin` cannot open.
 */
function viaCli(clip: LabelledClip): Promise<Row> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      "bash",
      ["-c", "cat | pocketsphinx_continuous -infile /dev/stdin -logfn /dev/null; times >&2"],
      { stdio: ["pipe", "pipe", "pipe"] },
    );
    let out = "";
    let err = "";
    child.stdout.on("data", (c: Buffer) => {
      out += c.toString("utf8");
    });
    child.stderr.on("data", (c: Buffer) => {
      err += c.toString("utf8");
    });
    child.on("error", reject);
    child.on("close", () => {
      // `times` prints shell then children: "0m0.001s 0m0.000s\n0m2.310s 0m0.120s"
      const last = err.trim().split("\n").pop() ?? "";
      const secs = [...last.matchAll(/(\d+)m([\d.]+)s/g)].reduce(
        (s, m) => s + Number(m[1]) * 60 + Number(m[2]),
        0,
      );
      resolve(row(clip, out.trim().replace(/\s+/g, " "), secs));
    });
    const bytes = Buffer.alloc(clip.pcm.length * 2);
    for (let i = 0; i < clip.pcm.length; i++) bytes.writeInt16LE(clip.pcm[i] ?? 0, i * 2);
    child.stdin.on("error", () => undefined);
    child.stdin.end(bytes);
  });
}

function row(clip: LabelledClip, hypothesis: string, cpuSeconds: number): Row {
  return {
    name: clip.name,
    reference: clip.reference,
    hypothesis,
    result: wer(clip.reference, hypothesis),
    audioSeconds: clip.pcm.length / ASR_SAMPLE_RATE,
    cpuSeconds,
  };
}

function report(title: string, rows: Row[]): void {
  const audio = rows.reduce((s, r) => s + r.audioSeconds, 0);
  const cpu = rows.reduce((s, r) => s + r.cpuSeconds, 0);
  console.log(
    `\n## ${title}: WER ${corpusWer(rows.map((r) => r.result)).toFixed(3)}, RTF ${(cpu / audio).toFixed(3)} (${cpu.toFixed(2)} s CPU / ${audio.toFixed(2)} s audio)`,
  );
  for (const r of rows) {
    console.log(
      `  ${r.result.wer.toFixed(2)}  ${r.name.padEnd(14)} ref: ${r.reference}\n        ${"".padEnd(14)} hyp: ${r.hypothesis}`,
    );
  }
}

async function main(): Promise<void> {
  const withCli = process.argv.includes("--cli");
  const voices: [Synthesizer, string][] = [
    ["flite", "slt"],
    ["flite", "rms"],
    ["flite", "awb"],
    ["flite", "kal16"],
    ["espeak-ng", "en-us"],
  ];
  const sets: [string, LabelledClip[]][] = [];
  for (const [synth, voice] of voices) {
    const clips: LabelledClip[] = [];
    for (const [i, s] of VERIFICATION_SENTENCES.entries()) {
      clips.push({ name: `${voice}#${i + 1}`, reference: s, pcm: await synthesize(s, synth, voice) });
    }
    sets.push([`${synth} ${voice}`, clips]);
  }
  sets.push(["human: librivox (pocketsphinx-testdata)", testdataClips("librivox")]);
  sets.push(["human: cards (pocketsphinx-testdata)", testdataClips("cards")]);

  const t0 = performance.now();
  const optArg = process.argv.indexOf("--opts");
  const decoderOptions =
    optArg > 0 ? (JSON.parse(process.argv[optArg + 1] ?? "{}") as Record<string, string>) : {};
  const recognizer = await createPocketSphinxRecognizer({ decoderOptions });
  const pid = recognizer.pid ?? 0;
  console.log(
    `worker model load: ${((performance.now() - t0) / 1000).toFixed(2)} s wall, ${processCpuSeconds(pid).toFixed(2)} s CPU`,
  );
  try {
    for (const [title, clips] of sets) {
      const rows: Row[] = [];
      for (const clip of clips) rows.push(await viaWorker(recognizer, clip));
      report(`worker, ${title}`, rows);
      if (withCli) {
        const cli: Row[] = [];
        for (const clip of clips) cli.push(await viaCli(clip));
        report(`CLI, ${title}`, cli);
      }
    }
    // Closed answers with a grammar: yes / no.
    const yn: Row[] = [];
    for (const [synth, voice] of voices) {
      for (const s of ["yes", "no", "yes I do", "no I don't"]) {
        const clip = { name: `${voice}`, reference: s, pcm: await synthesize(s, synth, voice) };
        yn.push(await viaWorker(recognizer, clip, YES_NO_HINTS));
      }
    }
    report(`worker with hints ${JSON.stringify(YES_NO_HINTS)}`, yn);
  } finally {
    await recognizer.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await main();
}
