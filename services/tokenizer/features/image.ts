/**
 * Whole-frame image statistics for the liveness and environment analyzers (lib/features.ts
 * `ImageWindowSchema`): focus, exposure, clipping, colour temperature, moiré, face-versus-border
 * noise, background motion and capture cadence. Each frame is reduced to a few sums the moment it
 * arrives; the only pixel-derived state kept between frames is the previous frame's border luma
 * (for motion), wiped in `dispose`. Until the face mesh supplies a face box, the "face" region is
 * the central half of the frame (where the widget's oval guide puts the face) and the background
 * is the outer eighth on each side.
 */
import type { ImageWindow } from "../../../lib/features.ts";
import { CCT_NEUTRAL_K, mccamyCct, SRGB_TO_LINEAR } from "./colour.ts";
import { addBlockEnergy, type BlockEnergy } from "./dct.ts";
import type { DecodedFrame } from "./frame-decode.ts";
import type { FrameFeatureEngine, FrameFeatureModule } from "./module.ts";

/**
 * Laplacian variance → 0..1 by v / (v + K), with v in 8-bit luma units². K = 100 is the usual
 * "blurry below 100" threshold of the variance-of-Laplacian focus measure (Pech-Pacheco et al.,
 * ICPR 2000), so 0.5 marks that threshold; webcam frames in focus score ≈ 0.7–0.95.
 */
export const SHARPNESS_HALF_POINT = 100;
/** Luma at or below / at or above these is counted as clipped (JPEG noise keeps true 0/255 rare). */
const CLIP_LOW = 4 / 255;
const CLIP_HIGH = 251 / 255;
/** Noise floor added to both σ before the log ratio, ≈ 0.25 of an 8-bit step (clean synthetic frames). */
const NOISE_EPSILON = 0.001;
/** Histogram for the median absolute residual (MAD), over 0..MAD_RANGE luma. */
const MAD_BINS = 2048;
const MAD_RANGE = 0.25;
/** Above this many 8x8 blocks per frame the DCT samples a regular sub-grid (cost bound). */
const MAX_DCT_BLOCKS = 4096;

interface FrameStats {
  sharpness: number;
  exposure: number;
  clipped: number;
  noiseMismatch: number;
}

/** Per-axis region masks: 1 = outer eighth (background), 2 = central half (face), 0 = neither. */
function axisRegions(length: number): Uint8Array {
  const edge = Math.max(1, Math.floor(length / 8));
  const regions = new Uint8Array(length);
  for (let i = 0; i < length; i++) {
    if (i < edge || i >= length - edge) regions[i] = 1;
    else if (i >= length / 4 && i < (3 * length) / 4) regions[i] = 2;
  }
  return regions;
}

/** Robust σ of a residual from its absolute-value histogram: 1.4826 × median (Gaussian MAD). */
function madSigma(histogram: Uint32Array, count: number): number {
  if (count === 0) return 0;
  const half = count / 2;
  let seen = 0;
  for (let b = 0; b < MAD_BINS; b++) {
    seen += histogram[b] ?? 0;
    if (seen >= half) return (1.4826 * ((b + 0.5) * MAD_RANGE)) / MAD_BINS;
  }
  return 1.4826 * MAD_RANGE;
}

