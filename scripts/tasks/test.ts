/**
 * `npm test`: the whole suite in one vitest run (workerd through Miniflare, the real
 * tokenization service, real TLS). Set-up (dev certificates, Worker bundles) happens inside the
 * suite's harness, so a fresh clone needs nothing else.
 */
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { REPO } from "../lib/platform.ts";

const vitest = join(dirname(createRequire(import.meta.url).resolve("vitest/package.json")), "vitest.mjs");
const result = spawnSync(process.execPath, [vitest, "run", ...process.argv.slice(2)], {
  cwd: REPO,
  stdio: "inherit",
  env: { ...process.env, CLOUDFLARE_CF_FETCH_ENABLED: "false", WRANGLER_SEND_METRICS: "false" },
});
process.exit(result.status ?? 1);
