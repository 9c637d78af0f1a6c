/**
 * A private SoftHSM2 token for development and tests, so the tokenizer's keys live behind
 * PKCS#11 exactly as in production (services/tokenizer/keys/pkcs11-keystore.ts) rather than in
 * process memory. `ensureDevHsm(dir)` writes a SoftHSM2 config of its own (`SOFTHSM2_CONF`,
 * token directory `<dir>/tokens`, file object store, ERROR logging) — the system config in
 * /etc/softhsm and its token directory are never touched — and initialises a token labelled
 * `facet-dev` with a random user PIN kept in `<dir>/pin` (0600). The SO PIN is random and thrown
 * away: nothing here needs the security officer, and a dev token that locks its user PIN is
 * simply re-created. Idempotent; returns null when SoftHSM2 is not installed (then `npm start`
 * falls back to the in-memory development keystore, loudly).
 *
 * Note: softhsm2-util takes PINs on its command line, visible to local `ps` for the few
 * milliseconds it runs. Acceptable for a throw-away dev token; never how production PINs move.
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { delimiter, join } from "node:path";

export interface DevHsm {
  /** path of the private SoftHSM2 config; the service must see it as SOFTHSM2_CONF */
  conf: string;
  /** the PKCS#11 module (.so) */
  module: string;
  tokenLabel: string;
  /** file holding the user PIN, mode 0600 */
  pinFile: string;
}

export const DEV_TOKEN_LABEL = "facet-dev";

/** Where distributions put the SoftHSM2 module (Debian/Ubuntu, multiarch, source builds, Homebrew). */
const MODULE_CANDIDATES = [
  "/usr/lib/softhsm/libsofthsm2.so",
  "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
  "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
  "/usr/local/lib/softhsm/libsofthsm2.so",
  "/opt/homebrew/lib/softhsm/libsofthsm2.so",
];

function findOnPath(name: string): string | null {
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    if (dir && existsSync(join(dir, name))) return join(dir, name);
  }
  return null;
}

export function softHsmModule(): string | null {
  return MODULE_CANDIDATES.find((path) => existsSync(path)) ?? null;
}

function tokenPresent(util: string, conf: string): boolean {
  try {
    const slots = execFileSync(util, ["--show-slots"], {
      env: { ...process.env, SOFTHSM2_CONF: conf },
      stdio: ["ignore", "pipe", "ignore"],
    }).toString("utf8");
    return slots.split("\n").some((line) => /^Label:\s+(.*)$/.exec(line.trim())?.[1] === DEV_TOKEN_LABEL);
  } catch {
    return false;
  }
}

/** Creates (once) a private SoftHSM2 token under `dir`; null when SoftHSM2 is not installed. */
export function ensureDevHsm(dir: string): DevHsm | null {
  const module = softHsmModule();
  const util = findOnPath("softhsm2-util");
  if (!module || !util) return null;

  const tokens = join(dir, "tokens");
  const conf = join(dir, "softhsm2.conf");
  const pinFile = join(dir, "pin");
  mkdirSync(tokens, { recursive: true, mode: 0o700 });
  writeFileSync(
    conf,
    [
      "# written by scripts/lib/dev-hsm.ts: a private development token, not the system's",
      `directories.tokendir = ${tokens}`,
      "objectstore.backend = file",
      "log.level = ERROR",
      "slots.removable = false",
      "",
    ].join("\n"),
    { mode: 0o600 },
  );
  if (existsSync(pinFile) && tokenPresent(util, conf)) {
    return { conf, module, tokenLabel: DEV_TOKEN_LABEL, pinFile };
  }

  // No PIN or no token: start over (a token whose PIN was lost is unusable anyway).
  rmSync(tokens, { recursive: true, force: true });
  mkdirSync(tokens, { recursive: true, mode: 0o700 });
  const pin = randomBytes(16).toString("hex");
  const soPin = randomBytes(16).toString("hex");
  execFileSync(
    util,
    ["--init-token", "--free", "--label", DEV_TOKEN_LABEL, "--so-pin", soPin, "--pin", pin],
    { env: { ...process.env, SOFTHSM2_CONF: conf }, stdio: ["ignore", "ignore", "pipe"] },
  );
  const partial = `${pinFile}.tmp`;
  writeFileSync(partial, pin, { mode: 0o600 });
  renameSync(partial, pinFile);
  return { conf, module, tokenLabel: DEV_TOKEN_LABEL, pinFile };
}

/**
 * The tokenizer environment for a dev or test run: the private SoftHSM2 token when SoftHSM2 is
 * installed, otherwise the in-memory development keystore (`TOKENIZER_DEV_MODE=1`).
 */
export function devKeystoreEnv(dir: string): { env: Record<string, string>; hsm: DevHsm | null } {
  const hsm = ensureDevHsm(dir);
  if (!hsm) return { env: { TOKENIZER_DEV_MODE: "1" }, hsm: null };
  return {
    env: {
      SOFTHSM2_CONF: hsm.conf,
      TOKENIZER_PKCS11_MODULE: hsm.module,
      TOKENIZER_PKCS11_TOKEN_LABEL: hsm.tokenLabel,
      TOKENIZER_PKCS11_PIN_FILE: hsm.pinFile,
    },
    hsm,
  };
}

/** Reads the PIN written by ensureDevHsm (tests log in to the token directly). */
export function readDevPin(hsm: DevHsm): string {
  return readFileSync(hsm.pinFile, "utf8").trim();
}
