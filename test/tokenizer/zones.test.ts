/**
 * Residency at the tokenizer (docs/deploy.md "The tokenization service", TOKENIZER_ZONES): the
 * real service, started for one region, tokenizes batches of its zone, names that zone in the
 * reply, and refuses another zone with 421 ERR_ZONE_NOT_SERVED (RFC 9110 §15.5.20) before any
 * media is decoded — so a session routed to the wrong region is refused, never processed.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TokenizeReplySchema } from "../../lib/features.ts";
import { encodeBatch } from "../../lib/tokenizer-batch.ts";
import { ConfigError, parseZones } from "../../services/tokenizer/config.ts";
import { BATCH_HEADERS, call, type RunningService, scene, startService, toJpeg } from "./support.ts";

function batch(zone: "eu" | "us" | undefined): Uint8Array {
  const jpeg = toJpeg(scene(64, 48), 64, 48);
  return encodeBatch(
    {
      tenantId: "tenant-zone",
      sessionId: "session-zone",
      ...(zone ? { zone } : {}),
      seq: 0,
      startMs: 0,
      endMs: 1000,
      frames: [{ tsMs: 0, format: "jpeg", offset: 0, length: jpeg.length }],
      audio: null,
      wantFingerprint: false,
    },
    [jpeg],
  );
}

let service: RunningService;
beforeAll(async () => {
  service = await startService({ TOKENIZER_ZONES: "eu", TOKENIZER_FACE: "none", TOKENIZER_DEV_MODE: "1" });
});
afterAll(async () => {
  await service?.stop();
});

describe("a tokenizer serving eu", () => {
  it("tokenizes an eu batch and names eu in the reply", async () => {
    const reply = await call(service, { headers: BATCH_HEADERS, body: batch("eu") });
    expect(reply.status).toBe(200);
    expect(TokenizeReplySchema.parse(reply.json()).zone).toBe("eu");
  });

  it("refuses a us batch with 421 ERR_ZONE_NOT_SERVED", async () => {
    const reply = await call(service, { headers: BATCH_HEADERS, body: batch("us") });
    expect(reply.status).toBe(421);
    expect(reply.headers["content-type"]).toBe("application/problem+json");
    expect(reply.json()).toMatchObject({ code: "ERR_ZONE_NOT_SERVED", status: 421 });
  });

  it("answers a batch that names no zone with zone null, which the session DO refuses", async () => {
    const reply = await call(service, { headers: BATCH_HEADERS, body: batch(undefined) });
    expect(reply.status).toBe(200);
    expect(TokenizeReplySchema.parse(reply.json()).zone).toBeNull();
  });
});

describe("TOKENIZER_ZONES", () => {
  it("accepts eu, us and both, and refuses anything else", () => {
    expect(parseZones("eu")).toEqual(["eu"]);
    expect(parseZones("us")).toEqual(["us"]);
    expect(parseZones(" eu , us ")).toEqual(["eu", "us"]);
    for (const bad of ["", "EU", "eu,eu", "eu;us", "fedramp", "eu,"]) {
      expect(() => parseZones(bad), bad).toThrow(ConfigError);
    }
  });
});
