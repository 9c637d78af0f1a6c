/**
 * Test support for the tokenization service: starts the real service as a child process
 * (`node services/tokenizer/main.ts --port 0`) with throw-away certificates from
 * `ensureDevCerts`, talks to it over real mutual TLS 1.3, and builds batches from synthetic
 * pixels and tones (no committed media: fixtures are generated here with jpeg-js).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { request } from "node:https";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import type { SecureVersion } from "node:tls";
import { fileURLToPath } from "node:url";
import jpeg from "jpeg-js";
import { encodeBatch } from "../../lib/tokenizer-batch.ts";
import { type DevCerts, ensureDevCerts, type KeyPairPaths } from "../../scripts/lib/dev-certs.ts";
import { devKeystoreEnv } from "../../scripts/lib/dev-hsm.ts";
import { seededRandom as rng } from "../../scripts/lib/seeded-random.ts";

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const MAIN = join(REPO, "services/tokenizer/main.ts");

export interface RunningService {
  url: string;
  port: number;
  certs: DevCerts;
  cwd: string;
  tmp: string;
  stdout: () => string;
  stderr: () => string;
  stop: () => Promise<number | null>;
  child: ChildProcess;
}

/** One cert set per test run directory; the service gets its own empty cwd and TMPDIR. */
export async function startService(
  extraEnv: Record<string, string> = {},
  root = mkdtempSync(join(tmpdir(), "facet-tok-")),
): Promise<RunningService> {
  const certs = ensureDevCerts(join(root, "certs"));
  const cwd = mkdtempSync(join(root, "cwd-"));
  const tmp = mkdtempSync(join(root, "tmp-"));
  // The service refuses to start without a key store: a private SoftHSM2 token per run (in-memory
  // dev keys where SoftHSM2 is missing), unless the caller chose a module or TOKENIZER_DEV_MODE.
  const keyEnv =
    extraEnv.TOKENIZER_PKCS11_MODULE || extraEnv.TOKENIZER_DEV_MODE
      ? {}
      : devKeystoreEnv(join(root, "hsm")).env;
  const child = spawn(process.execPath, [MAIN, "--port", "0"], {
    cwd,
    env: {
      PATH: process.env.PATH ?? "",
      TMPDIR: tmp,
      TOKENIZER_TLS_CERT: certs.server.cert,
      TOKENIZER_TLS_KEY: certs.server.key,
      TOKENIZER_CLIENT_CA: certs.ca.cert,
      ...keyEnv,
      ...extraEnv,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  child.stderr?.on("data", (d: Buffer) => {
    err += d.toString("latin1");
  });
  const ready = await new Promise<{ url: string }>((res, rej) => {
    const timer = setTimeout(() => rej(new Error(`service not ready: ${err}`)), 60_000);
    child.stdout?.on("data", (d: Buffer) => {
      out += d.toString("latin1");
      const line = out.split("\n")[0];
      if (out.includes("\n") && line) {
        clearTimeout(timer);
        res(JSON.parse(line) as { url: string });
      }
    });
    child.on("exit", (code) => rej(new Error(`service exited ${code}: ${err}`)));
  });
  const exited = new Promise<number | null>((res) => child.on("exit", (code) => res(code)));
  return {
    url: ready.url,
    port: Number(new URL(ready.url).port),
    certs,
    cwd,
    tmp,
    stdout: () => out,
    stderr: () => err,
    child,
    stop: async () => {
      child.kill("SIGTERM");
      const code = await exited;
      rmSync(root, { recursive: true, force: true });
      return code;
    },
  };
}

export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  json: () => unknown;
}

export interface CallOptions {
  method?: string;
  path?: string;
  headers?: Record<string, string | number>;
  body?: Uint8Array | null;
  /** write the body in chunks without Content-Length (chunked transfer coding) */
  chunked?: boolean;
  client?: KeyPairPaths | null;
  maxVersion?: SecureVersion;
}

/** One HTTPS request over a fresh connection (no agent pooling: every case gets its own handshake). */
export function call(
  service: Pick<RunningService, "port" | "certs">,
  options: CallOptions = {},
): Promise<Reply> {
  const client = options.client === undefined ? service.certs.client : options.client;
  return new Promise((res, rej) => {
    const req = request(
      {
        host: "127.0.0.1",
        port: service.port,
        method: options.method ?? "POST",
        path: options.path ?? "/v1/tokenize",
        headers: options.headers ?? {},
        ca: readFileSync(service.certs.ca.cert),
        ...(client ? { cert: readFileSync(client.cert), key: readFileSync(client.key) } : {}),
        ...(options.maxVersion ? { maxVersion: options.maxVersion } : {}),
        agent: false,
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on("data", (c: Buffer) => chunks.push(c));
        response.on("end", () => {
          const body = Buffer.concat(chunks);
          res({
            status: response.statusCode ?? 0,
            headers: response.headers,
            body,
            json: () => JSON.parse(body.toString("utf8")),
          });
        });
        response.on("error", rej);
      },
    );
    req.on("error", rej);
    const body = options.body;
    if (body && options.chunked) {
      const step = 256 * 1024;
      let at = 0;
      const pump = (): void => {
        while (at < body.length) {
          const more = req.write(body.subarray(at, at + step));
          at += step;
          if (!more) {
            req.once("drain", pump);
            return;
          }
        }
        req.end();
      };
      pump();
    } else {
      if (body) req.setHeader("content-length", body.length);
      req.end(body ?? undefined);
    }
  });
}

export const BATCH_HEADERS = { "content-type": "application/vnd.facet.batch" };

// ---------- synthetic media ----------

/** RGB pixels from a function of (x, y) → [r, g, b]. */
export function pixels(width: number, height: number, f: (x: number, y: number) => number[]): Uint8Array {
  const rgb = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const [r = 0, g = 0, b = 0] = f(x, y);
      rgb.set([r, g, b], (y * width + x) * 3);
    }
  }
  return rgb;
}

