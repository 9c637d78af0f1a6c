/**
 * The labelled session-scenario corpus for the five non-liveness analyzers (issue 5, "session
 * scenarios"), as a deterministic plan: every session with its kind, split, voice(s), the spoken
 * turns it contains and the labels it carries per analyzer. Same seed → same plan → same audio
 * recipes → same tokenizer input (scripts/corpus/scenarios/build.ts runs it).
 *
 * Identity and splits: a session's speaker is a synthetic voice (espeak-ng voice + variant, or a
 * flite voice) and its video comes from one webcam clip (scripts/corpus/plan.ts SOURCES); each
 * split owns its voices and its clip, so no voice, clip or helper voice (coach, babble) is on two
 * sides (`assertScenarioDisjoint`). Metadata-only signals (device, network, interaction) are drawn
 * from labelled distributions by scripts/corpus/scenarios/metadata.ts with a per-session seed.
 *
 * Labels: 1 = risky along that analyzer's dimension, 0 = not, absent = the kind says nothing about
 * it (excluded from that analyzer's training and metrics). Other analyzers' attack kinds are
 * negatives, so every model must also not fire on the wrong kind of risk.
 */
import type { AnalyzerName } from "../../../lib/analyzer-contract.ts";
import { seededRandom } from "../../lib/seeded-random.ts";
import type { ClipId, Split } from "../plan.ts";

export const SCENARIO_SEED = 20261127;
export type ScenarioAnalyzer = Exclude<AnalyzerName, "liveness">;
export const SCENARIO_ANALYZERS: readonly ScenarioAnalyzer[] = [
  "coercion",
  "environment",
  "behavior",
  "device_risk",
  "conversation",
];
/** Each scenario analyzer's folder under models/ (train.ts, trained.json, model.onnx, card.md). */
export const MODEL_FOLDER: Record<ScenarioAnalyzer, string> = {
  coercion: "coercion",
  environment: "environment",
  behavior: "behavior",
  device_risk: "device-risk",
  conversation: "conversation",
};

export type Kind =
  | "genuine"
  | "coached"
  | "duress"
  | "call-centre"
  | "virtual-background"
  | "locale-mismatch"
  | "bot"
  | "baseline-anomaly"
  | "automation"
  | "datacenter"
  | "impossible-travel"
  | "scripted"
  | "evasive";

/** Labels per kind (see header). Genuine carries 0 everywhere. */
export const LABELS: Record<Kind, Partial<Record<ScenarioAnalyzer, 0 | 1>>> = {
  genuine: {},
  coached: { coercion: 1 },
  duress: { coercion: 1 },
  "call-centre": { environment: 1 },
  "virtual-background": { environment: 1 },
  // a browser clock far from the IP's zone is both an environment and a device-risk tell
  "locale-mismatch": { environment: 1, device_risk: 1 },
  bot: { behavior: 1 },
  "baseline-anomaly": { behavior: 1 },
  automation: { device_risk: 1 },
  datacenter: { device_risk: 1 },
  "impossible-travel": { device_risk: 1 },
  scripted: { conversation: 1 },
  evasive: { conversation: 1 },
};

/** Kinds whose audio is an ordinary genuine session's (their risk is in metadata only). */
export const METADATA_ONLY: ReadonlySet<Kind> = new Set<Kind>([
  "bot",
  "baseline-anomaly",
  "automation",
  "datacenter",
  "impossible-travel",
]);

/** Sessions per kind and split; genuine sessions are three units. */
const PER_KIND: Record<Split, number> = { train: 5, validation: 4, test: 5 };
const GENUINE_UNITS = 3;

export type Engine = "espeak" | "flite";
export interface Voice {
  id: string;
  engine: Engine;
  /** espeak-ng `-v` argument or flite `-voice` */
  name: string;
  /** espeak-ng base pitch 0..99 (ignored by flite) */
  pitch: number;
}

const espeak = (name: string, pitch: number): Voice => ({
  id: `espeak:${name}`,
  engine: "espeak",
  name,
  pitch,
});
const flite = (name: string): Voice => ({ id: `flite:${name}`, engine: "flite", name, pitch: 50 });

/** Speakers per split (disjoint); the first voices speak, the rest coach and babble. */
export const VOICES: Record<Split, Voice[]> = {
  train: [espeak("en-us+m1", 45), espeak("en-gb+f2", 60), flite("kal"), espeak("en+m3", 40)],
  validation: [espeak("en-gb-scotland+m2", 50), flite("rms"), espeak("en-gb-x-rp+f3", 62)],
  test: [espeak("en-029+m4", 48), flite("slt"), espeak("en-gb-x-gbclan+f4", 58), espeak("en-us+m7", 42)],
};

/** The webcam clip whose tokenized windows give each split's video (scripts/corpus/plan.ts). */
export const CLIP: Record<Split, ClipId> = { train: "cap12", validation: "cap13", test: "franck" };

/** Conversation prompts and the answers the synthetic speakers give (nothing from real people). */
export const QUESTIONS = [
  {
    prompt: "What is your year of birth?",
    answers: ["I was born in nineteen eighty four", "nineteen ninety one", "it is nineteen seventy six"],
    scripted:
      "my year of birth is nineteen eighty four and I was born in the city of Graz where I also went to school",
    terms: [] as string[],
  },
  {
    prompt: "Are you opening this account for yourself?",
    answers: ["yes I am", "yes it is for me", "yes of course"],
    scripted: "yes I am opening this account for myself and nobody else has asked me to open it for them",
    terms: [],
  },
  {
    prompt: "What will you use the account for?",
    answers: ["for my salary", "savings and paying the rent", "mostly for my salary"],
    scripted:
      "I will use the account for my salary and for my savings and to pay the rent every month as usual",
    terms: ["salary", "savings", "rent"],
  },
] as const;

