/**
 * Starts the whole edge locally in one workerd (Miniflare): the edge Worker with its session
 * and rate-limiter Durable Objects, D1, the webhook queue and its consumer, the cron, and the
 * six analyzer Workers as RPC service bindings — all from the same bundles `npm run deploy --
 * --dry-run` builds. `npm start` and the integration tests both use it, so what is tested is
 * what runs.
 *
 * The edge's `TOKENIZER` binding is `mtls_certificates` in production, which only works
 * remotely; here the same binding name becomes a workerd network service holding the client
 * keypair and trusting only the dev CA, TLS 1.3 minimum (platform-notes "Outbound mTLS").
 */
import { readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { convertV4MiniflareOptions, Miniflare, type V4WorkerOptions } from "miniflare";
import type { AnalyzerName } from "../../lib/analyzer-contract.ts";
import { ANALYZER_WORKERS, analyzerWorkerOptions } from "./analyzer-workers.ts";
import { buildWidget } from "./build-widget.ts";
import { bundleWorker } from "./bundle-worker.ts";
import type { DevCerts } from "./dev-certs.ts";

export const REPO = resolve(import.meta.dirname, "..", "..");
/** workerd's TlsOptions.Version enum: 5 = TLS 1.3 */
const TLS_1_3 = 5;

export interface PlatformOptions {
  /** where bundles go (default `<repo>/dist`) */
  distDir?: string;
  /** persist D1 and Durable Objects here; in-memory when absent */
  persistDir?: string;
  /** loopback port for the edge (0 = any free port) */
  port?: number;
  /** var overrides on top of wrangler.toml's [vars] */
  vars?: Record<string, string>;
  /** base URL of the tokenization service both zones use locally */
  tokenizerUrl: string;
  certs: DevCerts;
  /**
   * Fault injection for the reliability tests: replaces an analyzer Worker with one that
   * throws or never answers in time, behind the same service binding.
   */
  faults?: Partial<Record<AnalyzerName, "throw" | "hang">>;
  /**
   * `request.cf` for every incoming request (Miniflare's `cf` option). Without it Miniflare
   * serves a fixed fallback object (a US data-centre location and time zone), which a test
   * whose browser runs in another zone would see as a time-zone mismatch.
   */
  cf?: Record<string, unknown>;
  /**
   * Fault injection: the edge's `EVENTS` producer goes through a gate Worker (`QUEUE_GATE`) that
   * forwards to the real queue, or refuses every send while closed (`gateQueue(platform, …)`).
   */
  queueGate?: boolean;
}

export const QUEUE_GATE = "facet-queue-gate";

/**
 * The queue gate: a Worker standing where the queue's producer endpoint is, like the TCP proxy
 * in front of the tokenizer (test/reliability/support.ts). Open, it forwards `send`/`sendBatch`
 * unchanged to the real queue; closed, every send fails as an unreachable queue does. The edge
 * code is unchanged: it still calls `env.EVENTS.sendBatch(…)`.
 */
function queueGateWorker(queueName: string): V4WorkerOptions {
  return {
    name: QUEUE_GATE,
    modules: true,
    script: `import { WorkerEntrypoint } from "cloudflare:workers";
let closed = false;
function refuse() { if (closed) throw new Error("queue unavailable (gate closed)"); }
export class Gate extends WorkerEntrypoint {
  async send(body, options) { refuse(); await this.env.QUEUE.send(body, options); }
  async sendBatch(messages, options) { refuse(); await this.env.QUEUE.sendBatch(messages, options); }
}
export default { async fetch(request) { closed = new URL(request.url).pathname === "/close"; return new Response(closed ? "closed" : "open"); } };`,
    compatibilityDate: "2026-07-01",
    queueProducers: { QUEUE: { queueName } },
  } as V4WorkerOptions;
}

/** Opens or closes the queue gate of a platform started with `queueGate: true`. */
export async function gateQueue(platform: Platform, state: "open" | "close"): Promise<void> {
  // Miniflare's Fetcher type names workerd's Request; a plain URL is all the gate reads.
  const gate = (await platform.mf.getWorker(QUEUE_GATE)) as unknown as {
    fetch(url: string): Promise<{ text(): Promise<string> }>;
  };
  const res = await gate.fetch(`http://gate/${state}`);
  if ((await res.text()) !== (state === "open" ? "open" : "closed"))
    throw new Error("queue gate did not switch");
}

function faultyAnalyzer(workerName: string, fault: "throw" | "hang"): V4WorkerOptions {
  const body =
    fault === "throw"
      ? 'throw new Error("ERR_ANALYZER_MODEL: injected fault");'
      : "await scheduler.wait(120000); return null;";
  return {
    name: workerName,
    modules: true,
    script: `import { WorkerEntrypoint } from "cloudflare:workers";
export default class extends WorkerEntrypoint { async analyze() { ${body} } async fetch() { return new Response(null, { status: 404 }); } }`,
    compatibilityDate: "2026-07-01",
  };
}

export interface Platform {
  mf: Miniflare;
  url: URL;
  db: D1Database;
  dispose(): Promise<void>;
}

export async function edgeWorkerOptions(distDir: string, opts: PlatformOptions): Promise<V4WorkerOptions> {
  const { unstable_getMiniflareWorkerOptions } = await import("wrangler");
  const configPath = join(REPO, "wrangler.toml");
  const { workerOptions } = unstable_getMiniflareWorkerOptions(configPath);
  // The edge serves the widget and hosted page from a generated module (widget/dist).
  await buildWidget();
  const bundle = await bundleWorker(configPath, join(distDir, "facet-edge"));
  const { mtlsCertificates: _remoteOnly, ...rest } = workerOptions as typeof workerOptions & {
    mtlsCertificates?: unknown;
  };
  return {
    ...(rest as V4WorkerOptions),
    name: "facet-edge",
    modules: bundle.modules,
    modulesRoot: bundle.modulesRoot,
    modulesRules: undefined,
    bindings: {
      ...(workerOptions.bindings ?? {}),
      TOKENIZER_URL_EU: opts.tokenizerUrl,
      TOKENIZER_URL_US: opts.tokenizerUrl,
      // Local workerd implements no Durable Object jurisdictions (lib/residency.ts).
      DEV_EMULATE_DO_JURISDICTION: "true",
      ...opts.vars,
    },
    serviceBindings: {
      ...(workerOptions.serviceBindings ?? {}),
      TOKENIZER: {
        network: {
          allow: ["local", "private", "public"],
          tlsOptions: {
            keypair: {
              privateKey: readFileSync(opts.certs.client.key, "utf8"),
              certificateChain: readFileSync(opts.certs.client.cert, "utf8"),
            },
            trustedCertificates: [readFileSync(opts.certs.ca.cert, "utf8")],
            minVersion: TLS_1_3,
          },
        },
      },
    },
  } as V4WorkerOptions;
}

/** Applies migrations/*.sql in order, recording them in `d1_migrations` as wrangler does. */
export async function applyMigrations(db: D1Database): Promise<string[]> {
  await db.exec(
    "CREATE TABLE IF NOT EXISTS d1_migrations (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT UNIQUE, applied_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP NOT NULL)",
  );
  const done = new Set(
    (await db.prepare("SELECT name FROM d1_migrations").all<{ name: string }>()).results.map((r) => r.name),
  );
  const files = readdirSync(join(REPO, "migrations"))
    .filter((f) => f.endsWith(".sql"))
    .sort();
  const applied: string[] = [];
  for (const file of files) {
    if (done.has(file)) continue;
    const sql = readFileSync(join(REPO, "migrations", file), "utf8");
    const statements = sql
      .split("--> statement-breakpoint")
      .map((s) => s.trim())
      .filter(Boolean);
    await db.batch([
      ...statements.map((s) => db.prepare(s)),
      db.prepare("INSERT INTO d1_migrations (name) VALUES (?)").bind(file),
    ]);
    applied.push(file);
  }
  return applied;
}

function withFaults(
  analyzers: V4WorkerOptions[],
  faults: Partial<Record<AnalyzerName, "throw" | "hang">>,
): V4WorkerOptions[] {
  return analyzers.map((worker) => {
    const entry = Object.entries(ANALYZER_WORKERS).find(([, w]) => w.workerName === worker.name);
    const fault = entry ? faults[entry[0] as AnalyzerName] : undefined;
    return fault && worker.name ? faultyAnalyzer(worker.name, fault) : worker;
  });
}

/** The edge with its `EVENTS` producer replaced by a service binding to the gate. */
function throughQueueGate(edge: V4WorkerOptions): V4WorkerOptions {
  const { EVENTS: _direct, ...producers } = (edge.queueProducers ?? {}) as Record<string, unknown>;
  return {
    ...edge,
    queueProducers: producers,
    serviceBindings: { ...edge.serviceBindings, EVENTS: { name: QUEUE_GATE, entrypoint: "Gate" } },
  } as V4WorkerOptions;
}

export async function startPlatform(opts: PlatformOptions): Promise<Platform> {
  // FACET_DIST_DIR lets two test runs on one machine build into separate folders.
  const distDir = opts.distDir ?? process.env.FACET_DIST_DIR ?? join(REPO, "dist");
  const [edge, analyzers] = await Promise.all([
    edgeWorkerOptions(distDir, opts),
    analyzerWorkerOptions(distDir),
  ]);
  // Miniflare 5 keeps every resource under one root (`<root>/d1`, `<root>/do`, …), the same
  // layout `wrangler … --persist-to X` writes under `X/v3`; without it state is temporary.
  const persist = opts.persistDir ? { resourcePersistencePath: opts.persistDir } : {};
  const mf = new Miniflare(
    convertV4MiniflareOptions({
      host: "127.0.0.1",
      port: opts.port ?? 0,
      unsafeTriggerHandlers: true,
      ...persist,
      ...(opts.cf ? { cf: opts.cf } : {}),
      workers: [
        opts.queueGate ? throughQueueGate(edge) : edge,
        ...withFaults(analyzers, opts.faults ?? {}),
        ...(opts.queueGate ? [queueGateWorker("facet-events")] : []),
      ],
    } as Parameters<typeof convertV4MiniflareOptions>[0]),
  );
  const url = await mf.ready;
  const db = (await mf.getD1Database("DB", "facet-edge")) as unknown as D1Database;
  await applyMigrations(db);
  // `ready` can resolve before the Worker serves (platform-notes): wait for a first answer.
  for (let i = 0; i < 100; i++) {
    const res = await fetch(new URL("/healthz", url)).catch(() => null);
    if (res?.ok) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  return { mf, url, db, dispose: () => mf.dispose() };
}
