/**
 * Encryption at rest, end to end in workerd (product-spec §7, docs/storage.md): after complete
 * sessions, D1's raw rows hold no personal data, score, decision, outcome or transcript in clear;
 * a tampered ciphertext, or one moved to another row or column, is refused with
 * `500 ERR_DATA_INTEGRITY`; rows written before and after a data-key rotation both read back.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rotateDataKey } from "../../lib/crypto/tenant-keys.ts";
import { ScriptedClient } from "../../scripts/lib/scripted-client.ts";
import type { FixedTokenizer } from "../support/fixed-tokenizer.ts";
import { createSession, type Harness, startHarness } from "../support/harness.ts";
import { harnessDb, kmsEnv } from "../support/tenant-keys.ts";

const LIVE_FRAME = new Uint8Array([0x4c, 0xff, 0xd8, 1, 2, 3]); // profile "L"
const TONE = Int16Array.from({ length: 16000 }, (_, i) =>
  Math.round(8000 * Math.sin((2 * Math.PI * 150 * i) / 16000)),
);

const REF = "subject-7f3a-canary";
const METADATA = { email: "alice.canary@example.com", plan: "platinum-canary", amount: 4711.42 };
const PROVIDED = { fullName: "Alice Canary-Person", country: "AT" };
/** strings that must never appear in clear anywhere in D1 */
const CANARIES = [REF, METADATA.email, METADATA.plan, "4711.42", PROVIDED.fullName, '"decision"', '"score"'];

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
  // An endpoint that never answers keeps undelivered payloads in D1, so they can be inspected.
  const res = await h.api("/v1/webhook-endpoints", {
    method: "POST",
    body: JSON.stringify({ url: "http://127.0.0.1:9/unreachable" }),
  });
  expect(res.status).toBe(201);
});
afterAll(async () => {
  await h?.dispose();
});

async function completeOne(ref = REF): Promise<string> {
  const { session, clientSecret } = await createSession(h, {
    clientReferenceId: ref,
    metadata: METADATA,
    providedData: PROVIDED,
  });
  const client = await ScriptedClient.connect(h.platform.url, clientSecret.secret);
  await client.stream({ frames: [LIVE_FRAME], audio: TONE });
  await h.receiver.waitFor(
    (w) => w.json.type === "session.completed" && w.json.data.session.id === session.id,
  );
  return session.id;
}

async function dumpD1(): Promise<Record<string, Record<string, unknown>[]>> {
  const tables = await h.platform.db
    .prepare(
      "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%'",
    )
    .all<{ name: string }>();
  const out: Record<string, Record<string, unknown>[]> = {};
  for (const { name } of tables.results) {
    out[name] = (
      await h.platform.db.prepare(`SELECT * FROM "${name}"`).all<Record<string, unknown>>()
    ).results;
  }
  return out;
}

async function getSession(id: string): Promise<Response> {
  return h.api(`/v1/sessions/${id}`);
}

async function expectIntegrityError(res: Response): Promise<void> {
  expect(res.status).toBe(500);
  expect(res.headers.get("content-type")).toContain("application/problem+json");
  const body = (await res.json()) as { code: string; detail?: string };
  expect(body.code).toBe("ERR_DATA_INTEGRITY");
  // no internals: neither key ids nor ciphertext in the answer
  expect(JSON.stringify(body)).not.toMatch(/dk_|v1\./);
}

const raw = (sql: string, ...bind: unknown[]) => h.platform.db.prepare(sql).bind(...bind);

