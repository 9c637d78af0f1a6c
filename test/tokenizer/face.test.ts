/**
 * The experimental face engine (TOKENIZER_FACE=human, services/tokenizer/features/face-human.ts)
 * on a real face: Grace Hopper's public-domain portrait, which Debian ships in the `facedetect`
 * package (platform-notes "Test media nobody here wrote"). It is fetched with `apt-get download`
 * into a temp dir at test time and deleted afterwards — never committed. Without apt (or offline)
 * the suite is skipped, since no synthetic pattern passes for a face. Checks are geometric: a
 * still or moved photo is planar with no nose parallax, two portraits make two faces.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import jpeg from "jpeg-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TokenizeReplySchema } from "../../lib/features.ts";
import {
  BATCH_HEADERS,
  call,
  makeBatch,
  type RunningService,
  scene,
  startService,
  toJpeg,
} from "./support.ts";

function fetchPortrait(): Uint8Array | null {
  const dir = mkdtempSync(join(tmpdir(), "facet-face-fixture-"));
  try {
    execFileSync("apt-get", ["download", "facedetect"], { cwd: dir, stdio: "ignore", timeout: 60_000 });
    const deb = readdirSync(dir).find((f) => f.endsWith(".deb"));
    if (!deb) return null;
    execFileSync("dpkg-deb", ["-x", deb, "x"], { cwd: dir, stdio: "ignore" });
    return new Uint8Array(
      readFileSync(join(dir, "x/usr/share/doc/facedetect/examples/grace_hopper_512x512.jpg")),
    );
  } catch {
    return null;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const portrait = fetchPortrait();

describe.skipIf(!portrait)("face engine (TOKENIZER_FACE=human)", () => {
  let service: RunningService;
  let decoded: { width: number; height: number; data: Uint8Array };

  beforeAll(async () => {
    service = await startService({ TOKENIZER_FACE: "human" });
    decoded = jpeg.decode(portrait ?? new Uint8Array(0), { useTArray: true, formatAsRGBA: false });
  });
  afterAll(async () => {
    await service?.stop();
  });

  /** The portrait scaled by s and shifted by (dx, dy) — a photo moved in front of the camera. */
  function moved(dx: number, dy: number, s: number): Uint8Array {
    const { width: w, height: h, data } = decoded;
    const out = new Uint8Array(w * h * 3);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const sx = Math.round((x - w / 2 - dx) / s + w / 2);
        const sy = Math.round((y - h / 2 - dy) / s + h / 2);
        if (sx < 0 || sy < 0 || sx >= w || sy >= h) continue;
        out.set(data.subarray((sy * w + sx) * 3, (sy * w + sx) * 3 + 3), (y * w + x) * 3);
      }
    }
    return toJpeg(out, w, h);
  }

  async function face(frames: Uint8Array[]) {
    const reply = await call(service, {
      headers: BATCH_HEADERS,
      body: makeBatch(frames.map((bytes) => ({ bytes }))),
    });
    expect(reply.status, reply.body.toString()).toBe(200);
    return TokenizeReplySchema.parse(reply.json()).features.face;
  }

  it("keeps the one-line ready contract with the model loaded", () => {
    expect(service.stdout().trim()).toBe(JSON.stringify({ ready: true, url: service.url }));
  });

  it("finds one open-eyed face in a still portrait; a still photo shows no depth", async () => {
    const f = await face([portrait ?? new Uint8Array(0), portrait ?? new Uint8Array(0)]);
    expect(f).not.toBeNull();
    expect(f?.framesAnalyzed).toBe(2);
    expect(f?.facePresentRatio).toBe(1);
    expect(f?.multiFaceRatio).toBe(0);
    expect(f?.faceAreaMean).toBeGreaterThan(0.15);
    expect(f?.faceAreaMean).toBeLessThan(0.4);
    expect(f?.eyeOpennessMean).toBeGreaterThan(0.5);
    expect(f?.blinkCount).toBe(0);
    expect(f?.planarity).toBe(1);
    expect(f?.depthVariation).toBeLessThan(0.01);
  });

  it("a photo moved across the frame stays planar with little nose parallax", async () => {
    const f = await face([0, 1, 2, 3, 4].map((k) => moved(k * 6, k * 3, 1 + k * 0.03)));
    expect(f?.facePresentRatio).toBe(1);
    expect(f?.planarity).toBeGreaterThan(0.6);
    expect(f?.depthVariation).toBeLessThan(0.1);
    expect(f?.yawRangeDeg).toBeLessThan(10);
  });

  it("counts two portraits side by side as multiple faces, and a faceless scene as none", async () => {
    const { width: w, height: h, data } = decoded;
    const pair = new Uint8Array(w * h * 3);
    for (let y = 0; y < h / 2; y++) {
      for (let x = 0; x < w; x++) {
        const sx = (x % (w / 2)) * 2;
        const sy = y * 2;
        pair.set(data.subarray((sy * w + sx) * 3, (sy * w + sx) * 3 + 3), ((y + h / 4) * w + x) * 3);
      }
    }
    const two = await face([toJpeg(pair, w, h)]);
    expect(two?.multiFaceRatio).toBe(1);
    const none = await face([toJpeg(scene(320, 240), 320, 240)]);
    expect(none?.facePresentRatio).toBe(0);
    expect(none?.multiFaceRatio).toBe(0);
  });
});
