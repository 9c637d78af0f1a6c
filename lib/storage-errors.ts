/**
 * Recognises D1 failures that are transient — the database is locked, busy, overloaded, or its
 * storage object was reset or lost its connection — so the edge can answer them with a documented
 * `503 ERR_STORAGE_UNAVAILABLE` and `Retry-After` (RFC 9110 §15.6.4, §10.2.3) instead of an
 * anonymous 500 (docs/reliability.md "D1 faults"). The retryable messages are the ones Cloudflare
 * documents for D1 ("D1 DB is overloaded", "Network connection lost", "storage caused object to be
 * reset", …) plus SQLite's own SQLITE_BUSY / SQLITE_LOCKED, which is what Miniflare's local D1
 * raises when another process holds the database file's lock. Anything else stays a 500: an
 * unknown error is never reclassified as something the client caused (house-style 5).
 */
import { FacetError } from "./errors.ts";

/** Seconds a client should wait before retrying after a transient storage failure. */
export const STORAGE_RETRY_AFTER_SECONDS = 2;

const TRANSIENT = [
  /SQLITE_BUSY/,
  /SQLITE_LOCKED/,
  /database is locked/i,
  /database table is locked/i,
  /D1 DB is overloaded/i,
  /Network connection lost/i,
  /storage caused object to be reset/i,
  /object to be reset/i,
  /Cannot resolve D1 DB due to transient issue/i,
  /D1 DB storage operation exceeded timeout/i,
];

/** True when the error, or any error in its `cause` chain (drizzle wraps D1's), is transient. */
export function isStorageUnavailable(error: unknown): boolean {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current instanceof Error; depth++) {
    const message = current.message;
    if (TRANSIENT.some((pattern) => pattern.test(message))) return true;
    current = current.cause;
  }
  return false;
}

/** The typed error the edge renders for a transient storage failure; carries no query text. */
export function storageUnavailable(): FacetError {
  return new FacetError("ERR_STORAGE_UNAVAILABLE", "Storage is temporarily unavailable; retry later.", {
    headers: { "retry-after": String(STORAGE_RETRY_AFTER_SECONDS) },
    extensions: { retryAfter: STORAGE_RETRY_AFTER_SECONDS },
  });
}
