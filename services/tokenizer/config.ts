/**
 * Tokenizer configuration from the environment, overridable on the command line. Certificate
 * paths come from TOKENIZER_TLS_CERT, TOKENIZER_TLS_KEY and TOKENIZER_CLIENT_CA in production
 * (mounted secrets); locally `scripts/lib/dev-certs.ts` makes them. Port 0 asks the OS for an
 * ephemeral port (tests); the host defaults to loopback so a dev run is never reachable from
 * the network by accident. The face engine (TOKENIZER_FACE / --face) defaults to `human`
 * (@vladmandic/human: mesh features and the fingerprint's embedding); `none` is the explicit
 * opt-out that answers `face: null` and `fingerprint: null`. Keys live in an HSM named by
 * TOKENIZER_PKCS11_MODULE, _TOKEN_LABEL and _PIN or _PIN_FILE (keys/keystore.ts); without a module
 * the service refuses to start unless TOKENIZER_DEV_MODE=1 asks for the in-memory dev key store.
 * Speech recognition (TOKENIZER_ASR) defaults to PocketSphinx when it is installed; `none` (or
 * a missing engine, announced on start) answers `transcript: null`.
 * The face models run in TOKENIZER_FACE_WORKERS worker threads (default: one per core, from
 * `os.availableParallelism()`; 0 runs them in the main thread, one frame at a time).
 * Residency (TOKENIZER_ZONES / --zones, comma-separated `eu`, `us`): the zones whose batches
 * this instance tokenizes; a regional host names only its own, so a batch routed to the wrong
 * region is refused (421 ERR_ZONE_NOT_SERVED) instead of processed. Unset means both zones: the
 * one-process development setup (docs/deploy.md makes it mandatory in production).
 */
import { availableParallelism } from "node:os";
import { parseArgs } from "node:util";
import { type KeystoreConfig, keystoreConfigFromEnv } from "./keys/keystore.ts";

export interface TokenizerConfig {
  host: string;
  port: number;
  certPath: string;
  keyPath: string;
  clientCaPath: string;
  /** face engine: "human" (default, @vladmandic/human) or "none" (opt-out: `face: null`) */
  face: "none" | "human";
  /** frames per window the face model runs on (CPU bound, see docs/deploy.md) */
  faceMaxFrames: number;
  /** of those, frames per window that also run the face descriptor when a fingerprint is wanted */
  fingerprintMaxFrames: number;
  /** face-model worker threads; 0 = in the main thread (features/face-pool.ts) */
  faceWorkers: number;
  /** PKCS#11 module, token and PIN (TOKENIZER_PKCS11_*), or the dev-only in-memory store */
  keystore: KeystoreConfig;
  /**
   * speech recognizer (TOKENIZER_ASR): "pocketsphinx", "none", or "auto" (the default:
   * pocketsphinx when installed, otherwise none with a warning at start)
   */
  asr: "pocketsphinx" | "none" | "auto";
  /** zones this instance serves (TOKENIZER_ZONES); both when unset */
  zones: ("eu" | "us")[];
}

/** Parses `eu`, `us` or `eu,us` (order and spaces free, no duplicates, at least one). */
export function parseZones(value: string): ("eu" | "us")[] {
  const zones = value.split(",").map((z) => z.trim());
  const valid = zones.every((z) => z === "eu" || z === "us") && new Set(zones).size === zones.length;
  if (!valid || zones.length === 0) throw new ConfigError("TOKENIZER_ZONES must be eu, us or eu,us");
  return zones as ("eu" | "us")[];
}

export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

export function loadConfig(argv: string[], env: NodeJS.ProcessEnv): TokenizerConfig {
  const { values } = parseArgs({
    args: argv,
    options: {
      host: { type: "string" },
      port: { type: "string" },
      cert: { type: "string" },
      key: { type: "string" },
      "client-ca": { type: "string" },
      face: { type: "string" },
      zones: { type: "string" },
    },
    strict: true,
  });
  const port = Number(values.port ?? env.TOKENIZER_PORT ?? "8443");
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new ConfigError("port must be 0..65535");
  const face = values.face ?? env.TOKENIZER_FACE ?? "human";
  if (face !== "none" && face !== "human") throw new ConfigError("TOKENIZER_FACE must be none or human");
  const faceMaxFrames = Number(env.TOKENIZER_FACE_MAX_FRAMES ?? "8");
  if (!Number.isInteger(faceMaxFrames) || faceMaxFrames < 1 || faceMaxFrames > 60) {
    throw new ConfigError("TOKENIZER_FACE_MAX_FRAMES must be 1..60");
  }
  const fingerprintMaxFrames = Number(env.TOKENIZER_FINGERPRINT_MAX_FRAMES ?? "3");
  if (!Number.isInteger(fingerprintMaxFrames) || fingerprintMaxFrames < 1 || fingerprintMaxFrames > 60) {
    throw new ConfigError("TOKENIZER_FINGERPRINT_MAX_FRAMES must be 1..60");
  }
  const faceWorkers = Number(env.TOKENIZER_FACE_WORKERS ?? String(availableParallelism()));
  if (!Number.isInteger(faceWorkers) || faceWorkers < 0 || faceWorkers > 64) {
    throw new ConfigError("TOKENIZER_FACE_WORKERS must be 0..64");
  }
  const asr = env.TOKENIZER_ASR ?? "auto";
  if (asr !== "pocketsphinx" && asr !== "none" && asr !== "auto") {
    throw new ConfigError("TOKENIZER_ASR must be pocketsphinx or none");
  }
  const zones = parseZones(values.zones ?? env.TOKENIZER_ZONES ?? "eu,us");
  const keystore = keystoreConfigFromEnv(env);
  if (typeof keystore === "string") throw new ConfigError(keystore);
  const required = (value: string | undefined, name: string): string => {
    if (!value) throw new ConfigError(`${name} is required`);
    return value;
  };
  return {
    host: values.host ?? env.TOKENIZER_HOST ?? "127.0.0.1",
    port,
    certPath: required(values.cert ?? env.TOKENIZER_TLS_CERT, "TOKENIZER_TLS_CERT (--cert)"),
    keyPath: required(values.key ?? env.TOKENIZER_TLS_KEY, "TOKENIZER_TLS_KEY (--key)"),
    clientCaPath: required(
      values["client-ca"] ?? env.TOKENIZER_CLIENT_CA,
      "TOKENIZER_CLIENT_CA (--client-ca)",
    ),
    face,
    faceMaxFrames,
    fingerprintMaxFrames,
    faceWorkers,
    keystore,
    asr,
    zones,
  };
}
