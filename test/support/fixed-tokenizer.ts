/**
 * A tokenization service double for the spine tests: a real HTTPS server with the same mutual
 * TLS requirements as services/tokenizer, answering each batch with fixed feature payloads.
 * The profile is chosen by the first byte of the window's first frame — `L` a live face,
 * `P` a held-up photo, `N` no face — so a test picks what the analyzers will see.
 * (The real service has its own suite in test/tokenizer.)
 */
import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:https";
import type { FaceWindow, ImageWindow, TokenizeReply } from "../../lib/features.ts";
import { decodeBatch } from "../../lib/tokenizer-batch.ts";
import type { DevCerts } from "../../scripts/lib/dev-certs.ts";

const LIVE_FACE: FaceWindow = {
  framesAnalyzed: 5,
  facePresentRatio: 1,
  multiFaceRatio: 0,
  faceAreaMean: 0.18,
  yawRangeDeg: 22,
  pitchRangeDeg: 12,
  blinkCount: 1,
  eyeOpennessMean: 0.8,
  mouthApertureStd: 0.08,
  gazeOffScreenRatio: 0.05,
  planarity: 0.2,
  depthVariation: 0.5,
  landmarkJitter: 0.05,
};

const PHOTO_FACE: FaceWindow = {
  ...LIVE_FACE,
  yawRangeDeg: 2,
  pitchRangeDeg: 1,
  blinkCount: 0,
  mouthApertureStd: 0,
  planarity: 0.97,
  depthVariation: 0.02,
  landmarkJitter: 0.3,
};

const IMAGE: ImageWindow = {
  sharpness: 0.6,
  exposureMean: 0.5,
  clippedRatio: 0.01,
  colourTemperatureK: 5200,
  moireEnergy: 0.05,
  noiseMismatch: 0.1,
  backgroundMotion: 0.1,
  frameIntervalMeanMs: 200,
  frameIntervalCv: 0.15,
};

export interface FixedTokenizer {
  url: string;
  /** batches received, by session id: tests assert what reached the service */
  batches: Map<string, number>;
  close(): Promise<void>;
}

export async function startFixedTokenizer(certs: DevCerts): Promise<FixedTokenizer> {
  const batches = new Map<string, number>();
  const server: Server = createServer(
    {
      key: readFileSync(certs.server.key),
      cert: readFileSync(certs.server.cert),
      ca: readFileSync(certs.ca.cert),
      requestCert: true,
      rejectUnauthorized: true,
      minVersion: "TLSv1.3",
    },
    (req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const { header, payload } = decodeBatch(new Uint8Array(Buffer.concat(chunks)));
        batches.set(header.sessionId, (batches.get(header.sessionId) ?? 0) + 1);
        const first = header.frames[0];
        const profile = first ? String.fromCharCode(payload[first.offset] ?? 0) : "A";
        const face = profile === "L" ? LIVE_FACE : profile === "P" ? PHOTO_FACE : null;
        const reply: TokenizeReply = {
          features: {
            schema: "facet.features/1",
            seq: header.seq,
            startMs: header.startMs,
            endMs: header.endMs,
            face,
            image: first ? IMAGE : null,
            audio: header.audio
              ? {
                  durationMs: (header.audio.length / 2 / 16000) * 1000,
                  speechRatio: 0.6,
                  rmsDb: -24,
                  noiseFloorDb: -60,
                  f0MeanHz: 140,
                  f0StdHz: 18,
                  jitter: 0.01,
                  shimmer: 0.04,
                  spectralCentroidHz: 1500,
                  spectralFlatness: 0.2,
                  backgroundBands: [0.3, 0.2, 0.15, 0.1, 0.1, 0.08, 0.05, 0.02],
                  speechSegments: [{ startMs: 100, endMs: 700 }],
                }
              : null,
          },
          fingerprint: null,
        };
        res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(reply));
      });
    },
  );
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const address = server.address();
  if (!address || typeof address === "string") throw new Error("fixed tokenizer did not bind");
  return {
    url: `https://127.0.0.1:${address.port}`,
    batches,
    close: () =>
      new Promise((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
