/**
 * The six analyzer Workers as one table, and their Miniflare options built from the same
 * bundles deploy uploads (scripts/lib/bundle-worker.ts). The edge binds each one as an RPC
 * service binding `{ name: workerName }` under `binding`. Options use Miniflare's v4 worker
 * shape (`name`, `modules`, `compatibilityDate`, `compatibilityFlags`); Miniflare 5's constructor
 * takes its new shape, so pass the whole option object through `convertV4MiniflareOptions`.
 * Compatibility settings come from each wrangler.toml via wrangler's own config reader.
 */
import { join, resolve } from "node:path";
import type { V4WorkerOptions } from "miniflare";
import type { AnalyzerName } from "../../lib/analyzer-contract.ts";
import { bundleWorker } from "./bundle-worker.ts";

export interface AnalyzerWorker {
  /** folder under workers/ */
  folder: string;
  /** the `name` in its wrangler.toml */
  workerName: string;
  /** service binding name on the edge Worker */
  binding: string;
}

function entry(folder: string, binding: string): AnalyzerWorker {
  return { folder: `workers/${folder}`, workerName: `facet-${folder}`, binding };
}

export const ANALYZER_WORKERS = {
  liveness: entry("analyzer-liveness", "ANALYZER_LIVENESS"),
  coercion: entry("analyzer-coercion", "ANALYZER_COERCION"),
  environment: entry("analyzer-environment", "ANALYZER_ENVIRONMENT"),
  behavior: entry("analyzer-behavior", "ANALYZER_BEHAVIOR"),
  device_risk: entry("analyzer-device-risk", "ANALYZER_DEVICE_RISK"),
  conversation: entry("analyzer-conversation", "ANALYZER_CONVERSATION"),
} as const satisfies Record<AnalyzerName, AnalyzerWorker>;

const REPO = resolve(import.meta.dirname, "..", "..");

export interface AnalyzerWorkerBuild {
  options: V4WorkerOptions[];
  /** bundle size per worker name, bytes */
  bytes: Record<string, number>;
}

/** Bundles all six (in parallel) into `<outRoot>/<worker name>/` and returns their options. */
export async function analyzerWorkerBuild(outRoot: string): Promise<AnalyzerWorkerBuild> {
  const { unstable_readConfig } = await import("wrangler");
  const workers = Object.values(ANALYZER_WORKERS);
  const built = await Promise.all(
    workers.map(async (w) => {
      const configPath = join(REPO, w.folder, "wrangler.toml");
      const config = unstable_readConfig({ config: configPath });
      if (config.name !== w.workerName) throw new Error(`${configPath}: name is not ${w.workerName}`);
      if (!config.compatibility_date) throw new Error(`${configPath}: no compatibility_date`);
      const bundle = await bundleWorker(configPath, join(resolve(outRoot), w.workerName));
      const options: V4WorkerOptions = {
        name: w.workerName,
        modules: bundle.modules,
        modulesRoot: bundle.modulesRoot,
        compatibilityDate: config.compatibility_date,
        compatibilityFlags: config.compatibility_flags,
      };
      return { options, bytes: bundle.bytes };
    }),
  );
  return {
    options: built.map((b) => b.options),
    bytes: Object.fromEntries(built.map((b, i) => [workers[i]?.workerName ?? "", b.bytes])),
  };
}

/** Miniflare (v4-shape) options of all six analyzer Workers. */
export async function analyzerWorkerOptions(outRoot: string): Promise<V4WorkerOptions[]> {
  return (await analyzerWorkerBuild(outRoot)).options;
}