export const REFUSALS = ["I would rather not say", "I don't want to answer that", "no comment"];
export const COACHING = ["say yes", "tell them it is for you", "just read the answer", "say salary"];
export const BABBLE = [
  "thank you for calling how can I help you today",
  "please hold the line while I check your account",
  "can you confirm the card number for me",
  "your reference number is four five two one",
];

export interface PlannedTurn {
  question: number;
  /** "answer" (with a pause between phrases when `split` > 0), "scripted", "refusal", "none" */
  reply: "answer" | "scripted" | "refusal" | "none";
  text: string;
  /** ms from the end of the prompt to the reply */
  latencyMs: number;
  /** where a genuine answer's phrases break (word index) and the pause there, ms; 0 = no break */
  breakAt: number;
  pauseMs: number;
  /** atempo factor applied to the synthesised reply */
  tempo: number;
  /** whispered coaching placed before the reply (coached sessions) */
  coach: string | null;
}

export interface PlannedSession {
  id: string;
  kind: Kind;
  split: Split;
  voice: Voice;
  /** second voice: coach (coached) or the babble voices (call-centre) */
  helpers: Voice[];
  clip: ClipId;
  seed: number;
  turns: PlannedTurn[];
  labels: Partial<Record<ScenarioAnalyzer, 0 | 1>>;
}

/** Stable per-session seed (FNV-1a of the id, mixed with the corpus seed). */
export function seedOf(id: string, seed: number): number {
  let h = 0x811c9dc5 ^ seed;
  for (let i = 0; i < id.length; i++) {
    h ^= id.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

export const pick = <T>(random: () => number, xs: readonly T[]): T =>
  xs[Math.floor(random() * xs.length) % xs.length] as T;
const between = (random: () => number, lo: number, hi: number): number => lo + (hi - lo) * random();

function turnsOf(kind: Kind, random: () => number): PlannedTurn[] {
  const fixedLatency = between(random, 350, 500);
  return QUESTIONS.map((q, question) => {
    const base: PlannedTurn = {
      question,
      reply: "answer",
      text: pick(random, q.answers),
      latencyMs: Math.round(between(random, 600, 2600)),
      breakAt: 0,
      pauseMs: 0,
      tempo: between(random, 0.9, 1.1),
      coach: null,
    };
    const words = base.text.split(" ").length;
    if (words >= 3 && random() < 0.7) {
      base.breakAt = 1 + Math.floor(random() * (words - 2));
      base.pauseMs = Math.round(between(random, 400, 900));
    }
    if (kind === "scripted") {
      // read aloud from a prepared script: long fluent runs, evenly timed starts, a fast rate
      return {
        ...base,
        reply: "scripted",
        text: q.scripted,
        latencyMs: Math.round(fixedLatency + between(random, -30, 30)),
        breakAt: 0,
        pauseMs: 0,
        tempo: between(random, 1.15, 1.3),
      };
    }
    if (kind === "evasive" && (question !== 0 || random() < 0.5)) {
      return random() < 0.3
        ? { ...base, reply: "none", text: "", breakAt: 0, pauseMs: 0 }
        : { ...base, reply: "refusal", text: pick(random, REFUSALS), breakAt: 0, pauseMs: 0 };
    }
    if (kind === "coached") {
      return { ...base, coach: pick(random, COACHING), latencyMs: Math.round(between(random, 2500, 5500)) };
    }
    if (kind === "duress") return { ...base, latencyMs: Math.round(between(random, 2200, 6000)) };
    return base;
  });
}

export function planScenarios(seed = SCENARIO_SEED): PlannedSession[] {
  const out: PlannedSession[] = [];
  const kinds = Object.keys(LABELS) as Kind[];
  for (const split of ["train", "validation", "test"] as const) {
    const voices = VOICES[split];
    for (const kind of kinds) {
      const count = PER_KIND[split] * (kind === "genuine" ? GENUINE_UNITS : 1);
      for (let n = 0; n < count; n++) {
        const id = `${split}-${kind}-${String(n).padStart(2, "0")}`;
        const s = seedOf(id, seed);
        const random = seededRandom(s);
        const voice = voices[n % voices.length] as Voice;
        const others = voices.filter((v) => v.id !== voice.id);
        const helpers =
          kind === "coached" ? [pick(random, others)] : kind === "call-centre" ? others.slice(0, 2) : [];
        const labels: Partial<Record<ScenarioAnalyzer, 0 | 1>> = {};
        for (const a of SCENARIO_ANALYZERS) labels[a] = LABELS[kind][a] ?? 0;
        out.push({
          id,
          kind,
          split,
          voice,
          helpers,
          clip: CLIP[split],
          seed: s,
          turns: turnsOf(kind, random),
          labels,
        });
      }
    }
  }
  assertScenarioDisjoint(out);
  return out;
}

/** No voice (speaker, coach or babble) and no clip may appear in two splits. */
export function assertScenarioDisjoint(sessions: readonly PlannedSession[]): void {
  const owner = new Map<string, Split>();
  for (const s of sessions) {
    for (const source of [s.voice.id, ...s.helpers.map((h) => h.id), `clip:${s.clip}`]) {
      const seen = owner.get(source);
      if (seen && seen !== s.split) throw new Error(`${source} appears in ${seen} and ${s.split}`);
      owner.set(source, s.split);
    }
  }
}
