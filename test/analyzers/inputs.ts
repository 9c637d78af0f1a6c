/**
 * Hand-written analyzer slices for test/analyzers: for each analyzer a plausible genuine
 * session, a clearly risky one, an empty one (no evidence) and one the contract rejects. Values
 * follow the units in lib/features.ts; nothing here comes from real people.
 */
import type { AnalyzerInputs, AnalyzerName } from "../../lib/analyzer-contract.ts";

type LivenessWindow = AnalyzerInputs["liveness"]["windows"][number];
type Face = NonNullable<LivenessWindow["face"]>;
type Image = NonNullable<LivenessWindow["image"]>;

const face = (o: Partial<Face> = {}): Face => ({
  framesAnalyzed: 30,
  facePresentRatio: 1,
  multiFaceRatio: 0,
  faceAreaMean: 0.2,
  yawRangeDeg: 18,
  pitchRangeDeg: 9,
  yawMeanDeg: -2,
  yawMinDeg: -11,
  yawMaxDeg: 7,
  pitchMeanDeg: -5,
  pitchMinDeg: -9,
  pitchMaxDeg: 0,
  blinkCount: 1,
  eyesClosedFrames: 1,
  eyeOpennessMean: 0.7,
  mouthApertureStd: 0.05,
  gazeOffScreenRatio: 0.05,
  planarity: 0.3,
  depthVariation: 0.35,
  landmarkJitter: 0.015,
  ...o,
});

const image = (o: Partial<Image> = {}): Image => ({
  sharpness: 0.5,
  clippedRatio: 0.01,
  moireEnergy: 0.03,
  noiseMismatch: 0.15,
  frameIntervalCv: 0.2,
  ...o,
});

const repeat = <T>(n: number, f: (i: number) => T): T[] => Array.from({ length: n }, (_, i) => f(i));

const voice = {
  speechRatio: 0.7,
  f0MeanHz: 140,
  f0StdHz: 15,
  jitter: 0.008,
  shimmer: 0.04,
  rmsDb: -24,
};

const bands = (voiceShare: number): number[] => {
  const rest = (1 - voiceShare) / 5;
  return [rest, rest, voiceShare / 3, voiceShare / 3, voiceShare / 3, rest, rest, rest];
};

export interface Cases<N extends AnalyzerName> {
  genuine: AnalyzerInputs[N];
  risky: AnalyzerInputs[N];
  empty: AnalyzerInputs[N];
  /** violates the contract schema */
  invalid: unknown;
}

