/**
 * PKCS#11 plumbing for the keystore: loads the module once per process, finds the token by its
 * label (slot ids are not stable across restarts or SoftHSM re-initialisation), logs in as the
 * normal user, and lends sessions from a small pool.
 *
 * Why a pool: a PKCS#11 session runs one operation of a kind at a time (a second C_SignInit is
 * CKR_OPERATION_ACTIVE) and must not be used from two threads at once. The slow calls (generate,
 * sign, wrap, unwrap) run as pkcs11js `*Async` on libuv worker threads so a network HSM does not
 * stall the event loop; each keystore operation borrows a session for its whole sequence (e.g.
 * SignInit → Sign, or Generate → Wrap → GetAttribute → Destroy) and returns it, so no two
 * operations ever share a session and the library may run them in parallel — it was initialised
 * with CKF_OS_LOCKING_OK (v2.40 §5.4, CK_C_INITIALIZE_ARGS) to use native locks for that. Login
 * state is per application, not per session (C_Login puts every session of the application in the
 * user state), so one C_Login covers the pool.
 *
 * A session on which a PKCS#11 call failed is closed and replaced on return: the failure may have
 * left an operation active (SoftHSM keeps a C_SignInit alive after C_Sign returns
 * CKR_ARGUMENTS_BAD) and the next borrower would meet CKR_OPERATION_ACTIVE; the token may also
 * have dropped the session or the login. Failures the keystore expects and types itself
 * (KeystoreError, e.g. a wrapped key that does not unwrap) keep the session.
 */
import pkcs11js from "pkcs11js";
import { KeystoreError } from "./keystore.ts";

export type Pkcs11 = InstanceType<typeof pkcs11js.PKCS11>;
export type Handle = Buffer;
export { pkcs11js };

/** The CKR_* name of a pkcs11js error, or null (pkcs11js does not wrap every method's errors). */
export function ckr(error: unknown): string | null {
  if (!(error instanceof Error)) return null;
  return /CKR_[A-Z0-9_]+/.exec(error.message)?.[0] ?? null;
}

interface LoadedModule {
  lib: Pkcs11;
  refs: number;
  /** false when someone else in this process initialised the module first: they finalise it */
  ownsInit: boolean;
}

/** One pkcs11js instance per module path: C_Initialize may run once per process (v2.40 §5.4). */
const modules = new Map<string, LoadedModule>();

function loadModule(path: string): Pkcs11 {
  const loaded = modules.get(path);
  if (loaded) {
    loaded.refs++;
    return loaded.lib;
  }
  const lib = new pkcs11js.PKCS11();
  lib.load(path);
  let ownsInit = true;
  try {
    lib.C_Initialize({ flags: pkcs11js.CKF_OS_LOCKING_OK });
  } catch (error) {
    if (ckr(error) !== "CKR_CRYPTOKI_ALREADY_INITIALIZED") {
      lib.close();
      throw error;
    }
    ownsInit = false;
  }
  modules.set(path, { lib, refs: 1, ownsInit });
  return lib;
}

function unloadModule(path: string): void {
  const loaded = modules.get(path);
  if (!loaded || --loaded.refs > 0) return;
  modules.delete(path);
  if (loaded.ownsInit) {
    try {
      loaded.lib.C_Finalize();
    } catch {
      // finalising a module that is going away anyway
    }
  }
  loaded.lib.close();
}

/** The one slot whose token carries `label` (CK_TOKEN_INFO.label is blank-padded to 32 bytes). */
function findSlot(lib: Pkcs11, label: string): Handle {
  const matches = lib.C_GetSlotList(true).filter((slot) => lib.C_GetTokenInfo(slot).label.trim() === label);
  if (matches.length === 0)
    throw new KeystoreError("ERR_KEYSTORE_UNAVAILABLE", "no PKCS#11 token with that label");
  if (matches.length > 1)
    throw new KeystoreError("ERR_KEYSTORE_UNAVAILABLE", "two PKCS#11 tokens share that label");
  return matches[0] as Handle;
}

