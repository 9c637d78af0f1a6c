/**
 * The isolate-memory cache of unwrapped key handles that both key rings use (tenant data keys,
 * lib/crypto/tenant-keys.ts; per-subject fingerprint keys, lib/recognition/subject-keys.ts).
 * Unwrapped keys live only here, as non-extractable WebCrypto handles, never in D1 or DO storage
 * (docs/storage.md "Encryption at rest"), and only for a bounded time, so a key destroyed in the HSM
 * stops opening anything in every isolate within the TTL.
 *
 * It caches the pending promise, so concurrent uses of one key share one unwrap round trip; a
 * rejected unwrap is dropped at once (the next use retries instead of replaying the failure). Size
 * is bounded: at the limit the oldest insertion goes (Map keeps insertion order; re-inserting a key
 * moves it to the end).
 */
export class KeyHandleCache<T> {
  readonly #entries = new Map<string, { value: Promise<T>; expiresAt: number }>();
  readonly #ttlMs: number;
  readonly #max: number;

  constructor(options: { ttlMs: number; max: number }) {
    this.#ttlMs = options.ttlMs;
    this.#max = options.max;
  }

  /** The cached (possibly pending) handle, or null when absent or expired. */
  get(keyId: string, now = Date.now()): Promise<T> | null {
    const hit = this.#entries.get(keyId);
    if (!hit) return null;
    if (hit.expiresAt <= now) {
      this.#entries.delete(keyId);
      return null;
    }
    return hit.value;
  }

  /** Caches `value` under `keyId` and returns it. */
  remember(keyId: string, value: Promise<T>): Promise<T> {
    value.catch(() => {
      if (this.#entries.get(keyId)?.value === value) this.#entries.delete(keyId);
    });
    this.#entries.delete(keyId);
    if (this.#entries.size >= this.#max) {
      const oldest = this.#entries.keys().next().value;
      if (oldest !== undefined) this.#entries.delete(oldest);
    }
    this.#entries.set(keyId, { value, expiresAt: Date.now() + this.#ttlMs });
    return value;
  }

  /** Drops one key (after crypto-shredding it). */
  forget(keyId: string): void {
    this.#entries.delete(keyId);
  }
}
