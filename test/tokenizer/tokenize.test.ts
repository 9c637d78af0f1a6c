/**
 * The tokenize route end to end against the real process: the reply contract
 * (`TokenizeReplySchema`), every error code with its status, and that the service keeps serving
 * after each bad request. Features are checked for direction and physics on synthetic media
 * (blur lowers sharpness, a 200 Hz tone has F0 ≈ 200 Hz), not for magic values.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TokenizeReplySchema } from "../../lib/features.ts";
import { MAX_BATCH_BYTES } from "../../lib/tokenizer-batch.ts";
import {
  BATCH_HEADERS,
  boxBlur,
  call,
  makeBatch,
  pixels,
  type RunningService,
  scene,
  startService,
  toJpeg,
  tone,
} from "./support.ts";

const W = 320;
const H = 240;
let service: RunningService;
let goodBatch: Uint8Array;

beforeAll(async () => {
  service = await startService();
  goodBatch = makeBatch([{ bytes: toJpeg(scene(W, H, 1), W, H) }, { bytes: toJpeg(scene(W, H, 2), W, H) }]);
});
afterAll(async () => {
  await service.stop();
});

async function tokenize(body: Uint8Array) {
  const reply = await call(service, { headers: BATCH_HEADERS, body });
  expect(reply.status, reply.body.toString()).toBe(200);
  expect(reply.headers["content-type"]).toBe("application/json");
  expect(reply.headers["cache-control"]).toBe("no-store");
  return TokenizeReplySchema.parse(reply.json());
}

async function expectProblem(
  reply: Promise<Awaited<ReturnType<typeof call>>>,
  status: number,
  code: string,
): Promise<void> {
  const r = await reply;
  expect(r.status).toBe(status);
  expect(r.headers["content-type"]).toBe("application/problem+json");
  const problem = r.json() as Record<string, unknown>;
  expect(problem).toMatchObject({ status, code, type: `urn:facet:tokenizer:${code}` });
  expect(typeof problem.title).toBe("string");
  expect(typeof problem.detail).toBe("string");
  // …and the service still tokenizes a good batch afterwards.
  await tokenize(goodBatch);
}

/** A valid JPEG whose SOF frame header claims width × height (T.81 §B.2.2). */
function withDeclaredSize(bytes: Uint8Array, width: number, height: number): Uint8Array {
  const out = bytes.slice();
  for (let i = 2; i + 8 < out.length; ) {
    const marker = out[i + 1] ?? 0;
    if (marker === 0xc0 || marker === 0xc2) {
      out[i + 5] = height >> 8;
      out[i + 6] = height & 0xff;
      out[i + 7] = width >> 8;
      out[i + 8] = width & 0xff;
      return out;
    }
    i += 2 + (((out[i + 2] ?? 0) << 8) | (out[i + 3] ?? 0));
  }
  throw new Error("no SOF marker");
}