describe("encryption at rest", () => {
  let first: string;
  let second: string;

  it("leaves no personal data, score, decision, outcome or transcript in clear in D1", async () => {
    first = await completeOne();
    second = await completeOne();
    // what the API answers is unchanged: plaintext, as sent
    const view = (await (await getSession(first)).json()) as {
      session: {
        clientReferenceId: string;
        report: { risk: { decision: string }; nodes: { outcome: string }[] };
      };
    };
    expect(view.session.clientReferenceId).toBe(REF);
    expect(view.session.report.nodes.map((n) => n.outcome)).toEqual(["next", "granted", "live"]);
    const exported = (await (await h.api(`/v1/subjects/${REF}`)).json()) as {
      subject: { sessions: { id: string; metadata: unknown; providedData: unknown }[] };
    };
    expect(exported.subject.sessions.map((s) => s.id).sort()).toEqual([first, second].sort());
    expect(exported.subject.sessions[0]).toMatchObject({ metadata: METADATA, providedData: PROVIDED });

    const dump = await dumpD1();
    const text = JSON.stringify(dump);
    for (const canary of CANARIES) expect(text, `"${canary}" found in clear`).not.toContain(canary);

    // every protected column holds a v1 ciphertext (docs/storage.md)
    const sealed = /^v1\.dk_[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
    const ours = (dump.sessions ?? []).filter((r) => r.id === first || r.id === second);
    expect(ours).toHaveLength(2);
    for (const row of ours) {
      for (const col of ["client_reference_id", "metadata", "provided_data"])
        expect(row[col]).toMatch(sealed);
      expect(row.client_reference_hash).toMatch(/^[A-Za-z0-9_-]{43}$/);
    }
    const outcomes = (dump.node_outcomes ?? []).filter((r) => r.session_id === first);
    expect(outcomes).toHaveLength(3);
    for (const row of outcomes) expect(row.outcome).toMatch(sealed);
    const report = (dump.reports ?? []).find((r) => r.session_id === first);
    for (const col of ["risk", "transcript", "device", "degraded"]) expect(report?.[col]).toMatch(sealed);
    const payloads = (dump.deliveries ?? []).filter((r) => r.payload !== null);
    expect(payloads.length).toBeGreaterThan(0);
    for (const row of payloads) expect(row.payload).toMatch(sealed);
    // the key table holds wrapped keys only: 40-byte KWP blobs
    const keys = (dump.tenant_data_keys ?? []).filter((r) => r.tenant_id === h.tenant.tenantId);
    expect(keys).toHaveLength(1);
    expect(Buffer.from(String(keys[0]?.wrapped), "base64")).toHaveLength(40);
  });

  it("refuses a tampered ciphertext with 500 ERR_DATA_INTEGRITY", async () => {
    const row = await raw("SELECT risk FROM reports WHERE session_id = ?", first).first<{ risk: string }>();
    const original = String(row?.risk);
    const last = original.at(-2) === "A" ? "B" : "A";
    const tampered = `${original.slice(0, -2)}${last}${original.slice(-1)}`;
    await raw("UPDATE reports SET risk = ? WHERE session_id = ?", tampered, first).run();
    await expectIntegrityError(await getSession(first));
    await raw("UPDATE reports SET risk = ? WHERE session_id = ?", original, first).run();
    expect((await getSession(first)).status).toBe(200);
  });

  it("refuses a ciphertext copied to another row or another column", async () => {
    const a = await raw("SELECT risk, device FROM reports WHERE session_id = ?", first).first<{
      risk: string;
      device: string;
    }>();
    const b = await raw("SELECT risk FROM reports WHERE session_id = ?", second).first<{ risk: string }>();
    // another row: the second session's (valid) risk under the first session
    await raw("UPDATE reports SET risk = ? WHERE session_id = ?", b?.risk, first).run();
    await expectIntegrityError(await getSession(first));
    // another column of the same row: the device summary where the risk belongs
    await raw("UPDATE reports SET risk = ? WHERE session_id = ?", a?.device, first).run();
    await expectIntegrityError(await getSession(first));
    // the client reference of one session moved onto the other
    const refB = await raw("SELECT client_reference_id AS v FROM sessions WHERE id = ?", second).first<{
      v: string;
    }>();
    const refA = await raw("SELECT client_reference_id AS v FROM sessions WHERE id = ?", first).first<{
      v: string;
    }>();
    await raw("UPDATE reports SET risk = ? WHERE session_id = ?", a?.risk, first).run();
    await raw("UPDATE sessions SET client_reference_id = ? WHERE id = ?", refB?.v, first).run();
    await expectIntegrityError(await getSession(first));
    await raw("UPDATE sessions SET client_reference_id = ? WHERE id = ?", refA?.v, first).run();
    expect((await getSession(first)).status).toBe(200);
  });

  it("reads rows written before and after a data-key rotation; lookups by reference span both", async () => {
    const generation = await rotateDataKey(kmsEnv(h), harnessDb(h), h.tenant.tenantId);
    expect(generation).toBe(2);
    const after = await completeOne();
    const keyIds = await raw(
      "SELECT key_id, generation, retired_at FROM tenant_data_keys WHERE tenant_id = ? ORDER BY generation",
      h.tenant.tenantId,
    ).all<{ key_id: string; generation: number; retired_at: number | null }>();
    expect(keyIds.results.map((k) => [k.generation, k.retired_at === null])).toEqual([
      [1, false],
      [2, true],
    ]);
    const keyOf = async (id: string) =>
      String(
        (await raw("SELECT metadata FROM sessions WHERE id = ?", id).first<{ metadata: string }>())?.metadata,
      ).split(".")[1];
    expect(await keyOf(first)).toBe(keyIds.results[0]?.key_id);
    expect(await keyOf(after)).toBe(keyIds.results[1]?.key_id);
    for (const id of [first, after]) {
      const res = await getSession(id);
      expect(res.status).toBe(200);
      const body = (await res.json()) as {
        session: { clientReferenceId: string; report: { risk: unknown } };
      };
      expect(body.session.clientReferenceId).toBe(REF);
      expect(body.session.report.risk).toBeTruthy();
    }
    const list = (await (await h.api(`/v1/sessions?clientReferenceId=${REF}`)).json()) as {
      data: { id: string }[];
    };
    expect(list.data.map((s) => s.id).sort()).toEqual([first, second, after].sort());
  });

  it("costs one KMS data-key call per key generation, and an unwrap only per isolate and key", () => {
    const kms = (h.tokenizer as FixedTokenizer).kms;
    console.log(
      `KMS calls for 3 complete sessions and one rotation: ${JSON.stringify(Object.fromEntries(kms.calls))}`,
    );
    // generation 1 on the tenant's first use, generation 2 by the rotation above
    expect(kms.calls.get("data-key")).toBe(2);
    // generation 2 was made outside the edge: each isolate that uses it unwraps it once
    // (edge + session DO here); every other call was served from the isolate cache
    expect(kms.calls.get("unwrap") ?? 0).toBeLessThanOrEqual(2);
  });
});
