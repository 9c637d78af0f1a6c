/**
 * `npm run check`: format and lint (Biome), generated binding types up to date
 * (`wrangler types --check`), the type checker, then the tests — what CI relies on.
 */
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { REPO } from "../lib/platform.ts";

const require = createRequire(import.meta.url);
const bin = (pkg: string, file: string) => join(dirname(require.resolve(`${pkg}/package.json`)), file);
const typesArgs = (
  JSON.parse(require("node:fs").readFileSync(join(REPO, "package.json"), "utf8")) as {
    scripts: { types: string };
  }
).scripts.types
  .split(" ")
  .slice(2);

const steps: [string, string[]][] = [
  ["biome", [join(REPO, "node_modules", ".bin", "biome"), "ci", "."]],
  ["wrangler types --check", [bin("wrangler", "bin/wrangler.js"), "types", ...typesArgs, "--check"]],
  ["tsc", [bin("typescript", "bin/tsc"), "-p", "tsconfig.json", "--noEmit"]],
  ["tsc (widget, DOM types)", [bin("typescript", "bin/tsc"), "-p", "widget/tsconfig.json", "--noEmit"]],
  [
    "tsc (e2e page scripts, DOM types)",
    [bin("typescript", "bin/tsc"), "-p", "test/e2e/page/tsconfig.json", "--noEmit"],
  ],
  ["tests", [join(REPO, "scripts", "tasks", "test.ts")]],
];

for (const [name, [cmd, ...args]] of steps) {
  console.log(`\n▶ ${name}`);
  const isNodeScript = cmd?.endsWith(".js") || cmd?.endsWith(".ts") || cmd?.endsWith("tsc");
  const result = spawnSync(
    isNodeScript ? process.execPath : (cmd ?? ""),
    isNodeScript ? [cmd ?? "", ...args] : args,
    {
      cwd: REPO,
      stdio: "inherit",
      env: {
        ...process.env,
        CLOUDFLARE_CF_FETCH_ENABLED: "false",
        WRANGLER_SEND_METRICS: "false",
        XDG_CONFIG_HOME: join(REPO, ".dev", "xdg"),
      },
    },
  );
  if (result.status !== 0) {
    console.error(`✗ ${name} failed`);
    process.exit(result.status ?? 1);
  }
}
console.log("\n✓ all checks passed");