describe("POST /v1/tokenize", () => {
  it("returns features for a good batch (the face engine runs by default and finds no face)", async () => {
    const reply = await tokenize(makeBatch([{ bytes: toJpeg(scene(W, H), W, H) }], tone(200, 1, 0.3), 7));
    expect(reply.fingerprint).toBeNull();
    expect(reply.features).toMatchObject({ schema: "facet.features/1", seq: 7, startMs: 0, endMs: 1000 });
    expect(reply.features.face).toMatchObject({ framesAnalyzed: 1, facePresentRatio: 0, multiFaceRatio: 0 });
    expect(reply.features.image).not.toBeNull();
    expect(reply.features.audio?.durationMs).toBe(1000);
  });

  it("sharp frames score higher sharpness than the same frames blurred", async () => {
    const sharp = scene(W, H, 3);
    const blurred = boxBlur(sharp, W, H, 3);
    const a = await tokenize(makeBatch([{ bytes: toJpeg(sharp, W, H) }]));
    const b = await tokenize(makeBatch([{ bytes: toJpeg(blurred, W, H) }]));
    expect(a.features.image?.sharpness).toBeGreaterThan(0.8);
    expect(b.features.image?.sharpness).toBeLessThan(0.4);
    // blur also strips the high-frequency DCT band
    expect(a.features.image?.moireEnergy ?? 0).toBeGreaterThan(10 * (b.features.image?.moireEnergy ?? 1));
  });

  it("image statistics follow exposure, colour, motion and cadence", async () => {
    const warm = pixels(W, H, () => [230, 150, 80]);
    const cold = pixels(W, H, () => [150, 180, 250]);
    const w = await tokenize(makeBatch([{ bytes: toJpeg(warm, W, H) }, { bytes: toJpeg(warm, W, H) }]));
    const c = await tokenize(
      makeBatch([
        { bytes: toJpeg(cold, W, H), tsMs: 0 },
        { bytes: toJpeg(scene(W, H, 4), W, H), tsMs: 40 },
        { bytes: toJpeg(cold, W, H), tsMs: 60 },
      ]),
    );
    expect(w.features.image?.colourTemperatureK).toBeLessThan(4000);
    expect(c.features.image?.colourTemperatureK).toBeGreaterThan(7000);
    expect(w.features.image?.backgroundMotion).toBeLessThan(0.01); // identical frames
    expect(c.features.image?.backgroundMotion).toBeGreaterThan(0.05);
    expect(w.features.image?.frameIntervalMeanMs).toBe(33);
    expect(w.features.image?.frameIntervalCv).toBe(0);
    expect(c.features.image?.frameIntervalMeanMs).toBe(30);
    expect(c.features.image?.frameIntervalCv).toBeCloseTo(1 / 3, 5);

    const black = pixels(W, H, () => [0, 0, 0]);
    const k = await tokenize(makeBatch([{ bytes: toJpeg(black, W, H) }]));
    expect(k.features.image?.exposureMean).toBeLessThan(0.02);
    expect(k.features.image?.clippedRatio).toBeGreaterThan(0.99);
  });

  it("accepts raw rgb frames with width and height", async () => {
    const rgb = scene(64, 48, 5);
    const reply = await tokenize(makeBatch([{ bytes: rgb, format: "rgb", width: 64, height: 48 }]));
    expect(reply.features.image?.exposureMean).toBeGreaterThan(0.2);
  });

  it("a tone is speech with F0 ≈ its frequency; silence is not", async () => {
    const t = await tokenize(makeBatch([], tone(200, 1, 0.3)));
    const s = await tokenize(makeBatch([], tone(200, 1, 0)));
    expect(t.features.image).toBeNull();
    expect(t.features.audio?.speechRatio).toBeGreaterThan(0.9);
    expect(s.features.audio?.speechRatio).toBe(0);
    expect(t.features.audio?.rmsDb).toBeCloseTo(20 * Math.log10(0.3 / Math.SQRT2), 0);
    expect(s.features.audio?.rmsDb).toBe(-160);
    expect(t.features.audio?.f0MeanHz).toBeGreaterThan(197);
    expect(t.features.audio?.f0MeanHz).toBeLessThan(203);
    expect(t.features.audio?.jitter).toBeLessThan(0.01);
    expect(t.features.audio?.spectralFlatness).toBeLessThan(0.05);
    expect(t.features.audio?.speechSegments).toHaveLength(1);
    const low = await tokenize(makeBatch([], tone(120, 1, 0.3)));
    expect(low.features.audio?.f0MeanHz).toBeGreaterThan(118);
    expect(low.features.audio?.f0MeanHz).toBeLessThan(122);
  });

  it("tone bursts over white noise: speech segments and a noise-shaped background", async () => {
    const noise = new Uint8Array(32_000);
    const view = new DataView(noise.buffer);
    const burst = new DataView(tone(200, 1, 0.3).buffer);
    for (let i = 0; i < 16_000; i++) {
      const inBurst = i >= 4000 && i < 8000;
      const n = Math.sin(i * 12.9898) * 43_758.5453;
      const v = (n - Math.floor(n) - 0.5) * 600 + (inBurst ? burst.getInt16(2 * i, true) : 0);
      view.setInt16(2 * i, Math.round(v), true);
    }
    const reply = await tokenize(makeBatch([], noise));
    const audio = reply.features.audio;
    expect(audio?.speechRatio).toBeGreaterThan(0.15);
    expect(audio?.speechRatio).toBeLessThan(0.5);
    expect(audio?.speechSegments.length).toBe(1);
    expect(audio?.speechSegments[0]?.startMs).toBeGreaterThanOrEqual(200);
    expect(audio?.speechSegments[0]?.endMs).toBeLessThanOrEqual(600);
    const bands = audio?.backgroundBands ?? [];
    expect(bands.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 6);
    // white noise: energy doubles per octave, so the top band dominates
    expect(bands[7]).toBeGreaterThan(bands[3] ?? 1);
    expect(audio?.noiseFloorDb).toBeLessThan(-30);
  });
});

