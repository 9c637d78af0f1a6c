/**
 * Tokenizer configuration from the environment, overridable on the command line. Certificate
 * paths come from TOKENIZER_TLS_CERT, TOKENIZER_TLS_KEY and TOKENIZER_CLIENT_CA in production
 * (mounted secrets); locally `scripts/lib/dev-certs.ts` makes them. Port 0 asks the OS for an
 * ephemeral port (tests); the host defaults to loopback so a dev run is never reachable from
 * the network by accident.
 */
import { parseArgs } from "node:util";

export interface TokenizerConfig {
  host: string;
  port: number;
  certPath: string;
  keyPath: string;
  clientCaPath: string;
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
    },
    strict: true,
  });
  const port = Number(values.port ?? env.TOKENIZER_PORT ?? "8443");
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new ConfigError("port must be 0..65535");
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
  };
}
