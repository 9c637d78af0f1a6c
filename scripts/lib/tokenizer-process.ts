/**
 * Runs the regional tokenization service (services/tokenizer) as a child process on a loopback
 * port, waits for its ready line, and stops it on request. Used by `npm start` and the tests.
 * Keys: unless the environment already names a PKCS#11 module, the service gets a private SoftHSM2
 * token next to the certificates (scripts/lib/dev-hsm.ts), or — without SoftHSM2 — the in-memory
 * dev key store, with a warning here and on the service's stderr.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { dirname, join } from "node:path";
import type { DevCerts } from "./dev-certs.ts";
import { devKeystoreEnv } from "./dev-hsm.ts";
import { REPO } from "./platform.ts";

export interface TokenizerProcess {
  url: string;
  child: ChildProcess;
  /** everything the service wrote to stdout and stderr (tests search it for canaries) */
  output(): string;
  stop(): Promise<void>;
}

export function startTokenizer(
  certs: DevCerts,
  extraEnv: Record<string, string> = {},
): Promise<TokenizerProcess> {
  let keyEnv: Record<string, string> = {};
  const keysChosen =
    process.env.TOKENIZER_PKCS11_MODULE || extraEnv.TOKENIZER_PKCS11_MODULE || extraEnv.TOKENIZER_DEV_MODE;
  if (!keysChosen) {
    const dev = devKeystoreEnv(join(dirname(certs.dir), "hsm"));
    keyEnv = dev.env;
    if (!dev.hsm) {
      console.warn(
        "⚠ SoftHSM2 is not installed: the tokenizer keeps its keys IN MEMORY (dev only, lost on restart). " +
          "Install softhsm2 (apt-get install softhsm2) for an HSM-backed dev key store.",
      );
    }
  }
  const child = spawn(process.execPath, [join(REPO, "services", "tokenizer", "main.ts"), "--port", "0"], {
    cwd: REPO,
    env: {
      ...process.env,
      TOKENIZER_TLS_CERT: certs.server.cert,
      TOKENIZER_TLS_KEY: certs.server.key,
      TOKENIZER_CLIENT_CA: certs.ca.cert,
      ...keyEnv,
      ...extraEnv,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  return new Promise((resolveStart, rejectStart) => {
    const timer = setTimeout(() => rejectStart(new Error(`tokenizer did not become ready:\n${out}`)), 60_000);
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      const line = out.split("\n").find((l) => l.startsWith('{"ready":true'));
      if (!line) return;
      clearTimeout(timer);
      const { url } = JSON.parse(line) as { url: string };
      resolveStart({
        url,
        child,
        output: () => out,
        stop: () =>
          new Promise((done) => {
            if (child.exitCode !== null) return done();
            child.once("exit", () => done());
            child.kill("SIGTERM");
          }),
      });
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", (chunk: Buffer) => {
      out += chunk.toString();
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      rejectStart(new Error(`tokenizer exited (${code}) before ready:\n${out}`));
    });
  });
}
