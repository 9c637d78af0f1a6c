/**
 * Encryption at rest against the real tokenization service and its SoftHSM2 key store: data keys
 * come from the HSM's KMS routes over mTLS, and a KEK rotation with re-wrap (docs/storage.md,
 * "Encryption at rest") leaves every field readable without touching it.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rewrapDataKeys } from "../../lib/crypto/tenant-keys.ts";
import { KEY_MAINTENANCE_CRON } from "../../workers/edge/key-maintenance.ts";
import { createSession, type Harness, startHarness } from "../support/harness.ts";
import { harnessDb, harnessKeys, kmsEnv } from "../support/tenant-keys.ts";

const METADATA = { email: "hsm.canary@example.com" };

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ tokenizer: "real" });
});
afterAll(async () => {
  await h?.dispose();
});

describe("encryption at rest with the HSM", () => {
  it("seals with an HSM-wrapped data key and survives a KEK rotation with re-wrap", async () => {
    const { session } = await createSession(h, { clientReferenceId: "hsm-subject", metadata: METADATA });
    const row = await h.platform.db
      .prepare("SELECT metadata, client_reference_id FROM sessions WHERE id = ?")
      .bind(session.id)
      .first<{ metadata: string; client_reference_id: string }>();
    expect(row?.metadata).toMatch(/^v1\.dk_/);
    expect(JSON.stringify(row)).not.toContain("hsm");
    const key = await h.platform.db
      .prepare("SELECT wrapped, kek_version FROM tenant_data_keys WHERE tenant_id = ?")
      .bind(h.tenant.tenantId)
      .first<{ wrapped: string; kek_version: number }>();
    expect(Buffer.from(String(key?.wrapped), "base64")).toHaveLength(40);

    // KEK rotation in the HSM, then the re-wrap pass; the data key and every field stay as they are
    const env = kmsEnv(h);
    const rotated = await env.TOKENIZER.fetch(`${h.tokenizer.url}/v1/keys/rotate`, {
      method: "POST",
      body: JSON.stringify({ tenantId: h.tenant.tenantId, kind: "kek" }),
    });
    expect(rotated.status).toBe(200);
    expect(await rewrapDataKeys(env, harnessDb(h), h.tenant.tenantId)).toBe(1);
    const after = await h.platform.db
      .prepare("SELECT wrapped, kek_version FROM tenant_data_keys WHERE tenant_id = ?")
      .bind(h.tenant.tenantId)
      .first<{ wrapped: string; kek_version: number }>();
    expect(after?.kek_version).toBe((key?.kek_version ?? 0) + 1);
    expect(after?.wrapped).not.toBe(key?.wrapped);
    // a fresh ring (this process never held the key) unwraps under the new KEK version
    const slot = { table: "sessions", column: "metadata", rowId: session.id };
    expect(JSON.parse(await harnessKeys(h, h.tenant.tenantId).open(slot, String(row?.metadata)))).toEqual(
      METADATA,
    );
    // and the API answers as before
    const res = await h.api(`/v1/sessions/${session.id}`);
    expect(res.status).toBe(200);
    expect(((await res.json()) as { session: { clientReferenceId: string } }).session.clientReferenceId).toBe(
      "hsm-subject",
    );
  });

  it("the daily key-maintenance cron re-wraps every tenant's data keys after a KEK rotation", async () => {
    const other = await h.newTenant("kek-rotation");
    const { session } = await createSession(h, { clientReferenceId: "kek-subject", metadata: METADATA });
    await createSession(h, { clientReferenceId: "kek-other", metadata: METADATA }, other.apiKey);
    const versions = async (tenantId: string) =>
      (
        await h.platform.db
          .prepare("SELECT kek_version FROM tenant_data_keys WHERE tenant_id = ? ORDER BY generation")
          .bind(tenantId)
          .all<{ kek_version: number }>()
      ).results.map((r) => r.kek_version);
    const before = { mine: await versions(h.tenant.tenantId), other: await versions(other.tenantId) };
    expect(before.other).toHaveLength(1);

    // the operator rotates only this tenant's KEK in the HSM
    const rotated = await kmsEnv(h).TOKENIZER.fetch(`${h.tokenizer.url}/v1/keys/rotate`, {
      method: "POST",
      body: JSON.stringify({ tenantId: h.tenant.tenantId, kind: "kek" }),
    });
    expect(rotated.status).toBe(200);
    const { version } = (await rotated.json()) as { version: number };

    // the real Cron Trigger, through Miniflare (`unsafeTriggerHandlers`)
    const url = new URL("/cdn-cgi/local/scheduled", h.platform.url);
    url.searchParams.set("cron", KEY_MAINTENANCE_CRON);
    const res = await fetch(url);
    expect(res.status).toBe(200);
    await res.body?.cancel();

    expect(await versions(h.tenant.tenantId)).toEqual(before.mine.map(() => version));
    expect(await versions(other.tenantId)).toEqual(before.other); // untouched: its KEK did not move
    const audit = await h.platform.db
      .prepare("SELECT actor, target FROM audit_log WHERE tenant_id = ? AND action = 'keys.rewrap'")
      .bind(h.tenant.tenantId)
      .all<{ actor: string; target: string }>();
    expect(audit.results).toEqual([{ actor: "system", target: `${before.mine.length} data key(s)` }]);
    // every field still opens, through the API
    const view = await h.api(`/v1/sessions/${session.id}`);
    expect(view.status).toBe(200);
    expect(
      ((await view.json()) as { session: { clientReferenceId: string } }).session.clientReferenceId,
    ).toBe("kek-subject");
  });
});
