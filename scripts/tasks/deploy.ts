/**
 * `npm run deploy [-- --dry-run]`: builds every Worker exactly as `wrangler deploy` uploads it
 * and checks each bundle against the Workers size limit (64 MiB uncompressed, platform-notes).
 * Without `--dry-run` it then deploys the six analyzers first (the edge binds them by name) and
 * the edge last, with the operator's own wrangler credentials (docs/deploy.md).
 */
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { ANALYZER_WORKERS } from "../lib/analyzer-workers.ts";
import { buildWidget } from "../lib/build-widget.ts";
import { bundleWorker } from "../lib/bundle-worker.ts";
import { REPO } from "../lib/platform.ts";

const LIMIT_BYTES = 64 * 1024 * 1024;
const dryRun = process.argv.includes("--dry-run");
const workers = [
  ...Object.values(ANALYZER_WORKERS).map((w) => ({
    name: w.workerName,
    config: join(REPO, w.folder, "wrangler.toml"),
  })),
  { name: "facet-edge", config: join(REPO, "wrangler.toml") },
];

// The edge bundle embeds the widget and hosted page (widget/dist, generated).
await buildWidget(true);
let ok = true;
const mib = (n: number) => `${(n / 1024 / 1024).toFixed(2)} MiB`;
for (const worker of workers) {
  const bundle = await bundleWorker(worker.config, join(REPO, "dist", "deploy", worker.name), true);
  const within = bundle.bytes <= LIMIT_BYTES;
  ok &&= within;
  console.log(
    `${within ? "✓" : "✗"} ${worker.name.padEnd(28)} ${mib(bundle.bytes).padStart(10)} of ${mib(LIMIT_BYTES)}  (${bundle.modules.length} modules)`,
  );
}
if (!ok) {
  console.error("A bundle is over the size limit.");
  process.exit(1);
}
if (dryRun) {
  console.log("Dry run: every Worker built and within the size limit; nothing was uploaded.");
  process.exit(0);
}
const wrangler = join(
  dirname(createRequire(import.meta.url).resolve("wrangler/package.json")),
  "bin",
  "wrangler.js",
);
for (const worker of workers) {
  const result = spawnSync(process.execPath, [wrangler, "deploy", "-c", worker.config], {
    cwd: REPO,
    stdio: "inherit",
  });
  if (result.status !== 0) process.exit(result.status ?? 1);
}
