/**
 * Fault-injection plumbing for the reliability tests (docs/reliability.md).
 *
 * - `TokenizerProxy`: a TCP proxy on a fixed loopback port in front of the fixed-payload
 *   tokenizer double. The platform is pointed at the proxy, so mutual TLS still runs end to end
 *   (the proxy never sees plaintext) while the test can take the service down (listener closed,
 *   every connection reset), bring it back on the same port (a restart, as the DO sees it) or
 *   hold its replies back past the DO's 10 s TOKENIZE_TIMEOUT_MS for a bounded period.
 * - `RecordingReceiver`: the integrator's webhook endpoint, recording every attempt — failed
 *   ones too — with its `webhook-id` and arrival time, and able to fail the next N attempts.
 * - `startReliabilityHarness`: platform + tokenizer double + proxy + receiver + one tenant.
 */
import { readdirSync, readFileSync } from "node:fs";
import { createServer as createHttpServer, type Server as HttpServer } from "node:http";
import { connect, createServer as createTcpServer, type Socket, type Server as TcpServer } from "node:net";
import { join } from "node:path";
import { type ProvisionedTenant, provisionTenant } from "../../scripts/lib/dev-tenant.ts";
import { type Platform, type PlatformOptions, REPO, startPlatform } from "../../scripts/lib/platform.ts";
import { type FixedTokenizer, startFixedTokenizer } from "../support/fixed-tokenizer.ts";
import { LIVENESS_FLOW, TEST_VARS, testCerts } from "../support/harness.ts";

export { LIVE_FRAME, TONE } from "../support/media.ts";

// ---------------------------------------------------------------------------------------------
// Tokenizer proxy

export interface TokenizerProxy {
  url: string;
  port: number;
  /** connections accepted since start */
  readonly accepted: number;
  /** stop listening and reset every open connection: the service is down */
  down(): Promise<void>;
  /** listen again on the same port: the service is back */
  up(): Promise<void>;
  /** for the next `forMs`, hold every reply byte back for `delayMs` before passing it on */
  slow(forMs: number, delayMs: number): void;
  close(): Promise<void>;
}

