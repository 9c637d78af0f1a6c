/**
 * The fingerprint store (issue 6 §5, product-spec §2 `recognition`, §7): enrolment under the
 * subject's own key with the consent reference recorded, 1:N matching among one tenant's
 * templates, the export listing, erasure by crypto-shredding, and the retention purge.
 *
 * Every template, reference and consent reference is AES-256-GCM under the subject's key
 * (subject-keys.ts), bound to `fingerprints|<column>|<fingerprint id>`; the bits are never logged,
 * exported or stored in clear. Every query is scoped by tenant: another tenant's templates are
 * never read, let alone compared (and would be unlinkable anyway: each tenant has its own
 * tokenization key). Audit rows (`fingerprint.enrol`, `.match`, `.erase`) name the subject by its
 * keyed digest, as subject erasure does, never a payload.
 *
 * Cost of 1:N (docs/data-protection.md "Recognition"): one indexed query for the tenant's N
 * templates of the probe's key version; per enrolled subject one tenant-key GCM open and one HSM
 * `unwrap` round trip when its key is not cached in the isolate (10 min TTL), then one GCM
 * decrypt and a 256-bit XOR/popcount per template. Unwraps run `UNWRAP_CONCURRENCY` at a time.
 */
import { and, eq, inArray, lt } from "drizzle-orm";
import { DataIntegrityError, decryptField, encryptField, type FieldKey } from "../crypto/field-encryption.ts";
import { newId } from "../crypto/random.ts";
import type { KmsEnv, TenantKeys } from "../crypto/tenant-keys.ts";
import type { Db } from "../db/client.ts";
import { auditLog, fingerprints, subjectKeys } from "../db/schema.ts";
import { FacetError } from "../errors.ts";
import { bestMatch, hammingDistance, MATCH_THRESHOLD } from "./match.ts";
import {
  destroySubjectKey,
  findSubjectKey,
  openSubjectKey,
  SubjectKeyDestroyedError,
  type SubjectKeyRow,
  subjectKeyForEnrolment,
} from "./subject-keys.ts";

export interface Probe {
  keyVersion: number;
  /** base64 template bits */
  bits: string;
}

const UNWRAP_CONCURRENCY = 8;
/** D1 binds at most 100 parameters per statement. */
const CHUNK = 40;

type Column = "template" | "client_reference_id" | "consent_ref";
const slot = (id: string, column: Column) => ({ table: "fingerprints", column, rowId: id });

async function open(key: FieldKey, id: string, column: Column, sealed: string): Promise<string> {
  try {
    return await decryptField(key, slot(id, column), sealed);
  } catch (error) {
    if (error instanceof DataIntegrityError) throw new FacetError("ERR_DATA_INTEGRITY");
    throw error;
  }
}

/** The audit target of a subject: hex of its keyed reference hash (same as routes/subjects.ts). */
export function subjectTarget(subjectHash: string): string {
  const mac = atob(subjectHash.replaceAll("-", "+").replaceAll("_", "/"));
  return `subject:${Array.from(mac, (c) => c.charCodeAt(0).toString(16).padStart(2, "0")).join("")}`;
}

function audit(db: Db, tenantId: string, action: string, target: string, at: number) {
  return db.insert(auditLog).values({ id: newId("aud"), tenantId, actor: "system", action, target, at });
}

export interface Enrolment {
  tenantKeys: TenantKeys;
  sessionId: string;
  clientReferenceId: string;
  consentRef: string;
  mode: "test" | "live";
  zone: "eu" | "us";
  probe: Probe;
}

/** Stores the probe under the subject's key, with the consent reference; returns its id. */
export async function enrolFingerprint(env: KmsEnv, db: Db, e: Enrolment, now = Date.now()): Promise<string> {
  const keys = e.tenantKeys;
  const subjectHash = await keys.referenceHash(e.clientReferenceId);
  const { row, key } = await subjectKeyForEnrolment(env, db, keys, subjectHash, e.zone, now);
  const id = newId("fp");
  const [template, clientReferenceId, consentRef] = await Promise.all([
    encryptField(key, slot(id, "template"), e.probe.bits),
    encryptField(key, slot(id, "client_reference_id"), e.clientReferenceId),
    encryptField(key, slot(id, "consent_ref"), e.consentRef),
  ]);
  await db.batch([
    db.insert(fingerprints).values({
      id,
      tenantId: keys.tenantId,
      subjectKeyId: row.keyId,
      keyVersion: e.probe.keyVersion,
      template,
      clientReferenceId,
      consentRef,
      sessionId: e.sessionId,
      mode: e.mode,
      createdAt: now,
    }),
    audit(db, keys.tenantId, "fingerprint.enrol", subjectTarget(subjectHash), now),
  ]);
  return id;
}

export interface MatchResult {
  clientReferenceId: string;
  distance: number;
}