export { rng };

/** Box blur of an RGB image (radius r), used to make the "soft recapture" fixture. */
export function boxBlur(rgb: Uint8Array, width: number, height: number, r: number): Uint8Array {
  const out = new Uint8Array(rgb.length);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < 3; c++) {
        let sum = 0;
        let n = 0;
        for (let dy = -r; dy <= r; dy++) {
          for (let dx = -r; dx <= r; dx++) {
            const xx = Math.min(width - 1, Math.max(0, x + dx));
            const yy = Math.min(height - 1, Math.max(0, y + dy));
            sum += rgb[(yy * width + xx) * 3 + c] ?? 0;
            n++;
          }
        }
        out[(y * width + x) * 3 + c] = Math.round(sum / n);
      }
    }
  }
  return out;
}

export function toJpeg(
  rgb: Uint8Array,
  width: number,
  height: number,
  quality = 90,
  comments?: string[],
): Uint8Array {
  const rgba = new Uint8Array(width * height * 4);
  for (let p = 0; p < width * height; p++) {
    rgba[p * 4] = rgb[p * 3] ?? 0;
    rgba[p * 4 + 1] = rgb[p * 3 + 1] ?? 0;
    rgba[p * 4 + 2] = rgb[p * 3 + 2] ?? 0;
    rgba[p * 4 + 3] = 255;
  }
  const encoded = jpeg.encode({ data: rgba, width, height, ...(comments ? { comments } : {}) }, quality);
  return new Uint8Array(encoded.data);
}

/** A textured test scene: smooth gradient plus fine pseudo-random detail. */
export function scene(width: number, height: number, seed = 1): Uint8Array {
  const random = rng(seed);
  return pixels(width, height, (x, y) => {
    const base = 60 + (120 * x) / width + (40 * y) / height;
    const detail = (random() - 0.5) * 90;
    return [base + detail, base * 0.9 + detail, base * 0.8 + detail];
  });
}

/** 16 kHz s16le PCM of a sine (amplitude 0..1 of full scale); amplitude 0 is digital silence. */
export function tone(hz: number, seconds: number, amplitude: number): Uint8Array {
  const n = Math.round(16_000 * seconds);
  const pcm = new Uint8Array(n * 2);
  const view = new DataView(pcm.buffer);
  for (let i = 0; i < n; i++) {
    view.setInt16(2 * i, Math.round(amplitude * 32767 * Math.sin((2 * Math.PI * hz * i) / 16_000)), true);
  }
  return pcm;
}

export interface FrameInput {
  bytes: Uint8Array;
  format?: "jpeg" | "webp" | "rgb";
  tsMs?: number;
  width?: number;
  height?: number;
}

/** Builds a batch body: frames (33 ms apart unless given) and optional 16 kHz audio. */
export function makeBatch(frames: FrameInput[], audio: Uint8Array | null = null, seq = 0): Uint8Array {
  const parts: Uint8Array[] = [];
  let offset = 0;
  const frameSpecs = frames.map((f, i) => {
    const spec = {
      tsMs: f.tsMs ?? i * 33,
      format: f.format ?? ("jpeg" as const),
      ...(f.width !== undefined ? { width: f.width } : {}),
      ...(f.height !== undefined ? { height: f.height } : {}),
      offset,
      length: f.bytes.length,
    };
    parts.push(f.bytes);
    offset += f.bytes.length;
    return spec;
  });
  const audioSpec = audio
    ? { tsMs: 0, encoding: "pcm_s16le" as const, sampleRate: 16000 as const, offset, length: audio.length }
    : null;
  if (audio) parts.push(audio);
  return encodeBatch(
    {
      tenantId: "tenant-test",
      sessionId: "session-test",
      seq,
      startMs: 0,
      endMs: 1000,
      frames: frameSpecs,
      audio: audioSpec,
      wantFingerprint: false,
    },
    parts,
  );
}
