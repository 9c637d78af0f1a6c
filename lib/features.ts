/**
 * Tokenized features: the only biometric-derived data that leaves the tokenization service.
 *
 * The tokenizer (services/tokenizer) turns a batch of raw frames and audio — one "window" of
 * the session, typically one second — into the numbers below and then zeroizes the raw media.
 * Every field is an aggregate over the window (ratios, ranges, spectral statistics); none can be
 * inverted into an image or a recording, and none is an identity template (the face embedding
 * never leaves the tokenizer: it becomes the keyed fingerprint in `fingerprint`).
 * Seed: "tokenize first, analyze second"; product-spec §7 "tokenized features … derived,
 * non-invertible, minimal per analyzer".
 *
 * The schema is versioned (`FEATURES_SCHEMA`). Workers validate every tokenizer reply against
 * it (house-style 4: validate at every trust boundary); analyzers receive only their slice
 * (see `durable-objects/session/slices.ts`).
 */
import { z } from "zod";

export const FEATURES_SCHEMA = "facet.features/1" as const;

const ratio = z.number().min(0).max(1);
const nonNegative = z.number().min(0);

/** Face geometry over a window, from the face mesh. Unitless ratios unless noted. */
export const FaceWindowSchema = z.object({
  /** frames in the window the face model ran on */
  framesAnalyzed: z.number().int().min(0).max(600),
  /** fraction of frames with exactly one face */
  facePresentRatio: ratio,
  /** fraction of frames with two or more faces (a second person, or a photo beside the face) */
  multiFaceRatio: ratio,
  /** mean face-box area as a fraction of the frame area (distance to camera) */
  faceAreaMean: ratio,
  /** range of head yaw over the window, degrees (a turning head; a still photo barely moves) */
  yawRangeDeg: z.number().min(0).max(180),
  /** range of head pitch over the window, degrees */
  pitchRangeDeg: z.number().min(0).max(180),
  /**
   * Signed head pose over the window's frames with a face, degrees (0 when none had one): mean,
   * least and greatest. The ranges above cannot tell a turn to the left from one to the right;
   * these can, so a challenge is checked for its direction against the pose before it was shown
   * (durable-objects/session/node-logic.ts). Signs as the face engine reads an unmirrored camera
   * image, measured on the e2e webcam clips (test/tokenizer/face.test.ts): yaw < 0 is the person
   * turned to *their* left, pitch < 0 is the person looking up.
   */
  yawMeanDeg: z.number().min(-180).max(180),
  yawMinDeg: z.number().min(-180).max(180),
  yawMaxDeg: z.number().min(-180).max(180),
  pitchMeanDeg: z.number().min(-180).max(180),
  pitchMinDeg: z.number().min(-180).max(180),
  pitchMaxDeg: z.number().min(-180).max(180),
  /** eye closures detected in the window (an open eye, then a closed one, both in this window) */
  blinkCount: z.number().int().min(0).max(100),
  /**
   * Frames with a face whose eyes read closed. A blink that begins at the window's first frame has
   * no open frame before it in this window, so `blinkCount` misses it; with the previous window's
   * open eyes it is still a closure (the blink challenge, durable-objects/session/node-logic.ts).
   */
  eyesClosedFrames: z.number().int().min(0).max(600),
  /** mean eye openness (0 closed … 1 wide open) */
  eyeOpennessMean: ratio,
  /** standard deviation of mouth aperture (speech moves the mouth) */
  mouthApertureStd: ratio,
  /** fraction of frames whose gaze points away from the screen (reading a script, someone else) */
  gazeOffScreenRatio: ratio,
  /** how well a single homography explains inter-frame landmark motion: 1 = planar (print/screen) */
  planarity: ratio,
  /** parallax of nose tip against cheek contour, normalised by face size (3D depth cue) */
  depthVariation: ratio,
  /** landmark jitter after pose compensation, normalised by face size (paste/warp artefacts) */
  landmarkJitter: ratio,
});
export type FaceWindow = z.infer<typeof FaceWindowSchema>;