export async function startTokenizerProxy(targetUrl: string): Promise<TokenizerProxy> {
  const target = new URL(targetUrl);
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  let slowUntil = 0;
  let slowDelay = 0;
  let accepted = 0;
  let server: TcpServer | null = null;

  const onConnection = (client: Socket) => {
    accepted += 1;
    const upstream = connect(Number(target.port), target.hostname);
    sockets.add(client);
    sockets.add(upstream);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on("error", drop).on("close", drop);
    upstream.on("error", drop).on("close", drop);
    client.on("data", (chunk: Buffer) => upstream.write(chunk));
    upstream.on("data", (chunk: Buffer) => {
      if (Date.now() >= slowUntil) {
        client.write(chunk);
        return;
      }
      const timer = setTimeout(() => {
        timers.delete(timer);
        if (!client.destroyed) client.write(chunk);
      }, slowDelay);
      timers.add(timer);
    });
  };

  const listen = (port: number) =>
    new Promise<number>((resolve, reject) => {
      const s = createTcpServer(onConnection);
      s.once("error", reject);
      s.listen(port, "127.0.0.1", () => {
        server = s;
        const address = s.address();
        if (!address || typeof address === "string") return reject(new Error("proxy did not bind"));
        resolve(address.port);
      });
    });

  const port = await listen(0);
  const down = () =>
    new Promise<void>((resolve) => {
      const s = server;
      server = null;
      for (const socket of sockets) socket.destroy();
      sockets.clear();
      if (!s) return resolve();
      s.close(() => resolve());
    });
  return {
    url: `https://127.0.0.1:${port}`,
    port,
    get accepted() {
      return accepted;
    },
    down,
    async up() {
      if (!server) await listen(port);
    },
    slow(forMs, delayMs) {
      slowUntil = Date.now() + forMs;
      slowDelay = delayMs;
    },
    async close() {
      for (const t of timers) clearTimeout(t);
      timers.clear();
      await down();
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Webhook receiver that records every attempt

export interface Attempt {
  webhookId: string;
  status: number;
  at: number;
  type: string;
  sessionId: string | null;
  body: string;
}

export interface SessionPayload {
  type: string;
  data: {
    session?: {
      id: string;
      status: string;
      incompleteReason: string | null;
      report: Report | null;
    };
  };
}

export interface Report {
  nodes: { id: string; outcome: string }[];
  risk: { decision: string; confidence: number; reasons: { code: string }[] };
  degraded: { component: string; code: string; detail: string }[];
}

export interface RecordingReceiver {
  url: string;
  attempts: Attempt[];
  /** answer the next `count` attempts with 503 */
  failNext(count: number): void;
  /** successful attempts (2xx) */
  delivered(): Attempt[];
  waitFor(predicate: (a: Attempt) => boolean, timeoutMs?: number): Promise<Attempt>;
  close(): Promise<void>;
}

export async function startRecordingReceiver(): Promise<RecordingReceiver> {
  const attempts: Attempt[] = [];
  let failures = 0;
  const waiters: { predicate: (a: Attempt) => boolean; resolve: (a: Attempt) => void }[] = [];
  const server: HttpServer = createHttpServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      const status = failures > 0 ? 503 : 204;
      if (failures > 0) failures -= 1;
      let type = "";
      let sessionId: string | null = null;
      try {
        const json = JSON.parse(body) as SessionPayload;
        type = json.type;
        sessionId = json.data.session?.id ?? null;
      } catch {
        // recorded as is
      }
      const attempt: Attempt = {
        webhookId: String(req.headers["webhook-id"] ?? ""),
        status,
        at: performance.now(),
        type,
        sessionId,
        body,
      };
      attempts.push(attempt);
      res.writeHead(status).end();
      if (status !== 204) return;
      for (const w of [...waiters]) {
        if (w.predicate(attempt)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(attempt);
        }
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const address = server.address();
  if (!address || typeof address === "string") throw new Error("receiver did not bind");
  const delivered = () => attempts.filter((a) => a.status >= 200 && a.status < 300);
  return {
    url: `http://127.0.0.1:${address.port}/hooks`,
    attempts,
    failNext(count) {
      failures = count;
    },
    delivered,
    waitFor(predicate, timeoutMs = 30_000) {
      const hit = delivered().find(predicate);
      if (hit) return Promise.resolve(hit);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`no matching webhook within ${timeoutMs} ms`)),
          timeoutMs,
        );
        waiters.push({
          predicate,
          resolve: (a) => {
            clearTimeout(timer);
            resolve(a);
          },
        });
      });
    },
    close: () =>
      new Promise((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** Terminal events of one session, deduplicated by webhook-id (what an integrator keeps). */
export function terminalEvents(receiver: RecordingReceiver, sessionId: string): Attempt[] {
  const byId = new Map<string, Attempt>();
  for (const a of receiver.delivered()) {
    if (a.sessionId !== sessionId) continue;
    if (a.type !== "session.completed" && a.type !== "session.incomplete") continue;
    if (!byId.has(a.webhookId)) byId.set(a.webhookId, a);
  }
  return [...byId.values()];
}

// ---------------------------------------------------------------------------------------------
// Harness

export interface ReliabilityHarness {
  readonly platform: Platform;
  tokenizer: FixedTokenizer;
  proxy: TokenizerProxy;
  receiver: RecordingReceiver;
  tenant: ProvisionedTenant;
  endpointId: string;
  api(path: string, init?: RequestInit): Promise<Response>;
  createSession(body?: Record<string, unknown>): Promise<{ sessionId: string; secret: string }>;
  /** stops workerd and starts it again on the same persisted state (needs `persistDir`) */
  restartPlatform(): Promise<void>;
  dispose(): Promise<void>;
}

export async function startReliabilityHarness(
  options: {
    vars?: Record<string, string>;
    faults?: PlatformOptions["faults"];
    persistDir?: string;
    queueGate?: boolean;
  } = {},
): Promise<ReliabilityHarness> {
  const certs = testCerts();
  const tokenizer = await startFixedTokenizer(certs);
  const proxy = await startTokenizerProxy(tokenizer.url);
  const receiver = await startRecordingReceiver();
  const platformOptions: PlatformOptions = {
    // Own bundle directory: other suites (or people) rebuilding dist/ at the same time cannot
    // pull a bundle out from under this platform.
    distDir: join(REPO, ".dev", "dist-reliability"),
    tokenizerUrl: proxy.url,
    certs,
    vars: { ...TEST_VARS, ...options.vars },
    ...(options.faults ? { faults: options.faults } : {}),
    ...(options.persistDir ? { persistDir: options.persistDir } : {}),
    ...(options.queueGate ? { queueGate: true } : {}),
  };
  let current = await startPlatform(platformOptions);
  const tenant = await provisionTenant(current.db, "reliability tenant");
  const api = (path: string, init: RequestInit = {}) => {
    const headers = new Headers(init.headers);
    headers.set("authorization", `Bearer ${tenant.apiKey}`);
    if (init.body !== undefined) headers.set("content-type", "application/json");
    return fetch(new URL(path, current.url), { ...init, headers });
  };
  const registered = await api("/v1/webhook-endpoints", {
    method: "POST",
    body: JSON.stringify({ url: receiver.url }),
  });
  if (registered.status !== 201) throw new Error(`endpoint registration failed: ${registered.status}`);
  const { id: endpointId } = (await registered.json()) as { id: string };
  const harness: ReliabilityHarness = {
    get platform() {
      return current;
    },
    tokenizer,
    proxy,
    receiver,
    tenant,
    endpointId,
    api,
    async createSession(body = {}) {
      const res = await api("/v1/sessions", {
        method: "POST",
        body: JSON.stringify({ clientReferenceId: "rel-user", flow: LIVENESS_FLOW, ...body }),
      });
      if (res.status !== 201) throw new Error(`create failed: ${res.status} ${await res.text()}`);
      const json = (await res.json()) as { session: { id: string }; clientSecret: { secret: string } };
      return { sessionId: json.session.id, secret: json.clientSecret.secret };
    },
    async restartPlatform() {
      if (!options.persistDir) throw new Error("restartPlatform needs persistDir");
      await current.dispose();
      current = await startPlatform(platformOptions);
    },
    async dispose() {
      await current.dispose();
      await receiver.close();
      await proxy.close();
      await tokenizer.close();
    },
  };
  return harness;
}

/** Reads /proc/<pid>/status VmRSS, in MiB (null when unavailable). */
export function rssMiB(pid: number): number | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = /VmRSS:\s+(\d+)\s+kB/.exec(status)?.[1];
    return kb ? Number(kb) / 1024 : null;
  } catch {
    return null;
  }
}

/** workerd processes started by this process (Miniflare's child), by /proc parent pid. */
export function workerdPids(): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const comm = /\(([^)]*)\)/.exec(stat)?.[1] ?? "";
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (comm.startsWith("workerd") && ppid === process.pid) pids.push(Number(entry));
    } catch {
      // process exited while we looked
    }
  }
  return pids;
}

/**
 * Fires the five-minute Cron Trigger (expiry + outbox sweep) with `scheduledTime` = `time`: the
 * sweep's clock, so a test moves it past the 30 s grace without sleeping.
 */
export async function fireSweepCron(h: ReliabilityHarness, time: number): Promise<void> {
  const url = new URL("/cdn-cgi/local/scheduled", h.platform.url);
  url.searchParams.set("cron", "*/5 * * * *");
  url.searchParams.set("time", String(time));
  const res = await fetch(url);
  if (res.status !== 200) throw new Error(`scheduled handler answered ${res.status}`);
  await res.body?.cancel();
}