/** Sharpness, exposure, clipping and noise mismatch of one frame (one pass over the luma plane). */
function frameStats(frame: DecodedFrame): FrameStats {
  const { luma, width, height } = frame;
  let sum = 0;
  let clipped = 0;
  for (let i = 0; i < luma.length; i++) {
    const v = luma[i] ?? 0;
    sum += v;
    if (v <= CLIP_LOW || v >= CLIP_HIGH) clipped++;
  }

  // 4-neighbour Laplacian (its variance is the focus measure) and the 3x3 high-pass residual
  // p − mean(8 neighbours), whose robust spread is the local noise level.
  let lapSum = 0;
  let lapSq = 0;
  let lapCount = 0;
  const centreHist = new Uint32Array(MAD_BINS);
  const borderHist = new Uint32Array(MAD_BINS);
  let centreCount = 0;
  let borderCount = 0;
  const columns = axisRegions(width);
  const rows = axisRegions(height);
  for (let y = 1; y < height - 1; y++) {
    const row = y * width;
    const rowRegion = rows[y] ?? 0;
    for (let x = 1; x < width - 1; x++) {
      const i = row + x;
      const c = luma[i] ?? 0;
      const n = luma[i - width] ?? 0;
      const s = luma[i + width] ?? 0;
      const w = luma[i - 1] ?? 0;
      const e = luma[i + 1] ?? 0;
      const lap = (n + s + w + e - 4 * c) * 255;
      lapSum += lap;
      lapSq += lap * lap;
      lapCount++;
      const columnRegion = columns[x] ?? 0;
      const inCentre = rowRegion === 2 && columnRegion === 2;
      if (!inCentre && rowRegion !== 1 && columnRegion !== 1) continue;
      const ring =
        n +
        s +
        w +
        e +
        (luma[i - width - 1] ?? 0) +
        (luma[i - width + 1] ?? 0) +
        (luma[i + width - 1] ?? 0) +
        (luma[i + width + 1] ?? 0);
      const residual = Math.abs(c - ring / 8);
      const bin = Math.min(MAD_BINS - 1, Math.floor((residual / MAD_RANGE) * MAD_BINS));
      if (inCentre) {
        centreHist[bin] = (centreHist[bin] ?? 0) + 1;
        centreCount++;
      } else {
        borderHist[bin] = (borderHist[bin] ?? 0) + 1;
        borderCount++;
      }
    }
  }
  const lapMean = lapCount ? lapSum / lapCount : 0;
  const lapVariance = lapCount ? Math.max(0, lapSq / lapCount - lapMean * lapMean) : 0;
  const centreSigma = madSigma(centreHist, centreCount);
  const borderSigma = madSigma(borderHist, borderCount);
  return {
    sharpness: lapVariance / (lapVariance + SHARPNESS_HALF_POINT),
    exposure: sum / luma.length,
    clipped: clipped / luma.length,
    noiseMismatch: Math.abs(Math.log((centreSigma + NOISE_EPSILON) / (borderSigma + NOISE_EPSILON))),
  };
}

/** Adds the frame's 8x8 DCT energies (all AC, and the highest band) to `out`. */
function addMoire(frame: DecodedFrame, out: BlockEnergy, scratch: Float64Array): void {
  const blocksX = Math.floor(frame.width / 8);
  const blocksY = Math.floor(frame.height / 8);
  const stride = Math.max(1, Math.ceil(Math.sqrt((blocksX * blocksY) / MAX_DCT_BLOCKS)));
  for (let by = 0; by < blocksY; by += stride) {
    for (let bx = 0; bx < blocksX; bx += stride)
      addBlockEnergy(frame.luma, frame.width, bx * 8, by * 8, scratch, out);
  }
}

function borderLuma(frame: DecodedFrame): Float32Array {
  const { luma, width, height } = frame;
  const bx = Math.max(1, Math.floor(width / 8));
  const by = Math.max(1, Math.floor(height / 8));
  const out = new Float32Array(width * height - (width - 2 * bx) * (height - 2 * by));
  let k = 0;
  for (let y = 0; y < height; y++) {
    const row = y * width;
    if (y < by || y >= height - by) {
      out.set(luma.subarray(row, row + width), k);
      k += width;
    } else {
      out.set(luma.subarray(row, row + bx), k);
      out.set(luma.subarray(row + width - bx, row + width), k + bx);
      k += 2 * bx;
    }
  }
  return out;
}

function meanStd(values: number[]): { mean: number; std: number } {
  if (values.length === 0) return { mean: 0, std: 0 };
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const variance = values.reduce((a, b) => a + (b - mean) ** 2, 0) / values.length;
  return { mean, std: Math.sqrt(variance) };
}