export const CASES: { [N in AnalyzerName]: Cases<N> } = {
  liveness: {
    genuine: {
      windows: repeat(6, (i) => ({
        face: face({ yawRangeDeg: 10 + 3 * i, blinkCount: i % 2 }),
        // What the tokenizer measures on real webcam faces (docs/evaluation.md: moiré ≈ 1e-4,
        // clipped ≈ 1e-5); the trained liveness model reads larger values as a screen or glare.
        image: image({ moireEnergy: 0.0001, clippedRatio: 0.00001 }),
      })),
      challenges: { issued: 2, passed: 2 },
    },
    risky: {
      windows: repeat(6, () => ({
        face: face({
          planarity: 0.92,
          depthVariation: 0.04,
          yawRangeDeg: 1,
          blinkCount: 0,
          eyesClosedFrames: 0,
          landmarkJitter: 0.05,
        }),
        image: image({
          moireEnergy: 0.25,
          clippedRatio: 0.12,
          sharpness: 0.2,
          noiseMismatch: 0.9,
          frameIntervalCv: 0.01,
        }),
      })),
      challenges: { issued: 2, passed: 0 },
    },
    empty: { windows: [], challenges: { issued: 0, passed: 0 } },
    invalid: { windows: [], challenges: { issued: 7, passed: 0 } },
  },
  coercion: {
    genuine: {
      windows: repeat(6, () => ({ gazeOffScreenRatio: 0.05, multiFaceRatio: 0, audio: voice })),
      replyLatenciesMs: [800, 1100, 950],
    },
    risky: {
      windows: repeat(6, () => ({
        gazeOffScreenRatio: 0.6,
        multiFaceRatio: 0.4,
        audio: { ...voice, f0StdHz: 40, jitter: 0.03, shimmer: 0.12, rmsDb: -40 },
      })),
      replyLatenciesMs: [4500, 5200, 3900],
    },
    empty: { windows: [], replyLatenciesMs: [] },
    invalid: {
      windows: [{ gazeOffScreenRatio: 2, multiFaceRatio: null, audio: null }],
      replyLatenciesMs: [],
    },
  },
  environment: {
    genuine: {
      windows: repeat(6, (i) => ({
        image: {
          exposureMean: 0.5,
          colourTemperatureK: 4800,
          backgroundMotion: 0.02 + i * 0.002,
          noiseMismatch: 0.15,
        },
        audio: { noiseFloorDb: -52, spectralFlatness: 0.3, backgroundBands: bands(0.25), speechRatio: 0.6 },
      })),
      timezoneSkewMin: 0,
    },
    risky: {
      windows: repeat(6, () => ({
        image: { exposureMean: 0.5, colourTemperatureK: 9000, backgroundMotion: 0, noiseMismatch: 0.9 },
        audio: { noiseFloorDb: -95, spectralFlatness: 0.8, backgroundBands: bands(0.8), speechRatio: 0.6 },
      })),
      timezoneSkewMin: 420,
    },
    empty: { windows: [], timezoneSkewMin: null },
    invalid: { windows: [], timezoneSkewMin: "UTC" },
  },
  behavior: {
    genuine: {
      interaction: {
        pointerMoves: 240,
        pointerSpeedCv: 1.0,
        keyPresses: 30,
        keyIntervalCv: 0.7,
        focusLosses: 0,
        responseLatenciesMs: [900, 1500, 700, 1200],
      },
      windows: repeat(12, (i) => ({ landmarkJitter: 0.015, yawRangeDeg: 6 + (i % 5) })),
      sessionSeconds: 90,
    },
    risky: {
      interaction: {
        pointerMoves: 400,
        pointerSpeedCv: 0.02,
        keyPresses: 40,
        keyIntervalCv: 0.01,
        focusLosses: 9,
        responseLatenciesMs: [120, 121, 119, 120],
      },
      windows: repeat(12, () => ({ landmarkJitter: 0.06, yawRangeDeg: 0 })),
      sessionSeconds: 90,
    },
    empty: {
      interaction: {
        pointerMoves: 0,
        pointerSpeedCv: 0,
        keyPresses: 0,
        keyIntervalCv: 0,
        focusLosses: 0,
        responseLatenciesMs: [],
      },
      windows: [],
      sessionSeconds: 0,
    },
    invalid: { interaction: { pointerMoves: -1 }, windows: [], sessionSeconds: 10 },
  },
  device_risk: {
    genuine: {
      device: {
        webdriver: false,
        virtualCamera: false,
        timezone: "Europe/Berlin",
        timezoneOffsetMin: 60,
        language: "de-DE",
        hardwareConcurrency: 8,
        maxTouchPoints: 0,
        screenWidth: 1920,
        screenHeight: 1080,
      },
      network: { country: "DE", asn: 3320, datacenterAsn: false, ipTimezoneOffsetMin: 60, localHour: 14 },
    },
    risky: {
      device: {
        webdriver: true,
        virtualCamera: true,
        timezone: "America/New_York",
        timezoneOffsetMin: -300,
        language: "en-US",
        hardwareConcurrency: 0,
        maxTouchPoints: 0,
        screenWidth: 0,
        screenHeight: 0,
      },
      network: { country: "NL", asn: 14061, datacenterAsn: true, ipTimezoneOffsetMin: 60, localHour: 3 },
    },
    empty: {
      device: null,
      network: { country: null, asn: null, datacenterAsn: false, ipTimezoneOffsetMin: null, localHour: 12 },
    },
    invalid: { device: null, network: { localHour: 25 } },
  },
  conversation: {
    genuine: {
      turns: [
        { latencyMs: 700, speechMs: 4200, pauses: 1, words: 10, evasive: false },
        { latencyMs: 1300, speechMs: 3500, pauses: 1, words: 8, evasive: false },
        { latencyMs: 900, speechMs: 5200, pauses: 2, words: 12, evasive: false },
        { latencyMs: 1600, speechMs: 2800, pauses: 1, words: 6, evasive: false },
      ],
    },
    risky: {
      turns: [
        { latencyMs: 4000, speechMs: 14_000, pauses: 0, words: 45, evasive: true },
        { latencyMs: 4000, speechMs: 15_000, pauses: 0, words: 48, evasive: true },
        { latencyMs: 4100, speechMs: 13_500, pauses: 0, words: 44, evasive: false },
        { latencyMs: null, speechMs: 0, pauses: 0, words: null, evasive: true },
      ],
    },
    empty: { turns: [] },
    invalid: { turns: [{ latencyMs: 10, speechMs: 10, pauses: 0, words: null }] },
  },
};