/** Image statistics of the whole frame and of face-versus-background regions. */
export const ImageWindowSchema = z.object({
  /** variance of the Laplacian of luma, normalised to 0..1 (focus; recaptures are soft) */
  sharpness: ratio,
  /** mean luma 0..1 */
  exposureMean: ratio,
  /** fraction of pixels clipped at black or white (glare on a screen or print) */
  clippedRatio: ratio,
  /** correlated colour temperature estimate, kelvin (screens are cold, tungsten warm) */
  colourTemperatureK: z.number().min(1000).max(20000),
  /** share of spectral energy in the highest spatial-frequency band (moiré from screens) */
  moireEnergy: ratio,
  /** |log ratio| of noise level on the face against the background (pasted faces differ) */
  noiseMismatch: z.number().min(0).max(10),
  /** mean absolute background change between frames, 0..1 (virtual backgrounds are static) */
  backgroundMotion: ratio,
  /** mean interval between capture timestamps, ms */
  frameIntervalMeanMs: z.number().min(0).max(60_000),
  /** coefficient of variation of frame intervals (injected streams are too regular) */
  frameIntervalCv: z.number().min(0).max(10),
});
export type ImageWindow = z.infer<typeof ImageWindowSchema>;

/** Acoustic statistics; none of them can resynthesise the voice. */
export const AudioWindowSchema = z.object({
  /** audio analysed in the window, ms */
  durationMs: z.number().min(0).max(60_000),
  /** fraction of 32 ms frames the voice-activity detector marks as speech */
  speechRatio: ratio,
  /** RMS level, dBFS */
  rmsDb: z.number().min(-160).max(0),
  /** 10th-percentile frame level, dBFS (background noise) */
  noiseFloorDb: z.number().min(-160).max(0),
  /** mean fundamental frequency of voiced frames, Hz (0 when unvoiced) */
  f0MeanHz: z.number().min(0).max(1000),
  /** standard deviation of F0, Hz (vocal stress raises it) */
  f0StdHz: z.number().min(0).max(1000),
  /** relative period-to-period F0 perturbation */
  jitter: ratio,
  /** relative cycle-to-cycle amplitude perturbation */
  shimmer: ratio,
  /** spectral centroid, Hz */
  spectralCentroidHz: z.number().min(0).max(8000),
  /** spectral flatness 0 (tonal) … 1 (noise) */
  spectralFlatness: ratio,
  /** energy share in 8 log-spaced bands of non-speech frames: the background-audio fingerprint */
  backgroundBands: z.array(ratio).length(8),
  /** speech segments inside the window, ms from the window start */
  speechSegments: z.array(z.object({ startMs: nonNegative, endMs: nonNegative })).max(64),
});
export type AudioWindow = z.infer<typeof AudioWindowSchema>;

/** One tokenized window as the tokenizer returns it and the session DO keeps it (in memory). */
export const WindowFeaturesSchema = z.object({
  schema: z.literal(FEATURES_SCHEMA),
  /** window sequence number within the session */
  seq: z.number().int().min(0),
  /** capture time of the window's first and last sample, ms since the session's first sample */
  startMs: nonNegative,
  endMs: nonNegative,
  face: FaceWindowSchema.nullable(),
  image: ImageWindowSchema.nullable(),
  audio: AudioWindowSchema.nullable(),
});
export type WindowFeatures = z.infer<typeof WindowFeaturesSchema>;

/**
 * Keyed, renewable face template (BioHashing-style; see services/tokenizer). Bits only: the
 * embedding it came from never leaves the tokenizer.
 */
export const FingerprintSchema = z.object({
  keyVersion: z.number().int().min(1),
  /** base64 of the packed template bits */
  bits: z.string().max(4096),
  /** number of frames the template was averaged over */
  frames: z.number().int().min(1),
});
export type Fingerprint = z.infer<typeof FingerprintSchema>;

