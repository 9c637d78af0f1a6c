/**
 * Turns one batch frame (JPEG, WebP or raw RGB bytes) into pixels, refusing absurd inputs
 * before allocating for them. A JPEG's size is read from its SOF marker (ITU-T T.81 §B.2.2)
 * and checked against MAX_FRAME_DIMENSION first; jpeg-js then decodes under its own resolution
 * and memory caps, and the decoded size must match the declared one. The caller owns the
 * returned buffers and zeroizes them once every feature module has seen the frame
 * (product-spec §7). WebP has no pure-JS decoder we trust yet, so it is refused explicitly.
 */
import jpeg from "jpeg-js";
import { type BatchFrame, MAX_FRAME_DIMENSION } from "../../../lib/tokenizer-batch.ts";
import { TokenizerError } from "../errors.ts";

/** Smallest frame the image statistics are meaningful on (3x3 kernels, 8x8 DCT blocks, borders). */
export const MIN_FRAME_DIMENSION = 16;

export interface DecodedFrame {
  tsMs: number;
  width: number;
  height: number;
  /** interleaved 8-bit sRGB, width*height*3 bytes */
  rgb: Uint8Array;
  /** BT.601 luma in 0..1, width*height values */
  luma: Float32Array;
}

const MAX_PIXELS = MAX_FRAME_DIMENSION * MAX_FRAME_DIMENSION;

function checkDimensions(width: number, height: number, what: string): void {
  if (
    !Number.isInteger(width) ||
    !Number.isInteger(height) ||
    width < MIN_FRAME_DIMENSION ||
    height < MIN_FRAME_DIMENSION ||
    width > MAX_FRAME_DIMENSION ||
    height > MAX_FRAME_DIMENSION
  ) {
    throw new TokenizerError(
      "ERR_FRAME_DIMENSIONS",
      `${what} ${width}x${height} outside ${MIN_FRAME_DIMENSION}..${MAX_FRAME_DIMENSION} per side`,
    );
  }
}

/**
 * Reads width and height from the first SOFn segment without decoding (T.81 §B.1.1.3 markers,
 * §B.2.2 frame header: Lf, P, Y, X). Returns null when the stream has no frame header.
 */
export function jpegDimensions(bytes: Uint8Array): { width: number; height: number } | null {
  if (bytes.length < 4 || bytes[0] !== 0xff || bytes[1] !== 0xd8) return null;
  let i = 2;
  while (i + 3 < bytes.length) {
    if (bytes[i] !== 0xff) return null;
    const marker = bytes[i + 1] ?? 0;
    if (marker === 0xff) {
      i += 1; // fill byte (T.81 §B.1.1.2)
      continue;
    }
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      i += 2; // standalone markers carry no length
      continue;
    }
    if (marker === 0xd9 || marker === 0xda) return null; // EOI or SOS before any SOF
    const length = ((bytes[i + 2] ?? 0) << 8) | (bytes[i + 3] ?? 0);
    const isSof = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
    if (isSof) {
      if (i + 8 >= bytes.length) return null;
      const height = ((bytes[i + 5] ?? 0) << 8) | (bytes[i + 6] ?? 0);
      const width = ((bytes[i + 7] ?? 0) << 8) | (bytes[i + 8] ?? 0);
      return { width, height };
    }
    if (length < 2) return null;
    i += 2 + length;
  }
  return null;
}

/** BT.601 luma (ITU-R BT.601-7 §2.5.1), the weighting JPEG's YCbCr uses (JFIF 1.02). */
export function rgbToLuma(rgb: Uint8Array, pixels: number): Float32Array {
  const luma = new Float32Array(pixels);
  for (let p = 0, i = 0; p < pixels; p++, i += 3) {
    luma[p] = (0.299 * (rgb[i] ?? 0) + 0.587 * (rgb[i + 1] ?? 0) + 0.114 * (rgb[i + 2] ?? 0)) / 255;
  }
  return luma;
}

function decodeJpeg(
  bytes: Uint8Array,
  frame: BatchFrame,
): { width: number; height: number; rgb: Uint8Array } {
  const declared = jpegDimensions(bytes);
  if (!declared) throw new TokenizerError("ERR_FRAME_DECODE", "not a JPEG stream with a frame header");
  checkDimensions(declared.width, declared.height, "declared JPEG size");
  if (
    (frame.width !== undefined && frame.width !== declared.width) ||
    (frame.height !== undefined && frame.height !== declared.height)
  ) {
    throw new TokenizerError("ERR_FRAME_DIMENSIONS", "batch header and JPEG frame header disagree on size");
  }
  let decoded: { width: number; height: number; data: Uint8Array };
  try {
    decoded = jpeg.decode(bytes, {
      useTArray: true,
      formatAsRGBA: false,
      tolerantDecoding: false,
      maxResolutionInMP: MAX_PIXELS / 1e6,
      // jpeg-js counts coefficient blocks (4 B each), component planes and the RGB output:
      // a 4:4:4 1920x1920 frame needs about 70 MB of that.
      maxMemoryUsageInMB: 128,
    });
  } catch (error) {
    const text = error instanceof Error ? error.message : "";
    if (/maxResolutionInMP|maxMemoryUsageInMB/.test(text)) {
      throw new TokenizerError("ERR_FRAME_DIMENSIONS", "JPEG exceeds the decoder's resolution limit");
    }
    throw new TokenizerError("ERR_FRAME_DECODE", "corrupt JPEG");
  }
  if (decoded.width !== declared.width || decoded.height !== declared.height) {
    decoded.data.fill(0);
    throw new TokenizerError("ERR_FRAME_DIMENSIONS", "decoded JPEG size differs from its frame header");
  }
  if (decoded.data.length !== decoded.width * decoded.height * 3) {
    decoded.data.fill(0);
    throw new TokenizerError("ERR_FRAME_DECODE", "JPEG decoded to an unexpected pixel layout");
  }
  return { width: decoded.width, height: decoded.height, rgb: decoded.data };
}

/** Decodes `bytes` (a view into the request body) into new pixel buffers owned by the caller. */
export function decodeFrame(frame: BatchFrame, bytes: Uint8Array): DecodedFrame {
  let width: number;
  let height: number;
  let rgb: Uint8Array;
  switch (frame.format) {
    case "jpeg":
      ({ width, height, rgb } = decodeJpeg(bytes, frame));
      break;
    case "webp":
      throw new TokenizerError("ERR_FRAME_DECODE", "webp unsupported");
    case "rgb": {
      if (frame.width === undefined || frame.height === undefined) {
        throw new TokenizerError("ERR_BATCH_FORMAT", "raw rgb frames need width and height");
      }
      checkDimensions(frame.width, frame.height, "rgb frame");
      if (bytes.length !== frame.width * frame.height * 3) {
        throw new TokenizerError("ERR_FRAME_DIMENSIONS", "rgb frame length is not width*height*3");
      }
      width = frame.width;
      height = frame.height;
      rgb = bytes; // a view into the body, zeroized with the frame
      break;
    }
  }
  return { tsMs: frame.tsMs, width, height, rgb, luma: rgbToLuma(rgb, width * height) };
}

export function zeroizeFrame(frame: DecodedFrame): void {
  frame.rgb.fill(0);
  frame.luma.fill(0);
}
