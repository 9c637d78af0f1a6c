/**
 * "Raw video and audio … never written to disk or object storage" (seed), proven end to end:
 * a session whose frames and audio carry a canary byte pattern runs through the real path —
 * edge → session DO → mutual TLS → the real tokenization service → analyzers → D1 → webhook —
 * with D1 and Durable Object state persisted to disk. Afterwards the canary must not appear in
 * any file the platform could have written, in any log line, or in anything delivered.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import jpeg from "jpeg-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPO } from "../../scripts/lib/platform.ts";
import { ScriptedClient } from "../../scripts/lib/scripted-client.ts";
import type { TokenizerProcess } from "../../scripts/lib/tokenizer-process.ts";
import { changedFiles } from "../support/changed-files.ts";
import { createSession, type Harness, startHarness } from "../support/harness.ts";

// Random per run, so no source file or cache can contain it.
const CANARY = Buffer.from(`FACET-RAW-${randomBytes(12).toString("hex")}`);
const NEEDLES = [CANARY, Buffer.from(CANARY.toString("hex")), Buffer.from(CANARY.toString("base64"))];

/** A real JPEG that carries the canary in a comment segment (JPEG COM, ITU T.81 B.2.4.5). */
function canaryJpeg(shift: number): Buffer {
  const w = 160;
  const h = 120;
  const data = Buffer.alloc(w * h * 4);
  for (let i = 0; i < w * h; i++) {
    const x = i % w;
    const y = Math.floor(i / w);
    data[i * 4] = (x * 3 + shift) & 255;
    data[i * 4 + 1] = (y * 2) & 255;
    data[i * 4 + 2] = ((x + y) * 5) & 255;
    data[i * 4 + 3] = 255;
  }
  const encoded = Buffer.from(jpeg.encode({ data, width: w, height: h }, 80).data);
  const comment = Buffer.concat([Buffer.from([0xff, 0xfe, 0, 0]), CANARY, CANARY]);
  comment.writeUInt16BE(comment.length - 2, 2);
  return Buffer.concat([encoded.subarray(0, 2), comment, encoded.subarray(2)]);
}

/** PCM whose bytes spell the canary over and over. */
function canaryPcm(): Int16Array {
  const bytes = Buffer.alloc(16000 * 2);
  for (let i = 0; i < bytes.length; i++) bytes[i] = CANARY[i % CANARY.length] ?? 0;
  return new Int16Array(bytes.buffer, bytes.byteOffset, bytes.length / 2);
}

function contains(haystack: Buffer): boolean {
  return NEEDLES.some((needle) => haystack.includes(needle));
}

describe("zero raw retention", () => {
  let h: Harness;
  let persistDir: string;
  let logs = "";
  const restore: (() => void)[] = [];

  beforeAll(async () => {
    persistDir = mkdtempSync(join(tmpdir(), "facet-persist-"));
    h = await startHarness({ tokenizer: "real", persistDir });
    // Everything workerd and the platform print reaches this process's stdout/stderr.
    for (const stream of [process.stdout, process.stderr]) {
      const original = stream.write.bind(stream);
      stream.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
        logs += typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("latin1");
        return (original as (c: string | Uint8Array, ...r: unknown[]) => boolean)(chunk, ...rest);
      }) as typeof stream.write;
      restore.push(() => {
        stream.write = original as typeof stream.write;
      });
    }
  });

  afterAll(async () => {
    for (const undo of restore) undo();
    await h?.dispose();
    rmSync(persistDir, { recursive: true, force: true });
  });

  it("leaves no trace of a session's frames or audio anywhere data can rest", async () => {
    const frames = [canaryJpeg(0), canaryJpeg(40), canaryJpeg(80)].map((b) => new Uint8Array(b));
    expect(contains(Buffer.from(frames[0] ?? []))).toBe(true); // the needle is really in what we send
    const since = Date.now() - 1000;
    const { session, clientSecret } = await createSession(h);
    const client = await ScriptedClient.connect(h.platform.url, clientSecret.secret);
    await client.stream({ frames, audio: canaryPcm() }, 30);
    const hook = await h.receiver.waitFor(
      (w) => w.json.data.session.id === session.id && w.json.type === "session.completed",
    );
    // the media really went through the tokenizer: the report carries analyzer results
    const report = hook.json.data.session.report as {
      risk: { analyzers: Record<string, { score?: number }> };
    };
    expect(report.risk.analyzers.environment?.score).toEqual(expect.any(Number));

    const files = [
      ...changedFiles(persistDir, 0),
      ...changedFiles(tmpdir(), since, (p) => p.includes("facet-persist-")),
      ...changedFiles(REPO, since, (p) => /\/(node_modules|\.git)$/.test(p)),
    ];
    expect(files.some((f) => f.startsWith(persistDir) && f.includes("d1"))).toBe(true); // D1 really is on disk
    const leaks = files.filter((f) => {
      try {
        return contains(readFileSync(f));
      } catch {
        return false;
      }
    });
    expect(leaks).toEqual([]);
    expect(contains(Buffer.from(logs, "latin1"))).toBe(false);
    expect(contains(Buffer.from((h.tokenizer as TokenizerProcess).output(), "latin1"))).toBe(false);
    for (const delivered of h.receiver.received) expect(contains(Buffer.from(delivered.body))).toBe(false);
    // The numbers docs/security.md quotes.
    const scannedBytes = files.reduce((sum, f) => {
      try {
        return sum + statSync(f).size;
      } catch {
        return sum;
      }
    }, 0);
    console.log(
      `CANARY ${JSON.stringify({ files: files.length, fileBytes: scannedBytes, logBytes: logs.length, deliveries: h.receiver.received.length, leaks: leaks.length })}`,
    );
  });
});
