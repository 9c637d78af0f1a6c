/**
 * Builds the labelled session-scenario corpus (scripts/corpus/scenarios/plan.ts) into the
 * git-ignored `.dev/corpus/scenarios/sessions.jsonl`, one session per line with its labels and
 * the five analyzers' slices and feature vectors. `npm run corpus` calls `buildScenarios()` after
 * the liveness corpus (whose tokenized bona fide windows are the sessions' video); alone:
 * `node scripts/corpus/scenarios/build.ts [--limit N]`.
 *
 * The path is the production one wherever media exist: session audio (audio.ts) is cut into
 * one-second windows and each goes through the tokenization service's `tokenize()` as a batch;
 * video windows come from video.ts (tokenized by the same service); the reply transcript comes
 * from the service's PocketSphinx recognizer. Conversation turns are reduced from the windows
 * exactly as the session DO does (durable-objects/session/conversation-node.ts
 * `ConversationNode.progress`, evasiveness by `isEvasive` of conversation.ts), and the five slices are
 * cut by the DO's own `buildSlices` (durable-objects/session/slices.ts).
 *
 * One deliberate shortcut, to fit the recognizer (≈ 3 s per reply on a 2-core machine) into the
 * budget: the transcript of a reply is computed once per (voice, answer text) on the clean
 * synthesised answer and reused, instead of on each session's mixed audio.
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { isEvasive, mentions, words } from "../../../durable-objects/session/conversation.ts";
import { buildSlices, type ConversationTurn } from "../../../durable-objects/session/slices.ts";
import { buildVector } from "../../../lib/analyzer-runtime.ts";
import { FEATURES_SCHEMA, type WindowFeatures } from "../../../lib/features.ts";
import { encodeBatch } from "../../../lib/tokenizer-batch.ts";
import { createPocketSphinxRecognizer } from "../../../services/tokenizer/asr/pocketsphinx.ts";
import { noFaceEngine } from "../../../services/tokenizer/features/face.ts";
import { createHumanFaceEngine } from "../../../services/tokenizer/features/face-human.ts";
import { imageEngine } from "../../../services/tokenizer/features/image.ts";
import { type FeatureEngines, tokenize } from "../../../services/tokenizer/tokenize.ts";
import { seededRandom } from "../../lib/seeded-random.ts";
import { ensureTestMedia } from "../../lib/test-media.ts";
import type { CorpusRow } from "../build.ts";
import { FEATURES_FILE } from "../paths.ts";
import { FRAMES } from "../plan.ts";
import { runShards } from "../shards.ts";
import { RATE, type SessionAudio, sessionAudio, shape, synthesise } from "./audio.ts";
import { metadataOf } from "./metadata.ts";
import {
  CLIP,
  METADATA_ONLY,
  type PlannedSession,
  planScenarios,
  QUESTIONS,
  SCENARIO_SEED,
  type ScenarioAnalyzer,
} from "./plan.ts";
import { applyRepetition } from "./repetition.ts";
import { SCENARIO_DIR, type ScenarioRow, SESSIONS_FILE } from "./rows.ts";
import { SCENARIO_VECTORS } from "./vectors.ts";
import { type VideoKind, type VideoPools, videoPools } from "./video.ts";

function audioWindow(pcm: Int16Array, w: number, seq: number): Uint8Array {
  const chunk = pcm.subarray(w * RATE, (w + 1) * RATE);
  const bytes = new Uint8Array(chunk.length * 2);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < chunk.length; i++) view.setInt16(i * 2, chunk[i] ?? 0, true);
  return encodeBatch(
    {
      tenantId: "tenant-corpus",
      sessionId: "corpus-scenario-audio",
      seq,
      startMs: w * 1000,
      endMs: (w + 1) * 1000,
      frames: [],
      audio: {
        tsMs: w * 1000,
        encoding: "pcm_s16le",
        sampleRate: 16000,
        offset: 0,
        length: bytes.byteLength,
      },
      wantFingerprint: false,
    },
    [bytes],
  );
}

/** Transcript of a reply's clean voice track, cached per (voice, text) (see header). */
async function transcriptOf(
  s: PlannedSession,
  text: string,
  engines: FeatureEngines,
  cache: Map<string, string>,
) {
  const key = `${s.voice.id}|${text}`;
  const hit = cache.get(key);
  if (hit !== undefined) return hit;
  const pcm = await shape(
    join(SCENARIO_DIR, "audio"),
    await synthesise(join(SCENARIO_DIR, "audio"), s.voice, text),
    [],
  );
  const bytes = new Uint8Array(pcm.buffer.slice(0));
  const hints = [...QUESTIONS.flatMap((q) => [...q.answers, q.scripted])];
  const body = encodeBatch(
    {
      tenantId: "tenant-corpus",
      sessionId: "corpus-scenario-asr",
      seq: 0,
      startMs: 0,
      endMs: Math.ceil((pcm.length * 1000) / RATE),
      frames: [],
      audio: { tsMs: 0, encoding: "pcm_s16le", sampleRate: 16000, offset: 0, length: bytes.byteLength },
      wantFingerprint: false,
      transcribe: { hints },
    },
    [bytes],
  );
  // A null transcript means the recognizer failed (on a loaded machine: its timeout), not silence;
  // retry rather than record a spoken answer as an empty, evasive one.
  for (let attempt = 0; attempt < 3; attempt++) {
    const reply = await tokenize(body.slice(), engines);
    if (reply.transcript) {
      cache.set(key, reply.transcript.text);
      return reply.transcript.text;
    }
  }
  throw new Error(`speech recognition failed three times for ${s.id}`);
}

