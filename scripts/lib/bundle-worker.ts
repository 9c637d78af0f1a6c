/**
 * Bundles one Worker exactly as deploy would (`wrangler deploy --dry-run --outdir`) and lists
 * the bundle as Miniflare module definitions. Tests and local runs then load the same bytes that
 * ship, and auxiliary Workers get an explicit module list (Miniflare 5 rejects `modulesRules` on
 * them; platform-notes "Outbound mTLS from a Worker, locally"). wrangler runs offline and with
 * private state (platform-notes "Toolchain").
 *
 * Rebuild skipping: wrangler also writes esbuild's metafile. A bundle is reused when it is newer
 * than every input the metafile names, every file in the config's folder, every file under
 * models/ (where `.onnx` Data modules live) and node_modules/.package-lock.json (npm rewrites it
 * on every install, covering the ORT wasm). Wasm or data imported from anywhere else would be
 * missed: keep such modules under models/ or in npm packages, or pass `force`.
 */
import { spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, extname, join, resolve } from "node:path";

export type ModuleType = "ESModule" | "CompiledWasm" | "Data";

export interface ModuleDefinition {
  type: ModuleType;
  /** absolute path inside the outdir */
  path: string;
}

export interface WorkerBundle {
  /** the entry module first, as Miniflare expects */
  modules: ModuleDefinition[];
  /** the outdir; module names are paths relative to it */
  modulesRoot: string;
  /** total size of all modules, bytes */
  bytes: number;
  /** false when an up-to-date bundle was reused */
  rebuilt: boolean;
}

const REPO = resolve(import.meta.dirname, "..", "..");
const METAFILE = "bundle-meta.json";
const ENTRY = "index.js";

const TYPES: Record<string, ModuleType> = {
  ".js": "ESModule",
  ".mjs": "ESModule",
  ".wasm": "CompiledWasm",
  ".onnx": "Data",
  ".bin": "Data",
};

function wranglerBin(): string {
  const pkg = createRequire(import.meta.url).resolve("wrangler/package.json");
  return join(dirname(pkg), "bin", "wrangler.js");
}

function runWrangler(configPath: string, outdir: string): Promise<void> {
  const args = [wranglerBin(), "deploy", "--dry-run", "--outdir", outdir, "--metafile", "-c", configPath];
  const env = {
    ...process.env,
    CLOUDFLARE_CF_FETCH_ENABLED: "false",
    WRANGLER_SEND_METRICS: "false",
    XDG_CONFIG_HOME: join(REPO, ".dev", "xdg"),
  };
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, args, { cwd: REPO, env, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.on("error", fail);
    child.on("close", (code) => {
      if (code === 0) done();
      else fail(new Error(`wrangler deploy --dry-run -c ${configPath} exited ${code}:\n${output}`));
    });
  });
}

function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name));
}

/** Newest modification time among the bundle's inputs; null when no metafile says what they are. */
function newestInput(configPath: string, outdir: string): number | null {
  const metaPath = join(outdir, METAFILE);
  if (!existsSync(metaPath)) return null;
  const meta = JSON.parse(readFileSync(metaPath, "utf8")) as { inputs?: Record<string, unknown> };
  const configDir = dirname(configPath);
  // esbuild names inputs relative to its working directory, the config's folder.
  const inputs = Object.keys(meta.inputs ?? {}).map((p) => resolve(configDir, p));
  const candidates = [
    ...inputs,
    ...filesUnder(configDir),
    ...filesUnder(join(REPO, "models")),
    join(REPO, "node_modules", ".package-lock.json"),
  ];
  let newest = 0;
  for (const file of candidates) {
    if (!existsSync(file)) return null; // an input vanished: rebuild
    newest = Math.max(newest, statSync(file).mtimeMs);
  }
  return newest;
}

function listModules(outdir: string): { modules: ModuleDefinition[]; bytes: number } {
  const names = readdirSync(outdir).filter((n) => TYPES[extname(n)] !== undefined);
  if (!names.includes(ENTRY)) throw new Error(`${outdir} has no ${ENTRY}`);
  names.sort((a, b) => (a === ENTRY ? -1 : b === ENTRY ? 1 : a.localeCompare(b)));
  let bytes = 0;
  const modules = names.map((name) => {
    const path = join(outdir, name);
    bytes += statSync(path).size;
    return { type: TYPES[extname(name)] as ModuleType, path };
  });
  return { modules, bytes };
}

/**
 * Builds the Worker of `configPath` into `outdir` (made absolute: wrangler resolves a relative
 * one against the config) unless an up-to-date bundle is already there.
 */
export async function bundleWorker(configPath: string, outdir: string, force = false): Promise<WorkerBundle> {
  const config = resolve(REPO, configPath);
  const out = resolve(REPO, outdir);
  const entry = join(out, ENTRY);
  let rebuilt = false;
  const newest = existsSync(entry) && !force ? newestInput(config, out) : null;
  if (newest === null || statSync(entry).mtimeMs <= newest) {
    // wrangler does not clear its outdir; drop old modules so a changed model's new
    // content-hashed file is not listed next to the stale one.
    if (existsSync(out)) {
      for (const name of readdirSync(out)) {
        if (TYPES[extname(name)] !== undefined || name === METAFILE) rmSync(join(out, name));
      }
    }
    await runWrangler(config, out);
    rebuilt = true;
  }
  return { ...listModules(out), modulesRoot: out, rebuilt };
}