/**
 * What the speech recognizer heard in the window's audio, when the batch asked for it
 * (`transcribe`, conversation nodes). Times are ms from the start of the window's audio. This is
 * the reply's only content-bearing field: the session keeps it for the report's transcript
 * (product-spec §5) and the conversation conditions, never the audio.
 */
export const TranscriptSchema = z.object({
  text: z.string().max(4000),
  words: z
    .array(
      z.object({
        word: z.string().max(100),
        startMs: nonNegative,
        endMs: nonNegative,
        confidence: ratio,
      }),
    )
    .max(500),
});
export type WindowTranscript = z.infer<typeof TranscriptSchema>;

/** The tokenizer's reply to one batch. */
export const TokenizeReplySchema = z.object({
  features: WindowFeaturesSchema,
  fingerprint: FingerprintSchema.nullable(),
  /** present when the batch asked for `transcribe`: null when no recognizer ran or it failed */
  transcript: TranscriptSchema.nullable().optional(),
  /**
   * The zone the service tokenized this batch for: the batch's `zone`, confirmed as one the
   * service serves (null for a batch that named none). The session DO refuses a reply whose
   * zone is not the session's (lib/residency.ts).
   */
  zone: z.enum(["eu", "us"]).nullable().optional(),
});
export type TokenizeReply = z.infer<typeof TokenizeReplySchema>;

/**
 * Device and network signals. The browser part comes from the widget (docs/signals.md lists
 * each with its privacy rationale); the network part is derived by the edge from `request.cf`.
 */
export const DeviceSignalsSchema = z.object({
  /** navigator.webdriver: automation frameworks set it */
  webdriver: z.boolean(),
  /** the camera's label names a known virtual-camera driver */
  virtualCamera: z.boolean(),
  /** IANA time zone the browser reports */
  timezone: z.string().max(64),
  /** `Date#getTimezoneOffset()`: minutes *behind* UTC (UTC − local; Vienna in winter is −60) */
  timezoneOffsetMin: z.number().int().min(-900).max(900),
  /** navigator.language */
  language: z.string().max(35),
  hardwareConcurrency: z.number().int().min(0).max(1024),
  maxTouchPoints: z.number().int().min(0).max(64),
  screenWidth: z.number().int().min(0).max(20_000),
  screenHeight: z.number().int().min(0).max(20_000),
});
export type DeviceSignals = z.infer<typeof DeviceSignalsSchema>;

export const NetworkSignalsSchema = z.object({
  /** ISO country of the client IP (request.cf.country), or null locally */
  country: z.string().max(2).nullable(),
  /** autonomous system number (request.cf.asn), or null locally */
  asn: z.number().int().nullable(),
  /** the ASN belongs to a hosting / datacenter provider list */
  datacenterAsn: z.boolean(),
  /** UTC offset implied by the IP's time zone (request.cf.timezone), minutes *ahead* of UTC, or null */
  ipTimezoneOffsetMin: z.number().int().nullable(),
  /** hour of day at the client IP's time zone when the session started, 0..23 */
  localHour: z.number().int().min(0).max(23),
});
export type NetworkSignals = z.infer<typeof NetworkSignalsSchema>;

/** Interaction signals from the widget: cadence and counts only, never content. */
export const BehaviorSignalsSchema = z.object({
  pointerMoves: z.number().int().min(0).max(1_000_000),
  /** coefficient of variation of pointer speed (scripted pointers are uniform) */
  pointerSpeedCv: z.number().min(0).max(100),
  keyPresses: z.number().int().min(0).max(1_000_000),
  /** coefficient of variation of inter-key intervals */
  keyIntervalCv: z.number().min(0).max(100),
  /** times the page lost focus or became hidden during the session */
  focusLosses: z.number().int().min(0).max(10_000),
  /** ms from each challenge prompt to the matching head movement or reply */
  responseLatenciesMs: z.array(z.number().min(0).max(600_000)).max(64),
});
export type BehaviorSignals = z.infer<typeof BehaviorSignalsSchema>;