export class SessionPool {
  readonly lib: Pkcs11;
  readonly #module: string;
  readonly #slot: Handle;
  readonly #pin: string;
  readonly #idle: Handle[] = [];
  readonly #waiting: Array<{ resolve: (session: Handle) => void; reject: (error: Error) => void }> = [];
  #size = 0;
  #closed = false;
  #drained: (() => void) | null = null;

  private constructor(module: string, lib: Pkcs11, slot: Handle, pin: string) {
    this.#module = module;
    this.lib = lib;
    this.#slot = slot;
    this.#pin = pin;
  }

  /** Loads the module, finds the token, logs in and opens `size` sessions. */
  static open(module: string, tokenLabel: string, pin: string, size: number): SessionPool {
    const lib = loadModule(module);
    let pool: SessionPool | null = null;
    try {
      pool = new SessionPool(module, lib, findSlot(lib, tokenLabel), pin);
      for (let i = 0; i < size; i++) pool.#idle.push(pool.#openSession());
      pool.#size = size;
      return pool;
    } catch (error) {
      if (pool) for (const session of pool.#idle) pool.#closeSession(session);
      unloadModule(module);
      if (error instanceof KeystoreError) throw error;
      throw new KeystoreError(
        "ERR_KEYSTORE_UNAVAILABLE",
        `PKCS#11 token unavailable (${ckr(error) ?? "error"})`,
        {
          cause: error,
        },
      );
    }
  }

  #openSession(): Handle {
    const session = this.lib.C_OpenSession(this.#slot, pkcs11js.CKF_SERIAL_SESSION | pkcs11js.CKF_RW_SESSION);
    try {
      this.lib.C_Login(session, pkcs11js.CKU_USER, this.#pin);
    } catch (error) {
      if (ckr(error) !== "CKR_USER_ALREADY_LOGGED_IN") {
        this.#closeSession(session);
        throw error;
      }
    }
    return session;
  }

  #closeSession(session: Handle): void {
    try {
      this.lib.C_CloseSession(session);
    } catch {
      // already gone
    }
  }

  /** Runs `fn` with a session nobody else uses until it settles. */
  async run<T>(fn: (lib: Pkcs11, session: Handle) => Promise<T> | T): Promise<T> {
    const session = await this.#acquire();
    let suspect = false;
    try {
      return await fn(this.lib, session);
    } catch (error) {
      suspect = !(error instanceof KeystoreError);
      throw error;
    } finally {
      this.#release(session, suspect);
    }
  }

  #acquire(): Promise<Handle> {
    if (this.#closed)
      return Promise.reject(new KeystoreError("ERR_KEYSTORE_UNAVAILABLE", "key store closed"));
    const session = this.#idle.pop();
    if (session) return Promise.resolve(session);
    return new Promise((resolve, reject) => this.#waiting.push({ resolve, reject }));
  }

  #release(session: Handle, replace: boolean): void {
    let next: Handle | null = session;
    if (replace) {
      this.#closeSession(session);
      try {
        next = this.#openSession();
      } catch {
        next = null;
        this.#size--;
      }
    }
    if (!next) return;
    const waiter = this.#closed ? undefined : this.#waiting.shift();
    if (waiter) {
      waiter.resolve(next);
      return;
    }
    this.#idle.push(next);
    if (this.#closed && this.#idle.length === this.#size) this.#drained?.();
  }

  /** Waits for borrowed sessions to come back, closes all, and releases the module. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const waiter of this.#waiting.splice(0)) {
      waiter.reject(new KeystoreError("ERR_KEYSTORE_UNAVAILABLE", "key store closed"));
    }
    if (this.#idle.length < this.#size) {
      await new Promise<void>((resolve) => {
        this.#drained = resolve;
      });
    }
    for (const session of this.#idle.splice(0)) this.#closeSession(session);
    unloadModule(this.#module);
  }
}
