/**
 * Entry point of the regional tokenization service: `node services/tokenizer/main.ts` (Node 22
 * strips the types). Loads config, starts the mTLS server and prints exactly one JSON line,
 * `{"ready":true,"url":"https://HOST:PORT"}`, on stdout once it listens — the contract the
 * dev runner and the tests wait on. Request logs go to stderr. SIGTERM and SIGINT stop accepting
 * connections, let in-flight batches finish for a grace period, then exit 0.
 */
import { readFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import type { SpeechRecognizer } from "./asr/engine.ts";
import { createPocketSphinxRecognizer, pocketSphinxInstalled } from "./asr/pocketsphinx.ts";
import { ConfigError, loadConfig } from "./config.ts";
import { createHumanFaceEngine } from "./features/face-human.ts";
import { createFaceWorkerPool, type FaceWorkerPool } from "./features/face-pool.ts";
import { BioHasher } from "./fingerprint/biohash.ts";
import { type Keystore, openKeystore } from "./keys/keystore.ts";
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
  // Keys: the HSM through PKCS#11, or — only with TOKENIZER_DEV_MODE=1 and no module — the
  // in-memory dev store, announced on every start. A token that cannot be opened stops the service.
  let keystore: Keystore;
  try {
    keystore = await openKeystore(config.keystore);
  } catch (error) {
    const message = error instanceof Error ? error.message : "unknown";
    process.stderr.write(`${JSON.stringify({ fatal: "keystore", message })}\n`);
    process.exit(1);
  }
  if (keystore.kind === "software-dev") {
    process.stderr.write(
      `${JSON.stringify({ warn: "keystore", message: "DEV ONLY: keys in process memory, lost on restart (TOKENIZER_DEV_MODE=1, no TOKENIZER_PKCS11_MODULE)" })}\n`,
    );
  }
  let engines: FeatureEngines = defaultEngines;
  let facePool: FaceWorkerPool | null = null;
  if (config.face === "human") {
    // The default (TOKENIZER_FACE=none opts out): a model that fails to load stops the service
    // rather than silently answering `face: null`.
    try {
      if (config.faceWorkers > 0) {
        facePool = await createFaceWorkerPool(
          config.faceWorkers,
          config.faceMaxFrames,
          config.fingerprintMaxFrames,
        );
      }
      engines = {
        ...defaultEngines,
        face: facePool ?? (await createHumanFaceEngine(config.faceMaxFrames, config.fingerprintMaxFrames)),
      };
    } catch (error) {
      const message = error instanceof Error ? error.message : "unknown";
      process.stderr.write(`${JSON.stringify({ fatal: "face-engine", message })}\n`);
      process.exit(1);
    }
  }
  // The keyed face template (fingerprint/biohash.ts): seeds come from the keystore's tokenization
  // HMAC; seeds and projections live only in this process's bounded cache, wiped on shutdown.
  const biohasher = new BioHasher(keystore);
  engines = { ...engines, fingerprint: biohasher };
  // Speech recognition for conversation nodes: one decoder process per service, loaded now.
  // Asked for explicitly, a missing engine stops the service; by default it is announced and
  // transcripts answer null.
  let asr: SpeechRecognizer | null = null;
  if (config.asr === "pocketsphinx" || (config.asr === "auto" && pocketSphinxInstalled())) {
    try {
      asr = await createPocketSphinxRecognizer();
    } catch (error) {
      const message = error instanceof Error ? error.message : "unknown";
      if (config.asr === "pocketsphinx") {
        process.stderr.write(`${JSON.stringify({ fatal: "asr", message })}\n`);
        process.exit(1);
      }
      process.stderr.write(
        `${JSON.stringify({ warn: "asr", message: `speech recognition off: ${message}` })}\n`,
      );
    }
  } else if (config.asr === "auto") {
    process.stderr.write(
      `${JSON.stringify({ warn: "asr", message: "speech recognition off: PocketSphinx not installed (apt python3-pocketsphinx pocketsphinx-en-us)" })}\n`,
    );
  }
  engines = { ...engines, asr };
  const server = createTokenizerServer({
    cert: readFileSync(config.certPath),
    key: readFileSync(config.keyPath),
    clientCa: readFileSync(config.clientCaPath),
    engines,
    keystore,
    zones: config.zones,
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
    server.close(() => {
      void biohasher
        .dispose()
        .then(() => asr?.close())
        .then(() => facePool?.close())
        .then(() => keystore.close())
        .finally(() => process.exit(0));
    });
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