const clamp = (v: number, lo: number, hi: number): number =>
  Number.isFinite(v) ? Math.min(hi, Math.max(lo, v)) : lo;

class ImageWindowModule implements FrameFeatureModule<ImageWindow> {
  #frames = 0;
  #sharpness = 0;
  #exposure = 0;
  #clipped = 0;
  #noiseMismatch = 0;
  #linear = [0, 0, 0];
  #energy: BlockEnergy = { ac: 0, high: 0 };
  #scratch = new Float64Array(64);
  #timestamps: number[] = [];
  #previousBorder: { width: number; height: number; luma: Float32Array } | null = null;
  #motionSum = 0;
  #motionPairs = 0;

  addFrame(frame: DecodedFrame): void {
    const stats = frameStats(frame);
    this.#frames++;
    this.#sharpness += stats.sharpness;
    this.#exposure += stats.exposure;
    this.#clipped += stats.clipped;
    this.#noiseMismatch += stats.noiseMismatch;
    this.#timestamps.push(frame.tsMs);

    const { rgb } = frame;
    let r = 0;
    let g = 0;
    let b = 0;
    for (let i = 0; i < rgb.length; i += 3) {
      r += SRGB_TO_LINEAR[rgb[i] ?? 0] ?? 0;
      g += SRGB_TO_LINEAR[rgb[i + 1] ?? 0] ?? 0;
      b += SRGB_TO_LINEAR[rgb[i + 2] ?? 0] ?? 0;
    }
    const pixels = rgb.length / 3;
    this.#linear[0] = (this.#linear[0] ?? 0) + r / pixels;
    this.#linear[1] = (this.#linear[1] ?? 0) + g / pixels;
    this.#linear[2] = (this.#linear[2] ?? 0) + b / pixels;

    addMoire(frame, this.#energy, this.#scratch);

    const border = borderLuma(frame);
    const previous = this.#previousBorder;
    if (previous && previous.width === frame.width && previous.height === frame.height) {
      let diff = 0;
      for (let i = 0; i < border.length; i++) diff += Math.abs((border[i] ?? 0) - (previous.luma[i] ?? 0));
      this.#motionSum += diff / border.length;
      this.#motionPairs++;
    }
    previous?.luma.fill(0);
    this.#previousBorder = { width: frame.width, height: frame.height, luma: border };
  }

  finish(): ImageWindow | null {
    if (this.#frames === 0) return null;
    const n = this.#frames;
    const sorted = [...this.#timestamps].sort((a, b) => a - b);
    const intervals = sorted.slice(1).map((t, i) => t - (sorted[i] ?? t));
    const { mean, std } = meanStd(intervals);
    const [r = 0, g = 0, b = 0] = this.#linear;
    return {
      sharpness: clamp(this.#sharpness / n, 0, 1),
      exposureMean: clamp(this.#exposure / n, 0, 1),
      clippedRatio: clamp(this.#clipped / n, 0, 1),
      colourTemperatureK: clamp(mccamyCct(r, g, b), 1000, 20000) || CCT_NEUTRAL_K,
      moireEnergy: this.#energy.ac > 0 ? clamp(this.#energy.high / this.#energy.ac, 0, 1) : 0,
      noiseMismatch: clamp(this.#noiseMismatch / n, 0, 10),
      backgroundMotion: this.#motionPairs ? clamp(this.#motionSum / this.#motionPairs, 0, 1) : 0,
      frameIntervalMeanMs: clamp(mean, 0, 60_000),
      frameIntervalCv: mean > 0 ? clamp(std / mean, 0, 10) : 0,
    };
  }

  dispose(): void {
    this.#previousBorder?.luma.fill(0);
    this.#previousBorder = null;
    this.#scratch.fill(0);
  }
}

export const imageEngine: FrameFeatureEngine<ImageWindow> = {
  name: "image",
  newWindow: () => new ImageWindowModule(),
};