/** The DO's turn reduction over one turn's windows (conversation-node.ts ConversationNode.progress). */
function turnOf(windows: WindowFeatures[], text: string, question: number): ConversationTurn {
  let latencyMs: number | null = null;
  let speechMs = 0;
  let pauses = 0;
  let speechWindows = 0;
  for (const [i, w] of windows.entries()) {
    const a = w.audio;
    if (a && a.speechRatio >= 0.1) {
      if (latencyMs === null) latencyMs = Math.max(0, (a.speechSegments[0]?.startMs ?? 0) + i * 1000);
      speechWindows++;
      speechMs += a.speechRatio * a.durationMs;
      pauses += Math.max(0, a.speechSegments.length - 1);
    }
  }
  const terms = QUESTIONS[question]?.terms ?? [];
  const reply = { spoke: speechWindows > 0, text: speechWindows > 0 ? text : "", recognized: true };
  const outcome =
    terms.length > 0 && mentions(reply.text, terms) ? `mentions:${terms.join(",")}` : "fallback";
  return { latencyMs, speechMs, pauses, words: words(reply.text).length, evasive: isEvasive(reply, outcome) };
}

function videoKindOf(s: PlannedSession, r: () => number, coachVisible: boolean): VideoKind {
  if (s.kind === "virtual-background") return "virtual-background";
  if (s.kind === "coached" && coachVisible && r() < 0.6) return "second-face";
  if (s.kind === "baseline-anomaly" && r() < 0.5) return "frozen";
  return "live";
}

