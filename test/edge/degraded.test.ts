/**
 * Degradation is named, never silent (product-spec §5): an analyzer that throws or does not
 * answer in time lowers confidence and appears in the decision's reasons and the report's
 * `degraded` list; without liveness evidence a session is never approved. Also the per-key
 * rate limit with its exact Retry-After.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ScriptedClient } from "../../scripts/lib/scripted-client.ts";
import { createSession, type Harness, startHarness } from "../support/harness.ts";

const LIVE_FRAME = new Uint8Array([0x4c, 0xff, 0xd8, 1, 2, 3]);
const TONE = Int16Array.from({ length: 16000 }, (_, i) =>
  Math.round(8000 * Math.sin((2 * Math.PI * 150 * i) / 16000)),
);

interface Report {
  nodes: { id: string; outcome: string }[];
  risk: {
    decision: string;
    confidence: number;
    reasons: { code: string; analyzer: string }[];
    analyzers: Record<string, { error?: string; score?: number }>;
  };
  degraded: { component: string; code: string }[];
}

async function runLiveSession(h: Harness): Promise<Report> {
  const { session, clientSecret } = await createSession(h);
  const client = await ScriptedClient.connect(h.platform.url, clientSecret.secret);
  await client.stream({ frames: [LIVE_FRAME], audio: TONE });
  const hook = await h.receiver.waitFor(
    (w) => w.json.data.session.id === session.id && w.json.type === "session.completed",
  );
  return hook.json.data.session.report as Report;
}

describe("coercion throws, environment hangs past its timeout", () => {
  let h: Harness;
  let healthy: Harness;
  beforeAll(async () => {
    [h, healthy] = await Promise.all([
      startHarness({ faults: { coercion: "throw", environment: "hang" } }),
      startHarness(),
    ]);
  });
  afterAll(async () => {
    await Promise.all([h?.dispose(), healthy?.dispose()]);
  });

  it("names both in the reasons and the degraded list, with lower confidence than a healthy run", async () => {
    const [report, baseline] = await Promise.all([runLiveSession(h), runLiveSession(healthy)]);
    expect(report.risk.analyzers.coercion).toEqual({ error: "ERR_ANALYZER_MODEL" });
    expect(report.risk.analyzers.environment).toEqual({ error: "ERR_ANALYZER_TIMEOUT" });
    const codes = report.risk.reasons.map((r) => r.code);
    expect(codes).toContain("ANALYZER_COERCION_UNAVAILABLE");
    expect(codes).toContain("ANALYZER_ENVIRONMENT_TIMEOUT");
    expect(report.degraded).toEqual(
      expect.arrayContaining([
        { component: "analyzer:coercion", code: "ERR_ANALYZER_MODEL", detail: expect.any(String) },
        { component: "analyzer:environment", code: "ERR_ANALYZER_TIMEOUT", detail: expect.any(String) },
      ]),
    );
    expect(baseline.degraded).toEqual([]);
    expect(report.risk.confidence).toBeLessThan(baseline.risk.confidence);
    // the other four still answered
    for (const name of ["liveness", "behavior", "device_risk", "conversation"]) {
      expect(report.risk.analyzers[name]?.score).toEqual(expect.any(Number));
    }
  });
});

describe("liveness throws", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ faults: { liveness: "throw" } });
  });
  afterAll(async () => {
    await h?.dispose();
  });

  it("the liveness node is inconclusive and the decision is never approve", async () => {
    const report = await runLiveSession(h);
    expect(report.nodes.find((n) => n.id === "live")?.outcome).toBe("inconclusive");
    expect(report.risk.decision).not.toBe("approve");
    expect(report.risk.reasons.map((r) => r.code)).toContain("ANALYZER_LIVENESS_UNAVAILABLE");
  });
});

describe("per-key rate limit", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ vars: { RATE_LIMIT_PER_MINUTE: "10" } });
  });
  afterAll(async () => {
    await h?.dispose();
  });

  it("answers 429 ERR_RATE_LIMITED with Retry-After once a key spends its budget; other keys are unaffected", async () => {
    const tenant = await h.newTenant("chatty");
    const statuses: number[] = [];
    let limited: Response | null = null;
    for (let i = 0; i < 12; i++) {
      const res = await h.api("/v1/sessions", { key: tenant.apiKey });
      statuses.push(res.status);
      if (res.status === 429) limited = res;
      else await res.body?.cancel();
    }
    // registering the webhook endpoint spent one request of the ten
    expect(statuses.filter((s) => s === 200)).toHaveLength(9);
    if (!limited) throw new Error("no request was rate limited");
    expect(Number(limited.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect(Number(limited.headers.get("retry-after"))).toBeLessThanOrEqual(60);
    expect(((await limited.json()) as { code: string }).code).toBe("ERR_RATE_LIMITED");
    const other = await h.api("/v1/sessions");
    expect(other.status).toBe(200);
  });
});
