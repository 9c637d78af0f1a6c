/**
 * Environment features: does the scene look like a real room the person is in, or a composited
 * or virtual background, an injected audio track, a call-centre floor, or a clock that does not
 * match the network's region? Ordered list = model input order (models/environment/build.ts).
 */
import type { AnalyzerInput } from "../../lib/analyzer-contract.ts";
import { type AnalyzerVector, mean, ratio } from "../../lib/analyzer-runtime.ts";

export type EnvironmentSlice = AnalyzerInput<"environment">;
type Image = NonNullable<EnvironmentSlice["windows"][number]["image"]>;
type Audio = NonNullable<EnvironmentSlice["windows"][number]["audio"]>;

/** Below this mean absolute change per frame a background is frozen (a still or virtual one). */
const FROZEN_MOTION = 0.002;

function images(s: EnvironmentSlice): Image[] {
  return s.windows.map((w) => w.image).filter((i): i is Image => i !== null);
}

function audios(s: EnvironmentSlice): Audio[] {
  return s.windows.map((w) => w.audio).filter((a): a is Audio => a !== null);
}

/** Share of background energy in bands 3-5 of 8 log-spaced bands, roughly 300-3000 Hz (voices). */
function speechBandShare(a: Audio): number {
  const total = a.backgroundBands.reduce((x, y) => x + y, 0);
  const voice = a.backgroundBands.slice(2, 5).reduce((x, y) => x + y, 0);
  return total > 0 ? voice / total : 0;
}

export const ENVIRONMENT_VECTOR: AnalyzerVector<EnvironmentSlice> = {
  analyzer: "environment",
  features: [
    {
      name: "background_motion_mean",
      reasonCode: "ENVIRONMENT_STATIC_BACKGROUND",
      unit: "ratio 0..1",
      description: "mean absolute background change between frames",
      neutral: 0.02,
      extract: (s) => mean(images(s).map((i) => i.backgroundMotion)),
    },
    {
      name: "frozen_background_ratio",
      reasonCode: "ENVIRONMENT_FROZEN_BACKGROUND",
      unit: "ratio 0..1",
      description: `share of windows whose background moved less than ${FROZEN_MOTION}`,
      neutral: 0.1,
      extract: (s) => ratio(images(s), (i) => i.backgroundMotion < FROZEN_MOTION),
    },
    {
      name: "noise_mismatch_mean",
      reasonCode: "ENVIRONMENT_COMPOSITED_FACE",
      unit: "|log ratio|",
      description: "mean face-versus-background noise mismatch (a face keyed onto a scene)",
      neutral: 0.2,
      extract: (s) => mean(images(s).map((i) => i.noiseMismatch)),
    },
    {
      name: "colour_temperature_kk",
      reasonCode: "ENVIRONMENT_SCREEN_LIGHT",
      unit: "kilokelvin",
      description: "mean correlated colour temperature (a face lit only by a screen is cold)",
      neutral: 5.5,
      extract: (s) => {
        const m = mean(images(s).map((i) => i.colourTemperatureK));
        return m === null ? null : m / 1000;
      },
    },
    {
      name: "noise_floor_db_mean",
      reasonCode: "ENVIRONMENT_CLEAN_AUDIO",
      unit: "dBFS",
      description: "mean 10th-percentile frame level (digital silence suggests injected audio)",
      neutral: -55,
      extract: (s) => mean(audios(s).map((a) => a.noiseFloorDb)),
    },
    {
      name: "spectral_flatness_mean",
      reasonCode: "ENVIRONMENT_FLAT_NOISE",
      unit: "ratio 0..1",
      description: "mean spectral flatness (synthetic white-noise beds are flat)",
      neutral: 0.3,
      extract: (s) => mean(audios(s).map((a) => a.spectralFlatness)),
    },
    {
      name: "background_voice_band_share",
      reasonCode: "ENVIRONMENT_BACKGROUND_BABBLE",
      unit: "ratio 0..1",
      description: "mean share of non-speech background energy in voice bands (call-centre babble)",
      neutral: 0.3,
      extract: (s) => mean(audios(s).map(speechBandShare)),
    },
    {
      name: "timezone_skew_h",
      reasonCode: "ENVIRONMENT_TIMEZONE_SKEW",
      unit: "hours (absolute)",
      description: "browser time zone offset minus the IP's, absolute",
      neutral: 0,
      extract: (s) => (s.timezoneSkewMin === null ? null : Math.abs(s.timezoneSkewMin) / 60),
    },
  ],
  evidence: (s) => ({
    usable: s.windows.filter((w) => w.image !== null || w.audio !== null).length,
    target: 5,
  }),
};
