/**
 * Raw-data discipline (product-spec §7: raw frames and audio are "never written to disk … logs"
 * and "zeroized after tokenization"). A batch whose JPEG comment, raw RGB frame and PCM audio all
 * carry a canary byte pattern goes through the real process; afterwards the canary must appear in
 * no file the run touched and in neither output stream. In-process, a spy feature engine keeps
 * references to the decoded frames and checks they are zero once the reply is out.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { FaceWindow } from "../../lib/features.ts";
import { ensureDevCerts } from "../../scripts/lib/dev-certs.ts";
import type { DecodedFrame } from "../../services/tokenizer/features/frame-decode.ts";
import type { FrameFeatureEngine } from "../../services/tokenizer/features/module.ts";
import { createTokenizerServer } from "../../services/tokenizer/server.ts";
import { defaultEngines } from "../../services/tokenizer/tokenize.ts";
import { changedFiles } from "../support/changed-files.ts";
import { BATCH_HEADERS, call, makeBatch, REPO, scene, startService, toJpeg } from "./support.ts";

// Random per run: the test's own source (and any cache of it) can never contain the needle.
const CANARY = Buffer.from(`FACET-CANARY-${randomBytes(12).toString("hex")}`);
const NEEDLES = [
  CANARY,
  Buffer.from(CANARY.toString("hex")),
  Buffer.from(CANARY.toString("utf16le"), "latin1"),
];

function canaryFill(length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = CANARY[i % CANARY.length] ?? 0;
  return out;
}

function canaryBatch(): Uint8Array {
  return makeBatch(
    [
      { bytes: toJpeg(scene(96, 64), 96, 64, 90, [CANARY.toString("latin1").repeat(8)]) },
      { bytes: canaryFill(64 * 48 * 3), format: "rgb", width: 64, height: 48 },
    ],
    canaryFill(16_000 * 2),
  );
}

const containsCanary = (bytes: Buffer): boolean => NEEDLES.some((n) => bytes.includes(n));

describe("raw media never leaves memory", () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  afterAll(async () => {
    for (const c of cleanups) await c();
  });

  it.each([
    ["default engines, face engine on", {}],
    ["face engine opted out", { TOKENIZER_FACE: "none" }],
  ])("a canary batch leaves no trace in files or logs (%s)", async (_name, env: Record<string, string>) => {
    const since = Date.now();
    const service = await startService(env);
    cleanups.push(service.stop);
    expect(containsCanary(Buffer.from(canaryBatch()))).toBe(true); // the needle is really there

    const ok = await call(service, { headers: BATCH_HEADERS, body: canaryBatch() });
    expect(ok.status).toBe(200);
    expect(containsCanary(ok.body)).toBe(false);
    // a failing batch must not leak either (the problem detail never echoes input)
    const bad = makeBatch([{ bytes: canaryFill(4096) }], canaryFill(16_001));
    const refused = await call(service, { headers: BATCH_HEADERS, body: bad });
    expect(refused.status).toBe(422);
    expect(containsCanary(refused.body)).toBe(false);

    expect(readdirSync(service.cwd)).toEqual([]);
    expect(readdirSync(service.tmp)).toEqual([]);
    const touched = [
      ...changedFiles(join(service.cwd, ".."), since - 1000),
      ...changedFiles(tmpdir(), since - 1000, (p) => p.startsWith(join(service.cwd, ".."))),
      ...changedFiles("/dev/shm", since - 1000),
      ...changedFiles(REPO, since - 1000, (p) => /\/(node_modules|\.git)$/.test(p)),
    ];
    const leaks = touched.filter((path) => {
      try {
        return containsCanary(readFileSync(path));
      } catch {
        return false;
      }
    });
    expect(leaks).toEqual([]);
    expect(containsCanary(Buffer.from(service.stdout(), "latin1"))).toBe(false);
    expect(containsCanary(Buffer.from(service.stderr(), "latin1"))).toBe(false);
  });

  it("decoded pixels and the body are zeroized once the reply is sent", async () => {
    const root = mkdtempSync(join(tmpdir(), "facet-tok-zero-"));
    const certs = ensureDevCerts(join(root, "certs"));
    const seen: DecodedFrame[] = [];
    const spy: FrameFeatureEngine<FaceWindow> = {
      name: "face:spy",
      newWindow: () => ({ addFrame: (f) => void seen.push(f), finish: () => null, dispose: () => {} }),
    };
    const server = createTokenizerServer({
      cert: readFileSync(certs.server.cert),
      key: readFileSync(certs.server.key),
      clientCa: readFileSync(certs.ca.cert),
      engines: { ...defaultEngines, face: spy },
      log: () => {},
    });
    await new Promise<void>((res) => server.listen(0, "127.0.0.1", res));
    cleanups.push(async () => {
      await new Promise((res) => server.close(res));
      rmSync(root, { recursive: true, force: true });
    });
    const reply = await call(
      { port: (server.address() as AddressInfo).port, certs },
      { headers: BATCH_HEADERS, body: canaryBatch() },
    );
    expect(reply.status).toBe(200);
    expect(seen).toHaveLength(2);
    for (const frame of seen) {
      expect(frame.rgb.length).toBeGreaterThan(0);
      expect(frame.rgb.every((b) => b === 0)).toBe(true);
      expect(frame.luma.every((v) => v === 0)).toBe(true);
    }
    // the raw rgb frame is a view into the request body: the whole body buffer was wiped
    const body = seen[1]?.rgb.buffer;
    expect(body && new Uint8Array(body).every((b) => b === 0)).toBe(true);
  });
});