describe("POST /v1/tokenize errors", () => {
  it("415 for a wrong content type", async () => {
    await expectProblem(
      call(service, { headers: { "content-type": "application/json" }, body: goodBatch }),
      415,
      "ERR_UNSUPPORTED_MEDIA_TYPE",
    );
  });

  it("400 for an empty body", async () => {
    await expectProblem(
      call(service, { headers: BATCH_HEADERS, body: new Uint8Array(0) }),
      400,
      "ERR_EMPTY_BODY",
    );
  });

  it("400 for a body that is not a batch", async () => {
    await expectProblem(
      call(service, { headers: BATCH_HEADERS, body: new TextEncoder().encode("not a batch at all") }),
      400,
      "ERR_BATCH_FORMAT",
    );
  });

  it("413 for a declared oversize batch", async () => {
    await expectProblem(
      call(service, { headers: BATCH_HEADERS, body: new Uint8Array(MAX_BATCH_BYTES + 1) }),
      413,
      "ERR_BATCH_TOO_LARGE",
    );
  });

  it("413 for an oversize batch streamed without Content-Length", async () => {
    await expectProblem(
      call(service, {
        headers: BATCH_HEADERS,
        body: new Uint8Array(MAX_BATCH_BYTES + 512 * 1024),
        chunked: true,
      }),
      413,
      "ERR_BATCH_TOO_LARGE",
    );
  });

  it("422 for a corrupt JPEG", async () => {
    const good = toJpeg(scene(W, H), W, H);
    await expectProblem(
      call(service, {
        headers: BATCH_HEADERS,
        body: makeBatch([{ bytes: good.slice(0, good.length >> 1) }]),
      }),
      422,
      "ERR_FRAME_DECODE",
    );
    const junk = new Uint8Array(2048).map((_, i) => (i * 37) & 0xff);
    await expectProblem(
      call(service, { headers: BATCH_HEADERS, body: makeBatch([{ bytes: junk }]) }),
      422,
      "ERR_FRAME_DECODE",
    );
  });

  it("422 for WebP (no decoder yet)", async () => {
    await expectProblem(
      call(service, {
        headers: BATCH_HEADERS,
        body: makeBatch([{ bytes: new Uint8Array(64), format: "webp" }]),
      }),
      422,
      "ERR_FRAME_DECODE",
    );
  });

  it("422 for absurd declared dimensions, before any allocation", async () => {
    const huge = withDeclaredSize(toJpeg(scene(64, 64), 64, 64), 60_000, 60_000);
    await expectProblem(
      call(service, { headers: BATCH_HEADERS, body: makeBatch([{ bytes: huge }]) }),
      422,
      "ERR_FRAME_DIMENSIONS",
    );
    const tiny = toJpeg(scene(8, 8), 8, 8);
    await expectProblem(
      call(service, { headers: BATCH_HEADERS, body: makeBatch([{ bytes: tiny }]) }),
      422,
      "ERR_FRAME_DIMENSIONS",
    );
    const rgb = scene(32, 32);
    await expectProblem(
      call(service, {
        headers: BATCH_HEADERS,
        body: makeBatch([{ bytes: rgb, format: "rgb", width: 64, height: 64 }]),
      }),
      422,
      "ERR_FRAME_DIMENSIONS",
    );
  });

  it("422 when the JPEG frame header lies about the size the data decodes to", async () => {
    const lying = withDeclaredSize(toJpeg(scene(W, H), W, H), 1920, 1920);
    const reply = await call(service, { headers: BATCH_HEADERS, body: makeBatch([{ bytes: lying }]) });
    expect(reply.status).toBe(422);
    expect(["ERR_FRAME_DIMENSIONS", "ERR_FRAME_DECODE"]).toContain((reply.json() as { code: string }).code);
    await tokenize(goodBatch);
  });

  it("404 for unknown routes, 405 for wrong methods", async () => {
    await expectProblem(call(service, { method: "GET", path: "/v1/other" }), 404, "ERR_NOT_FOUND");
    await expectProblem(
      call(service, { method: "GET", path: "/v1/tokenize" }),
      405,
      "ERR_METHOD_NOT_ALLOWED",
    );
  });

  it("logs route, status, duration and sizes only", () => {
    const lines = service
      .stderr()
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.length).toBeGreaterThan(10);
    for (const line of lines) {
      expect(Object.keys(line).sort()).toEqual(
        ["bytesIn", "bytesOut", "ms", "route", "status", ...("code" in line ? ["code"] : [])].sort(),
      );
    }
  });
});
