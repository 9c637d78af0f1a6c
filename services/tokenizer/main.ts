/**
 * Entry point of the regional tokenization service: `node services/tokenizer/main.ts` (Node 22
 * strips the types). Loads config, starts the mTLS server and prints exactly one JSON line,
 * `{"ready":true,"url":"https://HOST:PORT"}`, on stdout once it listens — the contract the
 * dev runner and the tests wait on. Request logs go to stderr. SIGTERM and SIGINT stop accepting
 * connections, let in-flight batches finish for a grace period, then exit 0.
 */
import { readFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { ConfigError, loadConfig } from "./config.ts";
import { createHumanFaceEngine } from "./features/face-human.ts";
import { createTokenizerServer } from "./server.ts";
import { defaultEngines, type FeatureEngines } from "./tokenize.ts";

const SHUTDOWN_GRACE_MS = 5_000;

async function main(): Promise<void> {
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig(process.argv.slice(2), process.env);
  } catch (error) {
    const message = error instanceof ConfigError || error instanceof TypeError ? error.message : "bad config";
    process.stderr.write(`${JSON.stringify({ fatal: "config", message })}\n`);
    process.exit(2);
  }
  let engines: FeatureEngines = defaultEngines;
  if (config.face === "human") {
    // Explicitly requested: a model that fails to load stops the service rather than silently
    // answering `face: null`.
    try {
      engines = { ...defaultEngines, face: await createHumanFaceEngine(config.faceMaxFrames) };
    } catch (error) {
      const message = error instanceof Error ? error.message : "unknown";
      process.stderr.write(`${JSON.stringify({ fatal: "face-engine", message })}\n`);
      process.exit(1);
    }
  }
  const server = createTokenizerServer({
    cert: readFileSync(config.certPath),
    key: readFileSync(config.keyPath),
    clientCa: readFileSync(config.clientCaPath),
    engines,
  });
  server.on("error", (error: NodeJS.ErrnoException) => {
    process.stderr.write(`${JSON.stringify({ fatal: "listen", code: error.code ?? "unknown" })}\n`);
    process.exit(1);
  });
  server.listen(config.port, config.host, () => {
    const { port } = server.address() as AddressInfo;
    const host = config.host.includes(":") ? `[${config.host}]` : config.host;
    process.stdout.write(`${JSON.stringify({ ready: true, url: `https://${host}:${port}` })}\n`);
  });

  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    server.close(() => process.exit(0));
    server.closeIdleConnections();
    setTimeout(() => {
      server.closeAllConnections();
      process.exit(0);
    }, SHUTDOWN_GRACE_MS).unref();
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}

await main();
