/**
 * What every analyzer Worker shares besides the contract: typed errors that survive RPC, the
 * feature-vector description each `workers/analyzer-<name>/vector.ts` fills in, aggregation
 * helpers, and the assembly of an `AnalyzerResult` from model outputs. Pure TypeScript with no
 * runtime dependency on ONNX Runtime, so `models/<name>/build.ts` and the tests can import the
 * same vector definitions in Node (one source of truth for feature order; house-style 7).
 *
 * How errors cross RPC: a Worker RPC call re-throws the callee's exception in the caller as a
 * plain `Error` whose `message` is preserved, but subclass identity and custom properties are not
 * a stable part of that serialisation. Analyzers therefore throw `AnalyzerError`, whose message is
 * always `"<ERR_CODE>: <detail>"`; callers recover the code with `analyzerErrorCode(err)`. The
 * detail names offending fields only, never their values (house-style 14: never log payloads).
 */
import {
  ANALYZER_ERROR_CODES,
  type AnalyzerErrorCode,
  type AnalyzerName,
  type AnalyzerResult,
  AnalyzerResultSchema,
} from "./analyzer-contract.ts";

/** An analyzer failure whose message starts with its stable code (see header). */
export class AnalyzerError extends Error {
  readonly code: AnalyzerErrorCode;
  constructor(code: AnalyzerErrorCode, detail: string) {
    super(`${code}: ${detail}`);
    this.name = "AnalyzerError";
    this.code = code;
  }
}

/** The code of an error thrown by an analyzer, locally or across RPC; null for anything else. */
export function analyzerErrorCode(err: unknown): AnalyzerErrorCode | null {
  if (!(err instanceof Error)) return null;
  const prefix = err.message.split(":", 1)[0] ?? "";
  return (ANALYZER_ERROR_CODES as readonly string[]).includes(prefix) ? (prefix as AnalyzerErrorCode) : null;
}

/** One model input. `extract` returns null when the slice holds no evidence for it. */
export interface Feature<S> {
  /** stable snake_case name, also written into the model's metadata */
  readonly name: string;
  /** reason code the fusion layer shows; key of the signal in `AnalyzerResult.signals` */
  readonly reasonCode: string;
  readonly unit: string;
  readonly description: string;
  /**
   * Value used when `extract` returns null: a typical genuine-session value, so missing
   * evidence moves the logit little (first-version models standardise around it).
   */
  readonly neutral: number;
  extract(slice: S): number | null;
}

/** The ordered feature list of one analyzer plus how much evidence a slice carries. */
export interface AnalyzerVector<S> {
  readonly analyzer: AnalyzerName;
  readonly features: readonly Feature<S>[];
  /** usable units of evidence (windows, turns, signal groups) and how many make a full picture */
  evidence(slice: S): { usable: number; target: number };
}

export interface BuiltVector {
  values: Float32Array;
  /** per feature: did the slice carry evidence for it */
  present: boolean[];
}

/** Extracts the fixed-length vector in declaration order; non-finite values count as missing. */
export function buildVector<S>(vector: AnalyzerVector<S>, slice: S): BuiltVector {
  const values = new Float32Array(vector.features.length);
  const present: boolean[] = [];
  vector.features.forEach((f, i) => {
    const v = f.extract(slice);
    const ok = v !== null && Number.isFinite(v);
    values[i] = ok ? v : f.neutral;
    present.push(ok);
  });
  return { values, present };
}

/**
 * Confidence reflects evidence, not the score: the share of a full picture the slice gives
 * (usable / target, capped at 1) times the share of features with real values.
 */
export function confidenceOf<S>(vector: AnalyzerVector<S>, slice: S, present: readonly boolean[]): number {
  const { usable, target } = vector.evidence(slice);
  const coverage = target > 0 ? Math.min(1, usable / target) : 0;
  const filled = present.length > 0 ? present.filter(Boolean).length / present.length : 0;
  return round(coverage * filled, 4);
}

export interface ModelOutputs {
  score: number;
  contributions: ArrayLike<number>;
}

/** Assembles and validates the result; a malformed model output is a model error, not input. */
export function assembleResult<S>(
  vector: AnalyzerVector<S>,
  slice: S,
  built: BuiltVector,
  outputs: ModelOutputs,
  modelVersion: string,
  latencyMs: number,
): AnalyzerResult {
  const signals: AnalyzerResult["signals"] = {};
  vector.features.forEach((f, i) => {
    signals[f.reasonCode] = {
      value: round(built.values[i] ?? f.neutral, 6),
      contribution: round(outputs.contributions[i] ?? 0, 6),
    };
  });
  const parsed = AnalyzerResultSchema.safeParse({
    analyzer: vector.analyzer,
    score: outputs.score,
    confidence: confidenceOf(vector, slice, built.present),
    modelVersion,
    latencyMs: Math.max(0, latencyMs),
    signals,
  });
  if (!parsed.success) throw new AnalyzerError("ERR_ANALYZER_MODEL", "model output failed the result schema");
  return parsed.data;
}

// ---- aggregation helpers used by the vector definitions ------------------------------------

function round(v: number, digits: number): number {
  const k = 10 ** digits;
  return Math.round(v * k) / k;
}

/** Non-null, finite values only. */
export function finite(values: readonly (number | null | undefined)[]): number[] {
  return values.filter((v): v is number => typeof v === "number" && Number.isFinite(v));
}

export function mean(values: readonly (number | null | undefined)[]): number | null {
  const xs = finite(values);
  return xs.length === 0 ? null : xs.reduce((a, b) => a + b, 0) / xs.length;
}

export function max(values: readonly (number | null | undefined)[]): number | null {
  const xs = finite(values);
  return xs.length === 0 ? null : Math.max(...xs);
}

export function median(values: readonly (number | null | undefined)[]): number | null {
  const xs = finite(values).sort((a, b) => a - b);
  if (xs.length === 0) return null;
  const mid = xs.length >> 1;
  return xs.length % 2 === 1 ? (xs[mid] ?? null) : ((xs[mid - 1] ?? 0) + (xs[mid] ?? 0)) / 2;
}

/** Coefficient of variation (population std / mean); null for fewer than `minCount` values. */
export function cv(values: readonly (number | null | undefined)[], minCount = 3): number | null {
  const xs = finite(values);
  const m = mean(xs);
  if (xs.length < minCount || m === null || m <= 0) return null;
  const variance = xs.reduce((a, x) => a + (x - m) ** 2, 0) / xs.length;
  return Math.sqrt(variance) / m;
}

/** Share of items matching `predicate`; null for an empty list. */
export function ratio<T>(items: readonly T[], predicate: (item: T) => boolean): number | null {
  return items.length === 0 ? null : items.filter(predicate).length / items.length;
}
