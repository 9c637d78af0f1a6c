#!/usr/bin/env node
/**
 * The one entry behind `npm start`, `npm test`, `npm run check`, `npm run deploy` and `npm run bench`.
 *
 * Plain JavaScript on purpose: it must run on whatever Node the machine has. It makes sure a
 * Node >= 22.12 runs the rest (wrangler, vitest 5 and miniflare need it; the system Node here
 * may be 20), fetching one from the npm registry into `.dev/node` when needed, installs npm
 * dependencies when they are missing or older than the lock file, then hands over to the
 * TypeScript task in scripts/tasks/ (Node >= 22.18 strips types natively).
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const [task = "test", ...rest] = process.argv.slice(2);

function nodeIsRecent(version) {
  const [major, minor] = version.replace(/^v/, "").split(".").map(Number);
  return major > 22 || (major === 22 && minor >= 12);
}

function run(cmd, args, env = process.env) {
  const r = spawnSync(cmd, args, { cwd: root, stdio: "inherit", env });
  if (r.error) throw r.error;
  return r.status ?? 1;
}

if (!nodeIsRecent(process.version)) {
  const nodeDir = join(root, ".dev", "node");
  const nodeBin = join(nodeDir, "node_modules", "node", "bin");
  if (!existsSync(join(nodeBin, "node"))) {
    console.log(
      `Node ${process.version} is older than 22.12: installing Node 22 from the npm registry into .dev/node`,
    );
    mkdirSync(nodeDir, { recursive: true });
    const status = run("npm", [
      "install",
      "--prefix",
      nodeDir,
      "--no-audit",
      "--no-fund",
      "--no-save",
      "node@22",
    ]);
    if (status !== 0) process.exit(status);
  }
  const env = { ...process.env, PATH: `${nodeBin}:${process.env.PATH ?? ""}` };
  process.exit(run(join(nodeBin, "node"), [fileURLToPath(import.meta.url), task, ...rest], env));
}

// Debian packages each task needs (the machine's package manager, like npm for npm packages).
const RUNTIME_APT = ["openssl", "ca-certificates", "softhsm2", "python3-pocketsphinx", "pocketsphinx-en-us"];
const TEST_APT = ["chromium", "ffmpeg", "espeak-ng", "flite", "pocketsphinx-testdata"];
const APT = {
  start: RUNTIME_APT,
  session: RUNTIME_APT,
  bench: [...RUNTIME_APT, "ffmpeg"],
  test: [...RUNTIME_APT, ...TEST_APT],
  check: [...RUNTIME_APT, ...TEST_APT],
};

function ensureDebianPackages(packages) {
  if (!packages || spawnSync("dpkg-query", ["--version"], { stdio: "ignore" }).status !== 0) return;
  const missing = packages.filter(
    (p) =>
      !spawnSync("dpkg-query", ["-W", `-f=\${Status}`, p], { encoding: "utf8" }).stdout?.includes(
        "install ok installed",
      ),
  );
  if (missing.length === 0) return;
  if (process.getuid?.() !== 0) {
    console.warn(
      `Missing Debian packages: ${missing.join(" ")}\n  install them with: sudo apt-get install -y ${missing.join(" ")}`,
    );
    return;
  }
  console.log(`Installing Debian packages: ${missing.join(" ")}`);
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  if (
    run("apt-get", ["update", "-qq"], env) !== 0 ||
    run("apt-get", ["install", "-y", "-qq", "--no-install-recommends", ...missing], env) !== 0
  ) {
    console.warn("apt-get could not install every package; tests that need them will say so.");
  }
}

ensureDebianPackages(APT[task]);

const lock = join(root, "package-lock.json");
const marker = join(root, "node_modules", ".package-lock.json");
if (!existsSync(marker) || (existsSync(lock) && statSync(lock).mtimeMs > statSync(marker).mtimeMs)) {
  console.log("Installing npm dependencies …");
  const status = run(
    "npm",
    existsSync(lock) ? ["ci", "--no-audit", "--no-fund"] : ["install", "--no-audit", "--no-fund"],
  );
  if (status !== 0) process.exit(status);
}

const tasks = {
  start: "start.ts",
  test: "test.ts",
  check: "check.ts",
  deploy: "deploy.ts",
  session: "session.ts",
  bench: "bench.ts",
};
const file = tasks[task];
if (!file) {
  console.error(`unknown task "${task}"; one of: ${Object.keys(tasks).join(", ")}`);
  process.exit(2);
}
// Node 22.12–22.17 strip types only behind a flag; 22.18+ does it by default.
const [major, minor] = process.versions.node.split(".").map(Number);
if (major === 22 && minor < 18) {
  process.env.NODE_OPTIONS = `${process.env.NODE_OPTIONS ?? ""} --experimental-strip-types`.trim();
}
process.exit(run(process.execPath, [join(root, "scripts", "tasks", file), ...rest]));
