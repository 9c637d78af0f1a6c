/**
 * The platform the end-to-end phases measure: the real edge, session DO, D1, queue and six
 * analyzer Workers in workerd (scripts/lib/platform.ts, exactly what `npm start` runs), talking
 * mTLS to the real tokenization service, with a fresh tenant whose webhook endpoint is the local
 * receiver (test/support/webhook-receiver.ts). One instance per analysis mode: "streaming" is the
 * shipped configuration, "deferred" the analyse-after-the-end baseline (ANALYSIS_MODE,
 * durable-objects/session/deferred-analysis.ts). The workerd pid is kept for CPU and RSS readings.
 */
import type { DevCerts } from "../scripts/lib/dev-certs.ts";
import { provisionTenant } from "../scripts/lib/dev-tenant.ts";
import { type Platform, startPlatform } from "../scripts/lib/platform.ts";
import type { WebhookReceiver } from "../test/support/webhook-receiver.ts";
import { newWorkerd, workerdPids } from "./machine.ts";

export type AnalysisMode = "streaming" | "deferred";

export interface BenchPlatform {
  mode: AnalysisMode;
  platform: Platform;
  workerdPid: number;
  apiKey: string;
  createSession(flow: unknown[]): Promise<{ sessionId: string; secret: string }>;
}

export async function startBenchPlatform(
  mode: AnalysisMode,
  tokenizerUrl: string,
  certs: DevCerts,
  receiver: WebhookReceiver,
): Promise<BenchPlatform> {
  const before = workerdPids();
  const platform = await startPlatform({
    tokenizerUrl,
    certs,
    vars: {
      DEV_ALLOW_LOOPBACK_WEBHOOKS: "true",
      PUBLIC_ORIGIN: "http://127.0.0.1:8787",
      ANALYSIS_MODE: mode,
      // Sessions are created in bursts by the capacity phase; the per-key limit is not measured here.
      RATE_LIMIT_PER_MINUTE: "100000",
    },
  });
  const workerdPid = newWorkerd(before);
  const tenant = await provisionTenant(platform.db, `bench ${mode}`);
  const headers = { authorization: `Bearer ${tenant.apiKey}`, "content-type": "application/json" };
  const registered = await fetch(new URL("/v1/webhook-endpoints", platform.url), {
    method: "POST",
    headers,
    body: JSON.stringify({ url: receiver.url }),
  });
  if (registered.status !== 201) throw new Error(`webhook endpoint: ${registered.status}`);
  let n = 0;
  return {
    mode,
    platform,
    workerdPid,
    apiKey: tenant.apiKey,
    async createSession(flow) {
      const res = await fetch(new URL("/v1/sessions", platform.url), {
        method: "POST",
        headers: { ...headers, "idempotency-key": `bench-${mode}-${Date.now()}-${n++}` },
        body: JSON.stringify({ clientReferenceId: `bench-${n}`, flow }),
      });
      if (res.status !== 201) throw new Error(`create session: ${res.status} ${await res.text()}`);
      const body = (await res.json()) as { session: { id: string }; clientSecret: { secret: string } };
      return { sessionId: body.session.id, secret: body.clientSecret.secret };
    },
  };
}

/**
 * Decision-latency flow: the user streams while an `enter_email` step is open, then submits it,
 * which ends the flow. The end is the user's action, so "last frame sent" is well defined.
 */
export const DECISION_FLOW = [
  { id: "start", type: "start", next: "perm" },
  { id: "perm", type: "permissions", outcomes: { granted: "mail", denied: "done" } },
  { id: "mail", type: "enter_email", prompt: "Your email", outcomes: { entered: "done", cancelled: "done" } },
  { id: "done", type: "end" },
];

/**
 * Capacity flow: a liveness step long enough (30 s minimum, no challenges) to outlast a capacity
 * step. The DO sends one `progress` message per window it has processed, tokenized or shed,
 * which is how the bench times frame → features from outside.
 */
export const CAPACITY_FLOW = [
  { id: "start", type: "start", next: "perm" },
  { id: "perm", type: "permissions", outcomes: { granted: "live", denied: "done" } },
  {
    id: "live",
    type: "liveness",
    challenges: 0,
    minSeconds: 30,
    outcomes: { live: "done", spoof: "done", no_face: "done", inconclusive: "done" },
  },
  { id: "done", type: "end" },
];
