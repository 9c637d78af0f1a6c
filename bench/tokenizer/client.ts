/**
 * The benchmark's side of the wire: POSTs batches to a tokenizer over real mutual TLS 1.3 with the
 * dev client certificate (scripts/lib/dev-certs.ts), either on a keep-alive `https.Agent` or on a
 * fresh connection per request (full handshake, no session resumption). Also the session load
 * generator: N sessions, each closing one window per second on its own clock and behaving like
 * the session Durable Object — at most MAX_INFLIGHT windows in flight per session, a window that
 * would exceed it is shed, and a request times out after TIMEOUT_MS (both as in
 * durable-objects/session/). Everything stays on loopback and stops by itself.
 */
import { readFileSync } from "node:fs";
import { Agent, request } from "node:https";
import { BATCH_CONTENT_TYPE } from "../../lib/tokenizer-batch.ts";
import type { DevCerts } from "../../scripts/lib/dev-certs.ts";
import { sleep } from "./measure.ts";

/** As durable-objects/session/window-pipeline.ts MAX_INFLIGHT_WINDOWS. */
export const MAX_INFLIGHT = 2;
/** As durable-objects/session/tokenizer-client.ts TOKENIZE_TIMEOUT_MS. */
export const TIMEOUT_MS = 10_000;

export interface Tls {
  ca: Buffer;
  cert: Buffer;
  key: Buffer;
}

export function clientTls(certs: DevCerts): Tls {
  return {
    ca: readFileSync(certs.ca.cert),
    cert: readFileSync(certs.client.cert),
    key: readFileSync(certs.client.key),
  };
}

export function keepAliveAgent(tls: Tls): Agent {
  return new Agent({ ...tls, keepAlive: true, maxSockets: 4, minVersion: "TLSv1.3" });
}

export interface PostResult {
  status: number;
  body: Buffer;
  ms: number;
}

/**
 * POSTs `body` to `url` (path included). `agent` null: a fresh TCP + TLS connection, closed after
 * the reply. Rejects on network errors and once `timeoutMs` have passed in all (a deadline, like
 * the DO's `AbortSignal.timeout`, not an idle timeout).
 */
export function post(
  url: URL,
  body: Uint8Array,
  tls: Tls,
  agent: Agent | null,
  timeoutMs = TIMEOUT_MS,
): Promise<PostResult> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        method: "POST",
        headers: { "content-type": BATCH_CONTENT_TYPE, "content-length": body.byteLength },
        ...(agent ? { agent } : { ...tls, agent: false, minVersion: "TLSv1.3" as const }),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          clearTimeout(deadline);
          resolve({
            status: res.statusCode ?? 0,
            body: Buffer.concat(chunks),
            ms: performance.now() - started,
          });
        });
        res.on("error", reject);
      },
    );
    const deadline = setTimeout(() => req.destroy(new Error("timeout")), timeoutMs);
    req.on("error", (error) => {
      clearTimeout(deadline);
      reject(error);
    });
    req.end(body);
  });
}

export interface LoadResult {
  sessions: number;
  durationS: number;
  sent: number;
  ok: number;
  shed: number;
  failed: number;
  latenciesMs: number[];
}

/**
 * `sessions` sessions for `durationS` seconds, each sending window k at its own start + k s
 * (starts spread evenly over the first second). `bodyFor(session, seq)` builds each body.
 */
export async function sessionLoad(
  url: URL,
  tls: Tls,
  sessions: number,
  durationS: number,
  bodyFor: (session: number, seq: number) => Uint8Array,
): Promise<LoadResult> {
  const result: LoadResult = { sessions, durationS, sent: 0, ok: 0, shed: 0, failed: 0, latenciesMs: [] };
  const origin = performance.now();
  const runSession = async (s: number): Promise<void> => {
    const agent = keepAliveAgent(tls); // one connection pool per session, like one DO each
    const inflight = new Set<Promise<void>>();
    try {
      for (let seq = 0; seq < durationS; seq++) {
        const due = origin + (s / sessions) * 1000 + seq * 1000;
        const wait = due - performance.now();
        if (wait > 0) await sleep(wait);
        if (inflight.size >= MAX_INFLIGHT) {
          result.shed++;
          continue;
        }
        result.sent++;
        const task = post(url, bodyFor(s, seq), tls, agent)
          .then((r) => {
            if (r.status === 200) {
              result.ok++;
              result.latenciesMs.push(r.ms);
            } else {
              result.failed++;
            }
          })
          .catch(() => {
            result.failed++;
          })
          .finally(() => {
            inflight.delete(task);
          });
        inflight.add(task);
      }
      await Promise.all(inflight);
    } finally {
      agent.destroy();
    }
  };
  await Promise.all(Array.from({ length: sessions }, (_, s) => runSession(s)));
  return result;
}
