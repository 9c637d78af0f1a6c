/**
 * Crypto-shredding of one subject against the real tokenization service and its SoftHSM2 key
 * store (docs/data-protection.md "Recognition and crypto-shredding"): a fingerprint enrolled under
 * the subject's own key (one HSM key owner per subject) opens from a raw copy of its rows until
 * `DELETE /v1/subjects/{ref}` has the HSM destroy that subject's KEK; afterwards the same copy —
 * what a D1 Time Travel restore would bring back — no longer opens, while the tenant's other
 * subjects and fields are untouched. Enrolment is driven through the platform's own store
 * (lib/recognition/store.ts) from the test process, as tests/support/tenant-keys.ts does for
 * sealing: the real keyed template needs real faces, which test/tokenizer/fingerprint.test.ts covers.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decryptField } from "../../lib/crypto/field-encryption.ts";
import { enrolFingerprint, matchFingerprint } from "../../lib/recognition/store.ts";
import {
  forgetSubjectKey,
  openSubjectKey,
  SubjectKeyDestroyedError,
  type SubjectKeyRow,
} from "../../lib/recognition/subject-keys.ts";
import { createSession, type Harness, startHarness } from "../support/harness.ts";
import { harnessDb, harnessKeys, kmsEnv } from "../support/tenant-keys.ts";

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ tokenizer: "real" });
});
afterAll(async () => {
  await h?.dispose();
});

const template = (fill: number) => Buffer.alloc(32, fill).toString("base64");

describe("per-subject keys in the HSM", () => {
  it("subject erasure destroys the subject's KEK: a pre-erasure row copy no longer opens", async () => {
    const env = kmsEnv(h);
    const db = harnessDb(h);
    const keys = harnessKeys(h, h.tenant.tenantId);
    const { session } = await createSession(h, { clientReferenceId: "hsm-ivan" });
    const enrol = (ref: string, bits: string) =>
      enrolFingerprint(env, db, {
        tenantKeys: keys,
        sessionId: session.id,
        clientReferenceId: ref,
        consentRef: `consent-${ref}`,
        mode: "test",
        zone: "eu",
        probe: { keyVersion: 1, bits },
      });
    const ivan = await enrol("hsm-ivan", template(0x5a));
    await enrol("hsm-judy", template(0xa5));

    const backupKeys = await h.platform.db
      .prepare(
        "SELECT key_id AS keyId, tenant_id AS tenantId, subject_hash AS subjectHash, zone, kek_version AS kekVersion, wrapped, created_at AS createdAt FROM subject_keys WHERE tenant_id = ?",
      )
      .bind(h.tenant.tenantId)
      .all<SubjectKeyRow>();
    const backupFp = await h.platform.db
      .prepare("SELECT id, subject_key_id, template FROM fingerprints WHERE tenant_id = ?")
      .bind(h.tenant.tenantId)
      .all<{ id: string; subject_key_id: string; template: string }>();
    expect(backupKeys.results).toHaveLength(2);
    const ivanFp = backupFp.results.find((r) => r.id === ivan);
    const ivanKey = backupKeys.results.find((k) => k.keyId === ivanFp?.subject_key_id);
    const judyFp = backupFp.results.find((r) => r.id !== ivan);
    const judyKey = backupKeys.results.find((k) => k.keyId === judyFp?.subject_key_id);
    if (!ivanFp || !ivanKey || !judyFp || !judyKey) throw new Error("enrolment rows missing");
    // the wrapped key is stored sealed under the tenant key, never as the bare KWP blob
    expect(ivanKey.wrapped).toMatch(/^v1\.dk_/);
    const open = async (key: SubjectKeyRow, fp: { id: string; template: string }) => {
      forgetSubjectKey(key.keyId); // a reader restoring a backup holds no cached key
      return decryptField(
        await openSubjectKey(env, keys, key),
        { table: "fingerprints", column: "template", rowId: fp.id },
        fp.template,
      );
    };
    expect(await open(ivanKey, ivanFp)).toBe(template(0x5a));
    // the cold cost of 1:N per subject: one tenant-key open + one HSM unwrap (docs/data-protection.md)
    const rounds = 20;
    const started = performance.now();
    for (let i = 0; i < rounds; i++) await open(judyKey, judyFp);
    console.log(
      `cold subject-key open (HSM unwrap over mTLS + GCM): ${((performance.now() - started) / rounds).toFixed(1)} ms each`,
    );
    expect(
      await matchFingerprint(env, db, keys, { keyVersion: 1, bits: template(0x5a) }, session.id),
    ).toMatchObject({ clientReferenceId: "hsm-ivan", distance: 0 });

    const erase = await h.api("/v1/subjects/hsm-ivan", { method: "DELETE" });
    expect(erase.status).toBe(200);
    expect(await erase.json()).toMatchObject({ fingerprintsErased: 1 });

    await expect(open(ivanKey, ivanFp)).rejects.toBeInstanceOf(SubjectKeyDestroyedError);
    // the other subject of the same tenant is untouched
    expect(await open(judyKey, judyFp)).toBe(template(0xa5));
    expect(
      await matchFingerprint(env, db, keys, { keyVersion: 1, bits: template(0x5a) }, session.id),
    ).toBeNull();
  });
});
