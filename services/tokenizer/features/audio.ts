/**
 * Acoustic statistics of one window of 16 kHz mono PCM for the coercion and environment
 * analyzers (lib/features.ts `AudioWindowSchema`). The signal is cut into 32 ms frames (512
 * samples, one FFT each); levels are dBFS (AES17 full scale = a full-scale square wave at 0 dB,
 * i.e. RMS relative to 1.0). Every value is an aggregate: levels, pitch statistics, spectral shape
 * and an 8-octave background spectrum, none of which can resynthesise the voice. The float copy
 * of the samples and every per-frame buffer are zeroized before returning (product-spec §7).
 */
import type { AudioWindow } from "../../../lib/features.ts";
import { TokenizerError } from "../errors.ts";
import { createFft } from "./fft.ts";
import { estimatePitch } from "./pitch.ts";
import { detectSpeech, percentile } from "./vad.ts";

export const SAMPLE_RATE = 16_000;
export const FRAME_SAMPLES = 512;
export const FRAME_MS = (FRAME_SAMPLES * 1000) / SAMPLE_RATE;
export const MAX_AUDIO_MS = 60_000;
const BAND_COUNT = 8;
const MAX_SEGMENTS = 64;
const MIN_DB = -160;
/** 10·log10 of this is MIN_DB: the level of digital silence */
const POWER_FLOOR = 1e-16;
const SPECTRAL_EPSILON = 1e-12;

const fft = createFft(FRAME_SAMPLES);
/** Hann window (Harris, Proc. IEEE 66(1), 1978) against spectral leakage between bands */
const HANN = Float64Array.from(
  { length: FRAME_SAMPLES },
  (_, i) => 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / (FRAME_SAMPLES - 1)),
);

const toDb = (power: number): number => Math.max(MIN_DB, Math.min(0, 10 * Math.log10(power + POWER_FLOOR)));
const clamp01 = (v: number): number => (Number.isFinite(v) ? Math.min(1, Math.max(0, v)) : 0);

/** FFT bin k (k·31.25 Hz) → octave band [31.25·2^b, 31.25·2^(b+1)) Hz; Nyquist joins the top band. */
function bandOf(k: number): number {
  return Math.min(BAND_COUNT - 1, Math.floor(Math.log2(k)));
}

interface FrameSpectrum {
  centroidHz: number;
  flatness: number;
  bands: number[];
}

function spectrum(frame: Float64Array, re: Float64Array, im: Float64Array): FrameSpectrum {
  for (let i = 0; i < FRAME_SAMPLES; i++) {
    re[i] = (frame[i] ?? 0) * (HANN[i] ?? 0);
    im[i] = 0;
  }
  fft.transform(re, im);
  const bands = new Array<number>(BAND_COUNT).fill(0);
  let sum = 0;
  let weighted = 0;
  let logSum = 0;
  const bins = FRAME_SAMPLES / 2;
  for (let k = 1; k <= bins; k++) {
    const power = (re[k] ?? 0) ** 2 + (im[k] ?? 0) ** 2;
    sum += power;
    weighted += power * ((k * SAMPLE_RATE) / FRAME_SAMPLES);
    logSum += Math.log(power + SPECTRAL_EPSILON);
    const band = bandOf(k);
    bands[band] = (bands[band] ?? 0) + power;
  }
  return {
    centroidHz: sum > 0 ? weighted / sum : 0,
    // Wiener entropy: geometric over arithmetic mean of the power spectrum (Johnston, IEEE JSAC 1988)
    flatness: clamp01(Math.exp(logSum / bins) / (sum / bins + SPECTRAL_EPSILON)),
    bands,
  };
}

function meanStd(values: readonly number[]): { mean: number; std: number } {
  if (values.length === 0) return { mean: 0, std: 0 };
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  return { mean, std: Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / values.length) };
}

/** Local perturbation: mean |x_i − x_{i+1}| over mean x (Praat's jitter/shimmer "local"). */
function localPerturbation(sequences: readonly number[][]): number {
  let diff = 0;
  let diffs = 0;
  let total = 0;
  let count = 0;
  for (const seq of sequences) {
    for (let i = 0; i < seq.length; i++) {
      total += seq[i] ?? 0;
      count++;
      if (i > 0) {
        diff += Math.abs((seq[i] ?? 0) - (seq[i - 1] ?? 0));
        diffs++;
      }
    }
  }
  if (diffs === 0 || total === 0) return 0;
  return clamp01(diff / diffs / (total / count));
}

/** Runs of speech frames → segments in ms from the window start, merged down to MAX_SEGMENTS. */
function segments(speech: readonly boolean[], offsetMs: number): { startMs: number; endMs: number }[] {
  const out: { startMs: number; endMs: number }[] = [];
  for (let i = 0; i < speech.length; i++) {
    if (!speech[i]) continue;
    let j = i;
    while (speech[j + 1]) j++;
    out.push({ startMs: offsetMs + i * FRAME_MS, endMs: offsetMs + (j + 1) * FRAME_MS });
    i = j;
  }
  while (out.length > MAX_SEGMENTS) {
    let shortest = 1;
    for (let k = 2; k < out.length; k++) {
      const gap = (out[k]?.startMs ?? 0) - (out[k - 1]?.endMs ?? 0);
      if (gap < (out[shortest]?.startMs ?? 0) - (out[shortest - 1]?.endMs ?? 0)) shortest = k;
    }
    const [next] = out.splice(shortest, 1);
    const previous = out[shortest - 1];
    if (previous && next) previous.endMs = next.endMs;
  }
  return out;
}

