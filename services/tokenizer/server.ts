/**
 * The tokenizer's HTTPS front: TLS 1.3 only (RFC 8446) with mandatory client certificates
 * (RFC 8446 §4.3.2 CertificateRequest), so only the session Durable Object — holding a
 * certificate from the tokenizer's client CA with the clientAuth extended key usage
 * (RFC 5280 §4.2.1.12, id-kp-clientAuth) — can hand it raw media. OpenSSL, under Node's
 * `rejectUnauthorized`, already refuses a client certificate whose EKU lacks clientAuth (it
 * verifies with the "sslclient" purpose), but accepts one with no EKU at all ("any purpose");
 * this service requires the EKU explicitly and hangs up on anyone else before reading a byte.
 *
 * Routes: `GET /healthz`, `POST /v1/tokenize`, `POST /v1/answers/digests` (answer-digests.ts), and the key API under `/v1/keys/` (kms-routes.ts).
 * Errors are RFC 9457 problem details with stable codes (errors.ts). Logs carry route, status, duration and sizes — never payload bytes, headers
 * of the batch, or tenant and session ids.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { createServer, type Server } from "node:https";
import type { TLSSocket } from "node:tls";
import { BATCH_CONTENT_TYPE, MAX_BATCH_BYTES, zeroize } from "../../lib/tokenizer-batch.ts";
import { ANSWER_DIGESTS_PATH, handleAnswerDigests } from "./answer-digests.ts";
import { drain, readBody } from "./body.ts";
import { TokenizerError, toProblem } from "./errors.ts";
import type { Keystore } from "./keys/keystore.ts";
import { handleKeys, KEYS_PREFIX } from "./kms-routes.ts";
import { defaultEngines, type FeatureEngines, tokenize } from "./tokenize.ts";

/** RFC 5280 §4.2.1.12 id-kp-clientAuth */
export const OID_CLIENT_AUTH = "1.3.6.1.5.5.7.3.2";

export interface TokenizerServerOptions {
  cert: string | Buffer;
  key: string | Buffer;
  /** trust anchor(s) for client certificates */
  clientCa: string | Buffer;
  engines?: FeatureEngines;
  /** serves /v1/keys/*; without one those routes answer 503 ERR_KEYSTORE_UNAVAILABLE */
  keystore?: Keystore;
  maxBatchBytes?: number;
  /** zones this instance tokenizes for (TOKENIZER_ZONES); both when absent */
  zones?: readonly ("eu" | "us")[];
  log?: (entry: RequestLog) => void;
}

export interface RequestLog {
  route: string;
  status: number;
  ms: number;
  bytesIn: number;
  bytesOut: number;
  code?: string;
}

/** True when the verified peer presented a certificate whose EKU names clientAuth. */
export function peerHasClientAuth(socket: TLSSocket): boolean {
  if (!socket.authorized) return false;
  const peer = socket.getPeerCertificate();
  return Array.isArray(peer.ext_key_usage) && peer.ext_key_usage.includes(OID_CLIENT_AUTH);
}

/**
 * Writes a complete JSON reply. With `holdUntil`, the bytes go out at once (the client has the
 * whole reply by Content-Length) but the response ends — and a `Connection: close` socket
 * closes — only after `holdUntil` settles, i.e. once a refused body has been drained.
 */
function send(
  res: ServerResponse,
  status: number,
  contentType: string,
  payload: unknown,
  holdUntil?: Promise<void>,
): number {
  const text = JSON.stringify(payload);
  if (res.headersSent || res.destroyed) return 0;
  res.writeHead(status, {
    "content-type": contentType,
    "content-length": Buffer.byteLength(text),
    "cache-control": "no-store",
    "x-content-type-options": "nosniff",
  });
  if (holdUntil) {
    res.write(text);
    void holdUntil.then(() => res.end());
  } else {
    res.end(text);
  }
  return Buffer.byteLength(text);
}

function mediaType(header: string | undefined): string {
  return (header ?? "").split(";")[0]?.trim().toLowerCase() ?? "";
}

export function createTokenizerServer(options: TokenizerServerOptions): Server {
  const engines = options.engines ?? defaultEngines;
  const limit = options.maxBatchBytes ?? MAX_BATCH_BYTES;
  const log = options.log ?? ((entry: RequestLog) => process.stderr.write(`${JSON.stringify(entry)}\n`));

  const server = createServer(
    {
      cert: options.cert,
      key: options.key,
      ca: options.clientCa,
      minVersion: "TLSv1.3",
      requestCert: true,
      rejectUnauthorized: true,
    },
    (req, res) => {
      void handle(req, res);
    },
  );
  // Refuse a verified certificate without clientAuth as soon as the handshake completes.
  server.on("secureConnection", (socket: TLSSocket) => {
    if (!peerHasClientAuth(socket)) socket.destroy();
  });
  server.on("tlsClientError", () => {}); // refused handshakes are expected, not crashes
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = performance.now();
    const path = (req.url ?? "/").split("?")[0] ?? "/";
    let route = `${req.method ?? "?"} ${path.length > 64 ? `${path.slice(0, 64)}…` : path}`;
    let bytesIn = 0;
    let status = 500;
    let bytesOut = 0;
    let code: string | undefined;
    let body: Uint8Array | null = null;
    try {
      // Defence in depth: the secureConnection hook has already run for this socket.
      if (!peerHasClientAuth(req.socket as TLSSocket)) {
        req.socket.destroy();
        status = 0;
        return;
      }
      if (path === "/healthz") {
        if (req.method !== "GET" && req.method !== "HEAD") {
          res.setHeader("allow", "GET, HEAD");
          throw new TokenizerError("ERR_METHOD_NOT_ALLOWED", "use GET");
        }
        status = 200;
        bytesOut = send(res, 200, "application/json", { ok: true });
        return;
      }
      if (path.startsWith(KEYS_PREFIX)) {
        ({ route, status, bytesIn, bytesOut, code } = await handleKeys(req, res, path, options.keystore));
        return;
      }
      if (path === ANSWER_DIGESTS_PATH) {
        const digested = await handleAnswerDigests(req, options.keystore);
        bytesIn = digested.bytesIn;
        status = 200;
        bytesOut = send(res, 200, "application/json", digested.reply);
        return;
      }
      if (path !== "/v1/tokenize") throw new TokenizerError("ERR_NOT_FOUND", "no such route");
      if (req.method !== "POST") {
        res.setHeader("allow", "POST");
        throw new TokenizerError("ERR_METHOD_NOT_ALLOWED", "use POST");
      }
      if (mediaType(req.headers["content-type"]) !== BATCH_CONTENT_TYPE) {
        throw new TokenizerError("ERR_UNSUPPORTED_MEDIA_TYPE", `send ${BATCH_CONTENT_TYPE}`);
      }
      body = await readBody(req, limit);
      bytesIn = body.byteLength;
      const reply = await tokenize(body, engines, options.zones);
      status = 200;
      bytesOut = send(res, 200, "application/json", reply);
    } catch (error) {
      const problem = toProblem(error);
      status = problem.status;
      code = problem.code;
      // A body refused before it was fully read: reply now, drain it, then close (lingering close).
      const unread = !req.complete;
      if (unread) res.setHeader("connection", "close");
      bytesOut = send(
        res,
        problem.status,
        "application/problem+json",
        problem,
        unread ? drain(req) : undefined,
      );
    } finally {
      zeroize(body);
      if (status !== 0) {
        log({
          route,
          status,
          ms: Math.round((performance.now() - started) * 10) / 10,
          bytesIn,
          bytesOut,
          code,
        });
      }
    }
  }

  return server;
}
