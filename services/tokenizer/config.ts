/**
 * Tokenizer configuration from the environment, overridable on the command line. Certificate
 * paths come from TOKENIZER_TLS_CERT, TOKENIZER_TLS_KEY and TOKENIZER_CLIENT_CA in production
 * (mounted secrets); locally `scripts/lib/dev-certs.ts` makes them. Port 0 asks the OS for an
 * ephemeral port (tests); the host defaults to loopback so a dev run is never reachable from
 * the network by accident. TOKENIZER_FACE=human (or --face human) turns on the experimental face
 * engine; it is off by default.
 */
import { parseArgs } from "node:util";

export interface TokenizerConfig {
  host: string;
  port: number;
  certPath: string;
  keyPath: string;
  clientCaPath: string;
  /** face engine: "none" (default, `face: null`) or "human" (experimental, @vladmandic/human) */
  face: "none" | "human";
  /** frames per window the face model runs on (CPU bound: ~140 ms each) */
  faceMaxFrames: number;
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
    },
    strict: true,
  });
  const port = Number(values.port ?? env.TOKENIZER_PORT ?? "8443");
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new ConfigError("port must be 0..65535");
  const face = values.face ?? env.TOKENIZER_FACE ?? "none";
  if (face !== "none" && face !== "human") throw new ConfigError("TOKENIZER_FACE must be none or human");
  const faceMaxFrames = Number(env.TOKENIZER_FACE_MAX_FRAMES ?? "8");
  if (!Number.isInteger(faceMaxFrames) || faceMaxFrames < 1 || faceMaxFrames > 60) {
    throw new ConfigError("TOKENIZER_FACE_MAX_FRAMES must be 1..60");
  }
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
  };
}