async function sessionRow(
  s: PlannedSession,
  audio: SessionAudio,
  audioWindows: WindowFeatures["audio"][],
  transcripts: string[],
  pools: VideoPools,
): Promise<ScenarioRow> {
  const r = seededRandom(s.seed ^ 0x71de0);
  const coachVisible = r() < 0.5;
  const windows: WindowFeatures[] = audioWindows.map((a, seq) => {
    const pool = pools[s.split][videoKindOf(s, r, coachVisible)];
    const v = pool[Math.floor(r() * pool.length)] ?? { face: null, image: null };
    return {
      schema: FEATURES_SCHEMA,
      seq,
      startMs: seq * 1000,
      endMs: (seq + 1) * 1000,
      face: v.face,
      image: v.image,
      audio: a,
    };
  });
  const turns = audio.turns.map((t, i) =>
    turnOf(
      windows.slice(t.startWindow, t.startWindow + t.windows),
      transcripts[i] ?? "",
      s.turns[i]?.question ?? 0,
    ),
  );
  const meta = metadataOf(s, windows.length);
  const slices = buildSlices({
    windows,
    challenges: { issued: 0, passed: 0 },
    device: meta.device,
    network: meta.network,
    behavior: meta.behavior,
    turns,
    sessionSeconds: windows.length,
  });
  const picked = {
    coercion: slices.coercion,
    environment: slices.environment,
    behavior: slices.behavior,
    device_risk: slices.device_risk,
    conversation: slices.conversation,
  };
  const vectors = {} as ScenarioRow["vectors"];
  for (const [name, vector] of Object.entries(SCENARIO_VECTORS) as [
    ScenarioAnalyzer,
    (typeof SCENARIO_VECTORS)[ScenarioAnalyzer],
  ][]) {
    const built = buildVector(vector as never, picked[name] as never);
    vectors[name] = Array.from(built.values, (v) => Number(v.toPrecision(7)));
  }
  return {
    id: s.id,
    kind: s.kind,
    split: s.split,
    voice: s.voice.id,
    helpers: s.helpers.map((h) => h.id),
    clip: s.clip,
    labels: s.labels,
    slices: picked,
    vectors,
  };
}

const POOLS_FILE = join(SCENARIO_DIR, "video-pools.json");
const VIDEO_TS = join(import.meta.dirname, "video.ts");

/** Sessions of one shard: sharded by speaker voice so each shard's transcript cache is its own. */
async function buildShard(
  all: PlannedSession[],
  plan: PlannedSession[],
  shard: number,
  shards: number,
): Promise<void> {
  const { pools } = JSON.parse(readFileSync(POOLS_FILE, "utf8")) as { pools: VideoPools };
  const voices = [...new Set(all.map((s) => s.voice.id))].sort();
  const mine = plan.filter((s) => voices.indexOf(s.voice.id) % shards === shard);
  const asr = await createPocketSphinxRecognizer();
  const engines: FeatureEngines = { image: imageEngine, face: noFaceEngine, fingerprint: null, asr };
  const audioOnly: FeatureEngines = { ...engines, asr: null };
  const asrFile = join(SCENARIO_DIR, `transcripts.shard-${shard}.json`);
  const cache = new Map<string, string>(
    existsSync(asrFile) ? Object.entries(JSON.parse(readFileSync(asrFile, "utf8"))) : [],
  );
  const byCarrier = new Map<
    string,
    { audio: SessionAudio; windows: WindowFeatures["audio"][]; transcripts: string[] }
  >();
  const out: string[] = [];
  try {
    for (const [n, s] of mine.entries()) {
      // metadata-only kinds speak like the genuine session with the same number (their carrier)
      const carrier = METADATA_ONLY.has(s.kind)
        ? (all.find((c) => c.id === s.id.replace(s.kind, "genuine")) ?? s)
        : s;
      let tokenized = byCarrier.get(carrier.id);
      if (!tokenized) {
        const audio = await sessionAudio(join(SCENARIO_DIR, "audio"), carrier);
        const windows: WindowFeatures["audio"][] = [];
        for (let w = 0; w * RATE < audio.pcm.length; w++) {
          windows.push((await tokenize(audioWindow(audio.pcm, w, w), audioOnly)).features.audio);
        }
        const transcripts: string[] = [];
        for (const t of carrier.turns) {
          transcripts.push(t.reply === "none" ? "" : await transcriptOf(carrier, t.text, engines, cache));
        }
        tokenized = { audio, windows, transcripts };
        byCarrier.set(carrier.id, tokenized);
      }
      out.push(
        JSON.stringify(await sessionRow(s, tokenized.audio, tokenized.windows, tokenized.transcripts, pools)),
      );
      if ((n + 1) % 20 === 0) process.stderr.write(`scenarios shard ${shard}: ${n + 1}/${mine.length}\n`);
    }
  } finally {
    await asr.close();
    writeFileSync(asrFile, JSON.stringify(Object.fromEntries(cache)));
  }
  writeFileSync(join(SCENARIO_DIR, `sessions.shard-${shard}.jsonl`), `${out.join("\n")}\n`);
}

