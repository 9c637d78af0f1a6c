/**
 * The one written contract every analyzer Worker implements (house-style 7).
 *
 * An analyzer is a `WorkerEntrypoint` whose `analyze(input)` receives exactly its own slice of
 * the tokenized session (never another analyzer's slice or result: seed "the models run
 * independently and cannot influence each other's analysis") and returns a calibrated risk
 * probability with the signals that explain it. Inputs and results are validated with the
 * schemas below on both sides of the RPC boundary.
 */
import { z } from "zod";
import {
  AudioWindowSchema,
  BehaviorSignalsSchema,
  DeviceSignalsSchema,
  FaceWindowSchema,
  ImageWindowSchema,
  NetworkSignalsSchema,
} from "./features.ts";

export const ANALYZERS = [
  "liveness",
  "coercion",
  "environment",
  "behavior",
  "device_risk",
  "conversation",
] as const;
export type AnalyzerName = (typeof ANALYZERS)[number];

/** At most this many windows reach an analyzer (≈ 2 minutes of one-second windows). */
export const MAX_WINDOWS = 128;

export const LivenessSliceSchema = z.object({
  windows: z
    .array(
      z.object({
        face: FaceWindowSchema.nullable(),
        image: ImageWindowSchema.pick({
          sharpness: true,
          clippedRatio: true,
          moireEnergy: true,
          noiseMismatch: true,
          frameIntervalCv: true,
        }).nullable(),
      }),
    )
    .max(MAX_WINDOWS),
  /** liveness challenges issued and how many the face geometry confirmed */
  challenges: z.object({ issued: z.number().int().min(0).max(3), passed: z.number().int().min(0).max(3) }),
});

export const CoercionSliceSchema = z.object({
  windows: z
    .array(
      z.object({
        gazeOffScreenRatio: z.number().min(0).max(1).nullable(),
        multiFaceRatio: z.number().min(0).max(1).nullable(),
        audio: AudioWindowSchema.pick({
          speechRatio: true,
          f0MeanHz: true,
          f0StdHz: true,
          jitter: true,
          shimmer: true,
          rmsDb: true,
        }).nullable(),
      }),
    )
    .max(MAX_WINDOWS),
  /** ms from each prompt to the start of the reply */
  replyLatenciesMs: z.array(z.number().min(0).max(600_000)).max(64),
});

export const EnvironmentSliceSchema = z.object({
  windows: z
    .array(
      z.object({
        image: ImageWindowSchema.pick({
          exposureMean: true,
          colourTemperatureK: true,
          backgroundMotion: true,
          noiseMismatch: true,
        }).nullable(),
        audio: AudioWindowSchema.pick({
          noiseFloorDb: true,
          spectralFlatness: true,
          backgroundBands: true,
          speechRatio: true,
        }).nullable(),
      }),
    )
    .max(MAX_WINDOWS),
  /** browser time zone offset minus the IP's, minutes; null when unknown */
  timezoneSkewMin: z.number().int().nullable(),
});

export const BehaviorSliceSchema = z.object({
  interaction: BehaviorSignalsSchema,
  /** head-motion smoothness per window (from face geometry), null without a face */
  windows: z
    .array(
      z.object({
        landmarkJitter: z.number().min(0).max(1).nullable(),
        yawRangeDeg: z.number().min(0).max(180).nullable(),
      }),
    )
    .max(MAX_WINDOWS),
  sessionSeconds: z.number().min(0).max(86_400),
});

export const DeviceRiskSliceSchema = z.object({
  device: DeviceSignalsSchema.nullable(),
  network: NetworkSignalsSchema,
});

export const ConversationSliceSchema = z.object({
  turns: z
    .array(
      z.object({
        /** ms from the end of the prompt to the first speech */
        latencyMs: z.number().min(0).max(600_000).nullable(),
        /** speech in the reply, ms */
        speechMs: z.number().min(0).max(600_000),
        /** pauses longer than 300 ms inside the reply */
        pauses: z.number().int().min(0).max(1000),
        /** words recognised, when speech recognition ran */
        words: z.number().int().min(0).max(10_000).nullable(),
        /** the node's condition language judged the reply evasive or a refusal */
        evasive: z.boolean(),
        /**
         * the reply matched another subject's answer of the tenant (keyed shingle digests,
         * docs/conversation.md); absent when it was not compared (too short, no recognizer)
         */
        repeated: z.boolean().optional(),
      }),
    )
    .max(64),
});

export const AnalyzerInputSchemas = {
  liveness: LivenessSliceSchema,
  coercion: CoercionSliceSchema,
  environment: EnvironmentSliceSchema,
  behavior: BehaviorSliceSchema,
  device_risk: DeviceRiskSliceSchema,
  conversation: ConversationSliceSchema,
} as const satisfies Record<AnalyzerName, z.ZodType>;

export type AnalyzerInput<N extends AnalyzerName> = z.infer<(typeof AnalyzerInputSchemas)[N]>;
export type AnalyzerInputs = { [N in AnalyzerName]: AnalyzerInput<N> };

/** A named signal: the model's input value and its signed contribution to the logit. */
export const SignalSchema = z.object({
  value: z.number(),
  contribution: z.number(),
});

export const AnalyzerResultSchema = z.object({
  analyzer: z.enum(ANALYZERS),
  /** calibrated probability that the session is risky along this analyzer's dimension */
  score: z.number().min(0).max(1),
  /** how much evidence the score rests on, 0..1 (few usable windows → low) */
  confidence: z.number().min(0).max(1),
  modelVersion: z.string().min(1).max(64),
  latencyMs: z.number().min(0),
  signals: z.record(z.string(), SignalSchema),
});
export type AnalyzerResult = z.infer<typeof AnalyzerResultSchema>;

/** Error codes an analyzer may raise; the DO maps them into fusion reasons. */
export const ANALYZER_ERROR_CODES = [
  "ERR_ANALYZER_INPUT",
  "ERR_ANALYZER_MODEL",
  "ERR_ANALYZER_TIMEOUT",
  "ERR_ANALYZER_UNAVAILABLE",
] as const;
export type AnalyzerErrorCode = (typeof ANALYZER_ERROR_CODES)[number];

/** What the RPC surface of every analyzer Worker looks like. */
export interface AnalyzerService<N extends AnalyzerName> {
  analyze(input: AnalyzerInput<N>): Promise<AnalyzerResult>;
}
