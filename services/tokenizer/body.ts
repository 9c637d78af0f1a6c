/**
 * Reads a request body into one buffer, refusing anything over the limit before and while it
 * streams: a declared Content-Length above the limit is refused without buffering a byte, and a
 * body that grows past it stops being kept at that point (RFC 9110 §15.5.14, 413 Content Too
 * Large). Every received chunk is zeroized once copied, so raw media exists once in this process
 * (product-spec §7); the returned buffer is the caller's to zeroize.
 *
 * A refused body is drained (and wiped) rather than the socket reset — closing a socket with
 * unread input makes the kernel send RST, which can destroy the reply before the client reads
 * it; past DRAIN_CAP bytes or DRAIN_TIMEOUT_MS the socket is destroyed instead.
 */
import type { IncomingMessage } from "node:http";
import { TokenizerError } from "./errors.ts";

/** Bytes of an already refused body we are willing to read and discard before hanging up. */
export const DRAIN_CAP = 16 * 1024 * 1024;

/** Longest we keep reading a refused body before hanging up (nginx calls this lingering close). */
export const DRAIN_TIMEOUT_MS = 10_000;

/**
 * Discards (and zeroizes) the rest of a request body. Resolves when the body has ended, or after
 * destroying the socket once `cap` bytes or DRAIN_TIMEOUT_MS have passed.
 */
export function drain(req: IncomingMessage, cap = DRAIN_CAP): Promise<void> {
  if (req.complete || req.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    let seen = 0;
    const timer = setTimeout(() => req.socket.destroy(), DRAIN_TIMEOUT_MS);
    const done = (): void => {
      clearTimeout(timer);
      resolve();
    };
    req.removeAllListeners("data");
    req.on("data", (chunk: Buffer) => {
      seen += chunk.length;
      chunk.fill(0);
      if (seen > cap) req.socket.destroy();
    });
    req.on("end", done);
    req.on("close", done);
    req.on("error", () => {});
    req.resume();
  });
}

export function readBody(req: IncomingMessage, limit: number): Promise<Uint8Array> {
  const declared = req.headers["content-length"];
  const declaredLength = declared === undefined ? null : Number(declared);
  if (declaredLength !== null && !(Number.isSafeInteger(declaredLength) && declaredLength >= 0)) {
    return Promise.reject(new TokenizerError("ERR_BATCH_FORMAT", "invalid Content-Length"));
  }
  if (declaredLength !== null && declaredLength > limit) {
    return Promise.reject(new TokenizerError("ERR_BATCH_TOO_LARGE", `batch larger than ${limit} bytes`));
  }
  if (declaredLength === 0) return Promise.reject(new TokenizerError("ERR_EMPTY_BODY", "the batch is empty"));

  return new Promise((resolve, reject) => {
    // With a declared length, one allocation of exactly that size; otherwise grow by doubling.
    let buffer = new Uint8Array(declaredLength ?? 64 * 1024);
    let length = 0;
    let settled = false;
    const fail = (error: unknown): void => {
      if (settled) return;
      settled = true;
      buffer.fill(0);
      reject(error);
    };
    req.on("data", (chunk: Buffer) => {
      try {
        if (settled) return;
        if (length + chunk.length > limit) {
          fail(new TokenizerError("ERR_BATCH_TOO_LARGE", `batch larger than ${limit} bytes`));
          return;
        }
        if (length + chunk.length > buffer.length) {
          const grown = new Uint8Array(Math.min(limit, Math.max(buffer.length * 2, length + chunk.length)));
          grown.set(buffer.subarray(0, length));
          buffer.fill(0);
          buffer = grown;
        }
        buffer.set(chunk, length);
        length += chunk.length;
      } finally {
        chunk.fill(0);
      }
    });
    req.on("end", () => {
      if (settled) return;
      settled = true;
      if (length === 0) {
        reject(new TokenizerError("ERR_EMPTY_BODY", "the batch is empty"));
        return;
      }
      resolve(length === buffer.length ? buffer : buffer.subarray(0, length));
    });
    req.on("error", fail);
    req.on("aborted", () => fail(new Error("client aborted the request")));
  });
}
