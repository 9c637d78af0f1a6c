/**
 * Where the evaluation corpus lives. A module of its own because scripts/corpus/build.ts runs its
 * work under a top-level `await main()` and then imports the scenario builder: a value imported
 * back from build.ts would wait for build.ts to finish evaluating, which waits for that import — a
 * top-level-await cycle that Node ends with exit code 13 ("unsettled top-level await").
 */
import { join } from "node:path";
import { REPO } from "../lib/platform.ts";

export const CORPUS_DIR = join(REPO, ".dev", "corpus");
export const FEATURES_FILE = join(CORPUS_DIR, "features.jsonl");
export const MANIFEST_FILE = join(REPO, "docs", "evaluation", "corpus-manifest.json");
