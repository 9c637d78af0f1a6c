/**
 * Re-renders bench/results.md from bench/results.json without measuring again
 * (`node bench/render.ts`): for a change to the report's wording or verdicts, so the table and
 * the raw figures never come from two different runs.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { REPO } from "../scripts/lib/platform.ts";
import { type BenchResults, writeResults } from "./report.ts";

const results = JSON.parse(readFileSync(join(REPO, "bench", "results.json"), "utf8")) as BenchResults;
process.stdout.write(writeResults(results));
