/**
 * A tokenization service double for the spine tests: a real HTTPS server with the same mutual
 * TLS requirements as services/tokenizer, answering each batch with fixed feature payloads.
 * The profile is chosen by the first byte of the window's first frame — `L` a live face,
 * `P` a held-up photo, `N` no face — so a test picks what the analyzers will see.
 * Fingerprints: when the batch wants one and the profile has a face, the first frame's bytes 1–32
 * are the window's 256-bit template (key version 1), so a test picks who is in front of the camera
 * (the real keyed BioHash has its own suite, test/tokenizer/fingerprint.test.ts); shorter frames
 * answer `fingerprint: null`.
 * Conversations: a test scripts a session's spoken answers with `answers.set(sessionId, [...])`.
 * For a scripted session, a window whose audio is all zeros is silence and any other audio is
 * speech; the first speech window of each reply that asks for `transcribe` consumes the next
 * answer as its transcript (later windows of the same reply transcribe to ""); a batch with more
 * than one second of audio is the session's whole-reply transcription and answers the same text,
 * or the part after " | " ("two fellas | two thousand": windows heard the first, the whole reply
 * the second). Unscripted
 * sessions keep the fixed speech profile and answer `transcript: null` (no recognizer).
 * Residency: like the real service, the double serves the zones it is started with (both by
 * default), refuses a batch for another zone with 421 ERR_ZONE_NOT_SERVED and names the zone in
 * its reply; `zones` lets a test run one double per region and see which one a batch reached.
 * (The real service has its own suite in test/tokenizer.)
 */
import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:https";
import type { AudioWindow, FaceWindow, ImageWindow, TokenizeReply } from "../../lib/features.ts";
import { decodeBatch } from "../../lib/tokenizer-batch.ts";
import type { DevCerts } from "../../scripts/lib/dev-certs.ts";
import { createFixedKms, type FixedKms } from "./fixed-kms.ts";

const LIVE_FACE: FaceWindow = {
  framesAnalyzed: 5,
  facePresentRatio: 1,
  multiFaceRatio: 0,
  faceAreaMean: 0.18,
  yawRangeDeg: 22,
  pitchRangeDeg: 12,
  // the same pose every window: a turn from one window to the next is not scripted here
  yawMeanDeg: -3,
  yawMinDeg: -14,
  yawMaxDeg: 8,
  pitchMeanDeg: -5,
  pitchMinDeg: -11,
  pitchMaxDeg: 1,
  blinkCount: 1,
  eyesClosedFrames: 1,
  eyeOpennessMean: 0.8,
  mouthApertureStd: 0.08,
  gazeOffScreenRatio: 0.05,
  planarity: 0.2,
  depthVariation: 0.5,
  // what the service measures on real webcam faces (docs/evaluation.md, bona fide ≈ 0.008)
  landmarkJitter: 0.008,
};

