/**
 * Reads a request body into one buffer, refusing anything over the limit before and while it
 * streams: a declared Content-Length above the limit is refused without buffering a byte, and a
 * body that grows past it stops being kept at that point (RFC 9110 §15.5.14, 413 Content Too
 * Large). Every received chunk is zeroized once copied, so raw media exists once in this process
 * (product-spec §7); the returned buffer is the caller's to zeroize.
 *
 * A refused body is drained (and wiped) rather than the socket reset, so the client can read the
 * 413 before the connection closes; past DRAIN_CAP extra bytes the socket is destroyed instead.
 */
import type { IncomingMessage } from "node:http";
import { TokenizerError } from "./errors.ts";

/** Bytes of an already refused body we are willing to read and discard before hanging up. */
export const DRAIN_CAP = 16 * 1024 * 1024;

/** Discards (and zeroizes) the rest of a request body; destroys the socket past `cap` bytes. */
export function drain(req: IncomingMessage, cap = DRAIN_CAP): void {
  if (req.complete || req.destroyed) return;
  let seen = 0;
  req.removeAllListeners("data");
  req.on("data", (chunk: Buffer) => {
    seen += chunk.length;
    chunk.fill(0);
    if (seen > cap) req.socket.destroy();
  });
  req.on("error", () => {});
  req.resume();
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
