/**
 * Keyed answer-shingle digests (services/tokenizer/answer-digests.ts): deterministic per tenant,
 * unrelated across tenants, domain-separated from the fingerprint seed and from a bare HMAC of
 * the shingle, and truncated to 96 bits; and the route on the real service (SoftHSM2, mTLS):
 * validation, typed problems, and no shingle text in its log.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ANSWER_SHINGLE_LABEL, digestShingles } from "../../services/tokenizer/answer-digests.ts";
import { SEED_LABEL } from "../../services/tokenizer/fingerprint/biohash.ts";
import { SoftwareDevKeystore } from "../../services/tokenizer/keys/software-keystore.ts";
import { call, type Reply, type RunningService, startService } from "./support.ts";

describe("answer digests", () => {
  const keys = new SoftwareDevKeystore({ TOKENIZER_DEV_MODE: "1" });
  const shingles = ["i am sending", "am sending money", "sending money to"];

  it("equal shingles of one tenant give equal digests; another tenant's differ", async () => {
    const a1 = await digestShingles(keys, "ten_a", shingles);
    const a2 = await digestShingles(keys, "ten_a", shingles);
    const b = await digestShingles(keys, "ten_b", shingles);
    expect(a1).toEqual(a2);
    expect(a1.keyVersion).toBe(1);
    expect(a1.digests).toHaveLength(3);
    for (const d of a1.digests) expect(d).toMatch(/^[A-Za-z0-9_-]{16}$/);
    expect(new Set(a1.digests).size).toBe(3);
    expect(b.digests.some((d) => a1.digests.includes(d))).toBe(false);
  });

  it("is domain-separated from the fingerprint seed and from a bare HMAC of the text", async () => {
    const [digest] = (await digestShingles(keys, "ten_a", [SEED_LABEL])).digests;
    const seed = await keys.tokenizationHmac("ten_a", 1, new TextEncoder().encode(SEED_LABEL));
    expect(digest).not.toBe(Buffer.from(seed.subarray(0, 12)).toString("base64url"));
    const bare = await keys.tokenizationHmac("ten_a", 1, new TextEncoder().encode("i am sending"));
    const [labelled] = (await digestShingles(keys, "ten_a", ["i am sending"])).digests;
    expect(labelled).not.toBe(Buffer.from(bare.subarray(0, 12)).toString("base64url"));
    const expected = await keys.tokenizationHmac(
      "ten_a",
      1,
      new TextEncoder().encode(`${ANSWER_SHINGLE_LABEL}\u0000i am sending`),
    );
    expect(labelled).toBe(Buffer.from(expected.subarray(0, 12)).toString("base64url"));
  });

  it("follows the tenant's current tokenization key version", async () => {
    const before = await digestShingles(keys, "ten_c", shingles);
    await keys.rotateTokenizationKey("ten_c");
    const after = await digestShingles(keys, "ten_c", shingles);
    expect(after.keyVersion).toBe(before.keyVersion + 1);
    expect(after.digests.some((d) => before.digests.includes(d))).toBe(false);
  });
});

describe("POST /v1/answers/digests on the service", () => {
  let service: RunningService;
  beforeAll(async () => {
    service = await startService({ TOKENIZER_FACE: "none", TOKENIZER_ASR: "none" });
    expect(service.stderr()).not.toContain("DEV ONLY"); // SoftHSM2 holds the key
  });
  afterAll(async () => {
    expect(await service.stop()).toBe(0);
  });
  const post = (body: unknown, headers: Record<string, string> = { "content-type": "application/json" }) =>
    call(service, { path: "/v1/answers/digests", headers, body: Buffer.from(JSON.stringify(body)) });
  const problem = (reply: Reply, status: number, code: string) => {
    expect(reply.status, reply.body.toString()).toBe(status);
    expect(reply.headers["content-type"]).toBe("application/problem+json");
    expect(reply.json()).toMatchObject({ status, code });
  };

  it("answers one digest per shingle, the same for equal shingles of a tenant, and logs no words", async () => {
    const body = { tenantId: "ten_http", shingles: ["my secret cousin", "secret cousin business"] };
    const first = await post(body);
    expect(first.status, first.body.toString()).toBe(200);
    expect(first.headers["cache-control"]).toBe("no-store");
    const reply = first.json() as { keyVersion: number; digests: string[] };
    expect(reply.keyVersion).toBe(1);
    expect(reply.digests).toHaveLength(2);
    expect((await post(body)).json()).toEqual(reply);
    expect((await post({ ...body, tenantId: "ten_other" })).json()).not.toEqual(reply);
    expect(service.stderr() + service.stdout()).not.toMatch(/secret cousin|ten_http/);
  });

  it("refuses what is not the documented request", async () => {
    problem(await post({ tenantId: "ten_http", shingles: [] }), 400, "ERR_ANSWER_REQUEST");
    problem(await post({ tenantId: "ten/x", shingles: ["a b c"] }), 400, "ERR_ANSWER_REQUEST");
    problem(await post({ tenantId: "ten_http", shingles: ["a b c"], extra: 1 }), 400, "ERR_ANSWER_REQUEST");
    problem(
      await post({ tenantId: "ten_http", shingles: ["a b c"] }, { "content-type": "text/plain" }),
      415,
      "ERR_UNSUPPORTED_MEDIA_TYPE",
    );
    problem(
      await call(service, { method: "GET", path: "/v1/answers/digests" }),
      405,
      "ERR_METHOD_NOT_ALLOWED",
    );
  });
});