/** 1:N among the tenant's templates of the probe's key version; null when none is close enough. */
export async function matchFingerprint(
  env: KmsEnv,
  db: Db,
  keys: TenantKeys,
  probe: Probe,
  sessionId: string,
  now = Date.now(),
): Promise<MatchResult | null> {
  const rows = await db
    .select({ fp: fingerprints, key: subjectKeys })
    .from(fingerprints)
    .innerJoin(subjectKeys, eq(subjectKeys.keyId, fingerprints.subjectKeyId))
    .where(
      and(
        eq(fingerprints.tenantId, keys.tenantId),
        eq(subjectKeys.tenantId, keys.tenantId),
        eq(fingerprints.keyVersion, probe.keyVersion),
      ),
    );
  const bySubject = new Map<string, { key: SubjectKeyRow; fps: (typeof rows)[number]["fp"][] }>();
  for (const r of rows) {
    const entry = bySubject.get(r.key.keyId) ?? { key: r.key, fps: [] };
    entry.fps.push(r.fp);
    bySubject.set(r.key.keyId, entry);
  }
  const subjects = [...bySubject.values()];
  const scored: { id: string; distance: number; key: FieldKey; sealedRef: string; subjectHash: string }[] =
    [];
  for (let i = 0; i < subjects.length; i += UNWRAP_CONCURRENCY) {
    await Promise.all(
      subjects.slice(i, i + UNWRAP_CONCURRENCY).map(async ({ key: keyRow, fps }) => {
        let key: FieldKey;
        try {
          key = await openSubjectKey(env, keys, keyRow);
        } catch (error) {
          // shredded while its rows were being deleted: nothing of it can match any more
          if (error instanceof SubjectKeyDestroyedError) return;
          throw error;
        }
        for (const fp of fps) {
          const bits = await open(key, fp.id, "template", fp.template);
          scored.push({
            id: fp.id,
            distance: hammingDistance(probe.bits, bits),
            key,
            sealedRef: fp.clientReferenceId,
            subjectHash: keyRow.subjectHash,
          });
        }
      }),
    );
  }
  const best = bestMatch(scored, MATCH_THRESHOLD);
  const hit = best ? scored.find((s) => s.id === best.id) : undefined;
  if (!hit) {
    await audit(db, keys.tenantId, "fingerprint.match", sessionId, now);
    return null;
  }
  await audit(db, keys.tenantId, "fingerprint.match", subjectTarget(hit.subjectHash), now);
  return {
    clientReferenceId: await open(hit.key, hit.id, "client_reference_id", hit.sealedRef),
    distance: hit.distance,
  };
}

export interface EnrolmentView {
  id: string;
  sessionId: string;
  consentRef: string;
  keyVersion: number;
  enrolledAt: string;
}

/** The subject's enrolments for the access export: never the template bits. */
export async function listEnrolments(
  env: KmsEnv,
  db: Db,
  keys: TenantKeys,
  subjectHash: string,
): Promise<EnrolmentView[]> {
  const keyRow = await findSubjectKey(db, keys.tenantId, subjectHash);
  if (!keyRow) return [];
  const rows = await db
    .select()
    .from(fingerprints)
    .where(and(eq(fingerprints.tenantId, keys.tenantId), eq(fingerprints.subjectKeyId, keyRow.keyId)));
  if (rows.length === 0) return [];
  const key = await openSubjectKey(env, keys, keyRow);
  return Promise.all(
    rows.map(async (fp) => ({
      id: fp.id,
      sessionId: fp.sessionId,
      consentRef: await open(key, fp.id, "consent_ref", fp.consentRef),
      keyVersion: fp.keyVersion,
      enrolledAt: new Date(fp.createdAt).toISOString(),
    })),
  );
}

/** Erasure of a subject's fingerprints by crypto-shredding its key; returns how many went. */
export async function eraseSubjectFingerprints(
  env: KmsEnv,
  db: Db,
  tenantId: string,
  subjectHash: string,
  now = Date.now(),
): Promise<number> {
  const keyRow = await findSubjectKey(db, tenantId, subjectHash);
  if (!keyRow) return 0;
  const count = (
    await db
      .select({ id: fingerprints.id })
      .from(fingerprints)
      .where(and(eq(fingerprints.tenantId, tenantId), eq(fingerprints.subjectKeyId, keyRow.keyId)))
  ).length;
  await destroySubjectKey(env, db, keyRow);
  await audit(db, tenantId, "fingerprint.erase", subjectTarget(subjectHash), now);
  return count;
}

/**
 * Retention class `fingerprints`: deletes the tenant's templates of `mode` created before
 * `cutoff`, then crypto-shreds the key of every subject left without a template. Returns how many
 * templates went.
 */
export async function purgeFingerprints(
  env: KmsEnv,
  db: Db,
  tenantId: string,
  mode: "test" | "live",
  cutoff: number,
): Promise<number> {
  let purged = 0;
  const touched = new Set<string>();
  for (;;) {
    const old = await db
      .select({ id: fingerprints.id, keyId: fingerprints.subjectKeyId })
      .from(fingerprints)
      .where(
        and(
          eq(fingerprints.tenantId, tenantId),
          eq(fingerprints.mode, mode),
          lt(fingerprints.createdAt, cutoff),
        ),
      )
      .limit(CHUNK);
    if (old.length === 0) break;
    for (const o of old) touched.add(o.keyId);
    await db.delete(fingerprints).where(
      inArray(
        fingerprints.id,
        old.map((o) => o.id),
      ),
    );
    purged += old.length;
  }
  for (const keyId of touched) {
    const [left] = await db
      .select({ id: fingerprints.id })
      .from(fingerprints)
      .where(eq(fingerprints.subjectKeyId, keyId))
      .limit(1);
    if (left) continue;
    const [row] = await db
      .select()
      .from(subjectKeys)
      .where(and(eq(subjectKeys.tenantId, tenantId), eq(subjectKeys.keyId, keyId)));
    if (row) await destroySubjectKey(env, db, row);
  }
  return purged;
}
