/**
 * The integration-test harness: the real edge platform in workerd (scripts/lib/platform.ts),
 * a tokenization service (the fixed-payload double, or the real service), a webhook receiver
 * registered for a fresh tenant, and small helpers for API calls.
 */
import { join } from "node:path";
import { type DevCerts, ensureDevCerts } from "../../scripts/lib/dev-certs.ts";
import { type ProvisionedTenant, provisionTenant } from "../../scripts/lib/dev-tenant.ts";
import { type Platform, type PlatformOptions, REPO, startPlatform } from "../../scripts/lib/platform.ts";
import { startTokenizer, type TokenizerProcess } from "../../scripts/lib/tokenizer-process.ts";
import { type FixedTokenizer, startFixedTokenizer } from "./fixed-tokenizer.ts";
import { startWebhookReceiver, type WebhookReceiver } from "./webhook-receiver.ts";

export const TEST_VARS = {
  DEV_ALLOW_LOOPBACK_WEBHOOKS: "true",
  PUBLIC_ORIGIN: "http://127.0.0.1:8787",
  IDLE_TIMEOUT_SECONDS: "4",
  ANALYZER_TIMEOUT_MS: "1500",
  RATE_LIMIT_PER_MINUTE: "600",
  // Test-only: the webhook retry schedule runs without waiting (workers/edge/deliver-webhooks.ts).
  WEBHOOK_RETRY_SCALE: "0",
};

export interface Harness {
  platform: Platform;
  certs: DevCerts;
  tokenizer: FixedTokenizer | TokenizerProcess;
  receiver: WebhookReceiver;
  tenant: ProvisionedTenant & { webhookSecret: string };
  api(path: string, init?: RequestInit & { key?: string }): Promise<Response>;
  newTenant(name: string): Promise<ProvisionedTenant & { webhookSecret: string }>;
  dispose(): Promise<void>;
}

export interface HarnessOptions {
  tokenizer?: "fixed" | "real";
  vars?: Record<string, string>;
  faults?: PlatformOptions["faults"];
  /** keep D1 and Durable Object state on disk here (tests that inspect what was written) */
  persistDir?: string;
  /** `request.cf` the edge sees (scripts/lib/platform.ts); Miniflare's fallback when absent */
  cf?: PlatformOptions["cf"];
}

export function testCerts(): DevCerts {
  return ensureDevCerts(join(REPO, ".dev", "certs"));
}

export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const certs = testCerts();
  const tokenizer =
    options.tokenizer === "real" ? await startTokenizer(certs) : await startFixedTokenizer(certs);
  const receiver = await startWebhookReceiver();
  const platform = await startPlatform({
    tokenizerUrl: tokenizer.url,
    certs,
    vars: { ...TEST_VARS, ...options.vars },
    ...(options.faults ? { faults: options.faults } : {}),
    ...(options.persistDir ? { persistDir: options.persistDir } : {}),
    ...(options.cf ? { cf: options.cf } : {}),
  });
  const api: Harness["api"] = (path, init = {}) => {
    const { key, ...rest } = init;
    const headers = new Headers(rest.headers);
    if (key !== "") headers.set("authorization", `Bearer ${key ?? harness.tenant.apiKey}`);
    if (rest.body !== undefined && !headers.has("content-type"))
      headers.set("content-type", "application/json");
    return fetch(new URL(path, platform.url), { ...rest, headers });
  };
  const newTenant = async (name: string) => {
    const tenant = await provisionTenant(platform.db, name);
    const res = await api("/v1/webhook-endpoints", {
      method: "POST",
      key: tenant.apiKey,
      body: JSON.stringify({ url: receiver.url }),
    });
    if (res.status !== 201)
      throw new Error(`webhook endpoint registration failed: ${res.status} ${await res.text()}`);
    const { secret } = (await res.json()) as { secret: string };
    return { ...tenant, webhookSecret: secret };
  };
  const harness: Harness = {
    platform,
    certs,
    tokenizer,
    receiver,
    tenant: undefined as unknown as Harness["tenant"],
    api,
    newTenant,
    async dispose() {
      await platform.dispose();
      await receiver.close();
      await ("close" in tokenizer ? tokenizer.close() : tokenizer.stop());
    },
  };
  harness.tenant = await newTenant("test tenant");
  return harness;
}

export const LIVENESS_FLOW = [
  { id: "start", type: "start", next: "perm" },
  { id: "perm", type: "permissions", outcomes: { granted: "live", denied: "done" } },
  {
    id: "live",
    type: "liveness",
    challenges: 0,
    minSeconds: 3,
    outcomes: { live: "done", spoof: "done", no_face: "done", inconclusive: "done" },
  },
  { id: "done", type: "end" },
];

export async function createSession(h: Harness, body: Record<string, unknown> = {}, key?: string) {
  const res = await h.api("/v1/sessions", {
    method: "POST",
    body: JSON.stringify({ clientReferenceId: "user-1", flow: LIVENESS_FLOW, ...body }),
    ...(key ? { key } : {}),
  });
  if (res.status !== 201) throw new Error(`create failed: ${res.status} ${await res.text()}`);
  return (await res.json()) as {
    session: { id: string; status: string };
    clientSecret: { secret: string; url: string; expiresAt: string };
  };
}