/**
 * `pcm` is signed 16-bit little-endian mono at 16 kHz (a view into the request body; the caller
 * zeroizes it). `offsetMs` is the audio's start relative to the window start.
 */
export function extractAudio(pcm: Uint8Array, offsetMs: number): AudioWindow {
  if (pcm.byteLength % 2 !== 0)
    throw new TokenizerError("ERR_BATCH_FORMAT", "pcm_s16le audio has an odd length");
  const count = pcm.byteLength / 2;
  const durationMs = (count * 1000) / SAMPLE_RATE;
  if (durationMs > MAX_AUDIO_MS) throw new TokenizerError("ERR_BATCH_FORMAT", "audio longer than 60 s");

  const samples = new Float64Array(count);
  const frame = new Float64Array(FRAME_SAMPLES);
  const re = new Float64Array(FRAME_SAMPLES);
  const im = new Float64Array(FRAME_SAMPLES);
  try {
    const view = new DataView(pcm.buffer, pcm.byteOffset, pcm.byteLength);
    let energy = 0;
    for (let i = 0; i < count; i++) {
      const s = view.getInt16(2 * i, true) / 32768;
      samples[i] = s;
      energy += s * s;
    }
    const rmsDb = count ? toDb(energy / count) : MIN_DB;

    const frames = Math.floor(count / FRAME_SAMPLES);
    const levels: number[] = [];
    const spectra: FrameSpectrum[] = [];
    for (let f = 0; f < frames; f++) {
      let power = 0;
      for (let i = 0; i < FRAME_SAMPLES; i++) {
        const s = samples[f * FRAME_SAMPLES + i] ?? 0;
        frame[i] = s;
        power += s * s;
      }
      levels.push(toDb(power / FRAME_SAMPLES));
      spectra.push(spectrum(frame, re, im));
    }
    const speech = detectSpeech(
      levels,
      spectra.map((s) => s.flatness),
    );

    const f0: number[] = [];
    const periodRuns: number[][] = [];
    const amplitudeRuns: number[][] = [];
    let run: number[] = [];
    for (let f = 0; f < frames; f++) {
      const pitch = speech[f] ? pitchOf(samples, f, frame) : null;
      if (!pitch) {
        if (run.length) periodRuns.push(run);
        run = [];
        continue;
      }
      f0.push(pitch.f0Hz);
      run.push(1000 / pitch.f0Hz);
      amplitudeRuns.push(pitch.cycleAmplitudes);
    }
    if (run.length) periodRuns.push(run);

    const described = spectra.filter((_, f) => speech[f]);
    const basis = described.length ? described : spectra;
    const background = new Array<number>(BAND_COUNT).fill(0);
    spectra.forEach((s, f) => {
      if (speech[f]) return;
      s.bands.forEach((p, b) => {
        background[b] = (background[b] ?? 0) + p;
      });
    });
    const backgroundTotal = background.reduce((a, b) => a + b, 0);
    const pitchStats = meanStd(f0);

    return {
      durationMs,
      speechRatio: frames ? speech.filter(Boolean).length / frames : 0,
      rmsDb,
      noiseFloorDb: frames ? percentile(levels, 0.1) : rmsDb,
      f0MeanHz: pitchStats.mean,
      f0StdHz: pitchStats.std,
      jitter: localPerturbation(periodRuns),
      shimmer: localPerturbation(amplitudeRuns),
      spectralCentroidHz: Math.min(SAMPLE_RATE / 2, meanStd(basis.map((s) => s.centroidHz)).mean),
      spectralFlatness: clamp01(meanStd(basis.map((s) => s.flatness)).mean),
      // No non-speech frame, or digital silence: all zeros (nothing to fingerprint), not a fake spread.
      backgroundBands: background.map((p) => (backgroundTotal > 0 ? clamp01(p / backgroundTotal) : 0)),
      speechSegments: segments(speech, Math.max(0, offsetMs)),
    };
  } finally {
    samples.fill(0);
    frame.fill(0);
    re.fill(0);
    im.fill(0);
  }
}

/** Mean-removed copy of frame f into `scratch`, then pitch. */
function pitchOf(samples: Float64Array, f: number, scratch: Float64Array): ReturnType<typeof estimatePitch> {
  let mean = 0;
  for (let i = 0; i < FRAME_SAMPLES; i++) mean += samples[f * FRAME_SAMPLES + i] ?? 0;
  mean /= FRAME_SAMPLES;
  for (let i = 0; i < FRAME_SAMPLES; i++) scratch[i] = (samples[f * FRAME_SAMPLES + i] ?? 0) - mean;
  return estimatePitch(scratch, SAMPLE_RATE);
}