/** The whole corpus: video pools here, sessions in two child processes, merged in plan order. */
export async function buildScenarios(limit = 0): Promise<void> {
  const t0 = performance.now();
  const all = planScenarios(SCENARIO_SEED);
  const plan = limit > 0 ? all.filter((_, i) => i % Math.ceil(all.length / limit) === 0) : all;
  if (!existsSync(FEATURES_FILE))
    throw new Error(`${FEATURES_FILE} missing: the scenarios reuse the liveness corpus windows`);
  const media = ensureTestMedia();
  if (!media) throw new Error("test media unavailable");
  mkdirSync(SCENARIO_DIR, { recursive: true });
  const rows = readFileSync(FEATURES_FILE, "utf8")
    .split("\n")
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as CorpusRow);
  // the pools depend only on the liveness corpus rows and video.ts's recipes: reuse them when unchanged
  const key = createHash("sha256")
    .update(readFileSync(FEATURES_FILE))
    .update(readFileSync(VIDEO_TS))
    .digest("hex");
  const previous = existsSync(POOLS_FILE)
    ? (JSON.parse(readFileSync(POOLS_FILE, "utf8")) as { key?: string })
    : {};
  if (previous.key !== key) {
    const face = await createHumanFaceEngine(FRAMES, 1);
    try {
      const pools = await videoPools(
        rows,
        media,
        { image: imageEngine, face, fingerprint: null },
        SCENARIO_DIR,
        CLIP,
      );
      writeFileSync(POOLS_FILE, JSON.stringify({ key, pools }));
    } finally {
      await face.close?.();
    }
  }
  process.stderr.write(`scenarios: video pools in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
  const shards = 2;
  await runShards(import.meta.filename, shards, limit, "scenario shard");
  const byId = new Map<string, string>();
  for (let i = 0; i < shards; i++) {
    const file = join(SCENARIO_DIR, `sessions.shard-${i}.jsonl`);
    for (const line of readFileSync(file, "utf8").split("\n"))
      if (line.trim()) byId.set((JSON.parse(line) as ScenarioRow).id, line);
    rmSync(file);
  }
  const lines = plan.map((s) => {
    const line = byId.get(s.id);
    if (!line) throw new Error(`no row for ${s.id}`);
    return line;
  });
  writeFileSync(SESSIONS_FILE, `${lines.join("\n")}\n`);
  // cross-session repetition needs every session's transcript, so it runs over the merged rows
  for (const s of applyRepetition()) process.stderr.write(`scenarios: repetition ${JSON.stringify(s)}\n`);
  process.stderr.write(
    `scenarios: ${plan.length} sessions in ${((performance.now() - t0) / 1000).toFixed(1)} s → ${SESSIONS_FILE}\n`,
  );
}

function parseArg(name: string): string | null {
  const i = process.argv.indexOf(name);
  return i >= 0 ? (process.argv[i + 1] ?? null) : null;
}

if (import.meta.main) {
  const limit = Number(parseArg("--limit") ?? "0");
  const shardArg = parseArg("--shard");
  if (shardArg) {
    const [i = "0", n = "1"] = shardArg.split("/");
    const all = planScenarios(SCENARIO_SEED);
    const plan = limit > 0 ? all.filter((_, k) => k % Math.ceil(all.length / limit) === 0) : all;
    await buildShard(all, plan, Number(i), Number(n));
  } else await buildScenarios(limit);
}
