/**
 * Where the scenario corpus lives and the shape of one session row, apart from the builder so
 * that trainers, the evaluation section and tests can read the corpus without loading the
 * tokenization service's engines (scripts/corpus/scenarios/build.ts writes the rows).
 */
import { join, resolve } from "node:path";
import type { AnalyzerInputs } from "../../../lib/analyzer-contract.ts";
import type { PlannedSession, ScenarioAnalyzer } from "./plan.ts";

const REPO = resolve(import.meta.dirname, "..", "..", "..");
export const SCENARIO_DIR = join(REPO, ".dev", "corpus", "scenarios");
export const SESSIONS_FILE = join(SCENARIO_DIR, "sessions.jsonl");

/** One line of sessions.jsonl. */
export interface ScenarioRow {
  id: string;
  kind: PlannedSession["kind"];
  split: PlannedSession["split"];
  voice: string;
  helpers: string[];
  clip: string;
  labels: PlannedSession["labels"];
  slices: Pick<AnalyzerInputs, ScenarioAnalyzer>;
  /** each analyzer's vector in its vector.ts order; missing evidence = the feature's neutral value */
  vectors: Record<ScenarioAnalyzer, number[]>;
}
