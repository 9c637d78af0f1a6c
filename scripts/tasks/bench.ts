/**
 * `npm run bench`: the whole-platform benchmark (bench/run.ts, issue 8). Runs behind
 * scripts/run.mjs like every task, so a fresh clone gets Node ≥ 22.12, the npm packages and the
 * Debian packages the tokenizer needs (SoftHSM2, PocketSphinx, ffmpeg for the webcam clips)
 * before anything is measured. Arguments and BENCH_* variables pass through.
 */
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { REPO } from "../lib/platform.ts";

const result = spawnSync(process.execPath, [join(REPO, "bench", "run.ts"), ...process.argv.slice(2)], {
  cwd: REPO,
  stdio: "inherit",
  env: { ...process.env, CLOUDFLARE_CF_FETCH_ENABLED: "false", WRANGLER_SEND_METRICS: "false" },
});
process.exit(result.status ?? 1);
