/**
 * Cuts the session's tokenized windows and signals into one minimal slice per analyzer
 * (product-spec §7 "minimal per analyzer"; seed: analyzers "cannot influence each other").
 * Each slice is validated against the analyzer's own input schema before it leaves the DO.
 */
import { AnalyzerInputSchemas, type AnalyzerInputs, MAX_WINDOWS } from "../../lib/analyzer-contract.ts";
import type { BehaviorSignals, DeviceSignals, NetworkSignals, WindowFeatures } from "../../lib/features.ts";
import type { ChallengeTally } from "../../lib/fusion.ts";

export interface ConversationTurn {
  latencyMs: number | null;
  speechMs: number;
  pauses: number;
  words: number | null;
  evasive: boolean;
  /** compared with the tenant's earlier answers and found repeated (answer-repetition.ts) */
  repeated?: boolean;
}

export interface SessionEvidence {
  windows: WindowFeatures[];
  /** liveness challenges over the session: drawn (shown or not), answered, movements missed */
  challenges: ChallengeTally;
  /** the same per decided (or interrupted) liveness node visit, for fusion's step 5 */
  challengeVisits?: ChallengeTally[];
  device: DeviceSignals | null;
  network: NetworkSignals;
  behavior: BehaviorSignals | null;
  turns: ConversationTurn[];
  sessionSeconds: number;
}

const EMPTY_BEHAVIOR: BehaviorSignals = {
  pointerMoves: 0,
  pointerSpeedCv: 0,
  keyPresses: 0,
  keyIntervalCv: 0,
  focusLosses: 0,
  responseLatenciesMs: [],
};

/** The most recent windows, at most MAX_WINDOWS (the analyzers' bounded input). */
function recent(windows: WindowFeatures[]): WindowFeatures[] {
  return windows.slice(-MAX_WINDOWS);
}

/**
 * The liveness analyzer's slice: face geometry and the image cues of presentation attacks. Used
 * for the liveness node's own decision and for the session's final analysis alike.
 */
export function livenessSlice(
  windows: WindowFeatures[],
  challenges: { issued: number; passed: number },
): AnalyzerInputs["liveness"] {
  return {
    windows: recent(windows).map((w) => ({
      face: w.face,
      image: w.image
        ? {
            sharpness: w.image.sharpness,
            clippedRatio: w.image.clippedRatio,
            moireEnergy: w.image.moireEnergy,
            noiseMismatch: w.image.noiseMismatch,
            frameIntervalCv: w.image.frameIntervalCv,
          }
        : null,
    })),
    // the analyzer's contract: drawn and answered (the movement rule is fusion's, step 5)
    challenges: { issued: challenges.issued, passed: challenges.passed },
  };
}

export function buildSlices(e: SessionEvidence): AnalyzerInputs {
  const windows = recent(e.windows);
  const skew =
    e.device && e.network.ipTimezoneOffsetMin !== null
      ? // getTimezoneOffset() is minutes *behind* UTC; the IP offset is minutes ahead.
        Math.round(-e.device.timezoneOffsetMin - e.network.ipTimezoneOffsetMin)
      : null;
  const behavior = e.behavior ?? EMPTY_BEHAVIOR;
  const slices: AnalyzerInputs = {
    liveness: livenessSlice(windows, e.challenges),
    coercion: {
      windows: windows.map((w) => ({
        gazeOffScreenRatio: w.face?.gazeOffScreenRatio ?? null,
        multiFaceRatio: w.face?.multiFaceRatio ?? null,
        audio: w.audio
          ? {
              speechRatio: w.audio.speechRatio,
              f0MeanHz: w.audio.f0MeanHz,
              f0StdHz: w.audio.f0StdHz,
              jitter: w.audio.jitter,
              shimmer: w.audio.shimmer,
              rmsDb: w.audio.rmsDb,
            }
          : null,
      })),
      replyLatenciesMs: e.turns.flatMap((t) => (t.latencyMs === null ? [] : [t.latencyMs])),
    },
    environment: {
      windows: windows.map((w) => ({
        image: w.image
          ? {
              exposureMean: w.image.exposureMean,
              colourTemperatureK: w.image.colourTemperatureK,
              backgroundMotion: w.image.backgroundMotion,
              noiseMismatch: w.image.noiseMismatch,
            }
          : null,
        audio: w.audio
          ? {
              noiseFloorDb: w.audio.noiseFloorDb,
              spectralFlatness: w.audio.spectralFlatness,
              backgroundBands: w.audio.backgroundBands,
              speechRatio: w.audio.speechRatio,
            }
          : null,
      })),
      timezoneSkewMin: skew,
    },
    behavior: {
      interaction: behavior,
      windows: windows.map((w) => ({
        landmarkJitter: w.face?.landmarkJitter ?? null,
        yawRangeDeg: w.face?.yawRangeDeg ?? null,
      })),
      sessionSeconds: Math.min(86_400, Math.max(0, e.sessionSeconds)),
    },
    device_risk: { device: e.device, network: e.network },
    conversation: { turns: e.turns.slice(-64) },
  };
  // Validate what leaves the DO (house-style 4); a failure here is a bug, not bad input.
  for (const name of Object.keys(AnalyzerInputSchemas) as (keyof AnalyzerInputs)[]) {
    AnalyzerInputSchemas[name].parse(slices[name]);
  }
  return slices;
}