const PHOTO_FACE: FaceWindow = {
  ...LIVE_FACE,
  yawRangeDeg: 2,
  pitchRangeDeg: 1,
  yawMinDeg: -4,
  yawMaxDeg: -2,
  pitchMinDeg: -5.5,
  pitchMaxDeg: -4.5,
  blinkCount: 0,
  eyesClosedFrames: 0,
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

/** A live camera: moiré and clipped pixels as measured on real webcam faces (docs/evaluation.md). */
const LIVE_IMAGE: ImageWindow = { ...IMAGE, clippedRatio: 0.00001, moireEnergy: 0.0001 };

export interface FixedTokenizer {
  url: string;
  /** batches received, by session id: tests assert what reached the service */
  batches: Map<string, number>;
  /** PCM s16le audio bytes received, by session id */
  audioBytes: Map<string, number>;
  /** scripted spoken answers, by session id, consumed in order (see the header) */
  answers: Map<string, string[]>;
  /** batches that asked for a transcript, by session id */
  transcribed: Map<string, number>;
  /** scripted sessions whose transcripts are `null`, as from a service whose recognizer is down */
  noRecognizer: Set<string>;
  /** the key API (/v1/keys/*), doubled in memory (fixed-kms.ts) */
  kms: FixedKms;
  /** the zones this double serves */
  zones: readonly ("eu" | "us")[];
  /** batches refused because they named a zone this double does not serve, by session id */
  refused: Map<string, number>;
  close(): Promise<void>;
}

export async function startFixedTokenizer(
  certs: DevCerts,
  options: { zones?: readonly ("eu" | "us")[] } = {},
): Promise<FixedTokenizer> {
  const zones = options.zones ?? ["eu", "us"];
  const refused = new Map<string, number>();
  const batches = new Map<string, number>();
  const audioBytes = new Map<string, number>();
  const answers = new Map<string, string[]>();
  const transcribed = new Map<string, number>();
  const noRecognizer = new Set<string>();
  /** scripted sessions whose current reply has already consumed its answer */
  const answering = new Set<string>();
  const lastAnswer = new Map<string, { windows: string; whole: string }>();
  const kms = createFixedKms();
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
      if (req.url?.startsWith("/v1/keys/")) return kms.handle(req, res);
      // Like a tokenizer without the answer-digest route: the session must degrade, not fail.
      if (req.url?.startsWith("/v1/answers/")) {
        req.resume();
        res.writeHead(404, { "content-type": "application/problem+json" });
        res.end(JSON.stringify({ code: "ERR_NOT_FOUND" }));
        return;
      }
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const { header, payload } = decodeBatch(new Uint8Array(Buffer.concat(chunks)));
        if (header.zone !== undefined && !zones.includes(header.zone)) {
          refused.set(header.sessionId, (refused.get(header.sessionId) ?? 0) + 1);
          const problem = { type: "urn:facet:tokenizer:ERR_ZONE_NOT_SERVED", code: "ERR_ZONE_NOT_SERVED" };
          res.writeHead(421, { "content-type": "application/problem+json" }).end(JSON.stringify(problem));
          return;
        }
        batches.set(header.sessionId, (batches.get(header.sessionId) ?? 0) + 1);
        audioBytes.set(
          header.sessionId,
          (audioBytes.get(header.sessionId) ?? 0) + (header.audio?.length ?? 0),
        );
        const first = header.frames[0];
        const profile = first ? String.fromCharCode(payload[first.offset] ?? 0) : "A";
        const face = profile === "L" ? LIVE_FACE : profile === "P" ? PHOTO_FACE : null;
        const script = answers.get(header.sessionId);
        const silent =
          script !== undefined &&
          header.audio !== null &&
          payload
            .subarray(header.audio.offset, header.audio.offset + header.audio.length)
            .every((b) => b === 0);
        let transcript: TokenizeReply["transcript"];
        if (header.transcribe) {
          transcribed.set(header.sessionId, (transcribed.get(header.sessionId) ?? 0) + 1);
          // More than one second of audio: the session's whole-reply transcription.
          const wholeReply = (header.audio?.length ?? 0) > WINDOW_PCM_BYTES;
          if (script === undefined || header.audio === null || noRecognizer.has(header.sessionId))
            transcript = null;
          else if (wholeReply) transcript = scripted(lastAnswer.get(header.sessionId)?.whole ?? "");
          else if (silent || answering.has(header.sessionId)) transcript = scripted("");
          else {
            const [windows = "", whole = windows] = (script.shift() ?? "").split(" | ");
            answering.add(header.sessionId);
            lastAnswer.set(header.sessionId, { windows, whole });
            transcript = scripted(windows);
          }
        }
        if (silent) answering.delete(header.sessionId);
        const reply: TokenizeReply = {
          features: {
            schema: "facet.features/1",
            seq: header.seq,
            startMs: header.startMs,
            endMs: header.endMs,
            face,
            image: first ? (profile === "L" ? LIVE_IMAGE : IMAGE) : null,
            audio: header.audio
              ? silent
                ? silence((header.audio.length / 2 / 16000) * 1000)
                : {
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
          fingerprint:
            header.wantFingerprint && face && first && first.length >= 33
              ? {
                  keyVersion: 1,
                  bits: Buffer.from(payload.subarray(first.offset + 1, first.offset + 33)).toString("base64"),
                  frames: header.frames.length,
                }
              : null,
          ...(transcript === undefined ? {} : { transcript }),
          zone: header.zone ?? null,
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
    audioBytes,
    answers,
    transcribed,
    noRecognizer,
    kms,
    zones,
    refused,
    close: () =>
      new Promise((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

function silence(durationMs: number): AudioWindow {
  return {
    durationMs,
    speechRatio: 0,
    rmsDb: -90,
    noiseFloorDb: -90,
    f0MeanHz: 0,
    f0StdHz: 0,
    jitter: 0,
    shimmer: 0,
    spectralCentroidHz: 0,
    spectralFlatness: 1,
    backgroundBands: [0.125, 0.125, 0.125, 0.125, 0.125, 0.125, 0.125, 0.125],
    speechSegments: [],
  };
}

/** 1 s of 16 kHz PCM16: no media window carries more. */
const WINDOW_PCM_BYTES = 16_000 * 2;

function scripted(text: string): NonNullable<TokenizeReply["transcript"]> {
  return {
    text,
    words: text
      .split(/\s+/)
      .filter((w) => w !== "")
      .map((word, i) => ({ word, startMs: 100 + i * 300, endMs: 350 + i * 300, confidence: 0.9 })),
  };
}
