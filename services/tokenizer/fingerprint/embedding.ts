/**
 * Averages a window's face embeddings into the one vector the BioHash template is made from
 * (biohash.ts). Only "usable" frames count: exactly one face (with two, whose face would it be),
 * near-frontal pose and a face large enough for the 224 px `faceres` crop to carry detail —
 * off-pose and tiny faces are where face descriptors drift most (Grother, Ngan & Hanaoka,
 * NIST FRVT Part 1, pose and resolution effects). Each embedding is L2-normalised before it is
 * added, so every frame weighs the same (the mean of unit vectors; its direction is the
 * spherical-mean estimate used for template averaging). The running sum is the only state; the
 * caller owns the returned vector and must zeroize it, and `dispose` wipes the sum.
 */

/** Widest head pose a frame may have to count, degrees. */
export const USABLE_MAX_YAW_DEG = 30;
export const USABLE_MAX_PITCH_DEG = 25;
/** Narrowest face box (pixels) a frame may have to count. */
export const USABLE_MIN_FACE_PX = 48;

export interface EmbeddingFrame {
  /** faces found in the frame */
  faceCount: number;
  /** the face's box width in pixels */
  faceWidthPx: number;
  yawRad: number;
  pitchRad: number;
  /** the face descriptor, or null when the model did not run / gave nothing */
  embedding: ArrayLike<number> | null;
}

export interface WindowEmbedding {
  /** unit-length mean direction; zeroize after use */
  vector: Float32Array;
  /** usable frames it was averaged over */
  frames: number;
}

export function usable(frame: EmbeddingFrame): boolean {
  const deg = (rad: number): number => Math.abs((rad * 180) / Math.PI);
  return (
    frame.faceCount === 1 &&
    frame.embedding !== null &&
    frame.embedding.length > 0 &&
    frame.faceWidthPx >= USABLE_MIN_FACE_PX &&
    deg(frame.yawRad) <= USABLE_MAX_YAW_DEG &&
    deg(frame.pitchRad) <= USABLE_MAX_PITCH_DEG
  );
}

export class EmbeddingAccumulator {
  #sum: Float64Array | null = null;
  #frames = 0;

  /** Adds the frame when usable; returns whether it counted. Does not keep `frame.embedding`. */
  add(frame: EmbeddingFrame): boolean {
    if (!usable(frame) || !frame.embedding) return false;
    const e = frame.embedding;
    let norm = 0;
    for (let i = 0; i < e.length; i++) norm += (e[i] ?? 0) ** 2;
    norm = Math.sqrt(norm);
    if (!(norm > 0) || !Number.isFinite(norm)) return false;
    if (!this.#sum) this.#sum = new Float64Array(e.length);
    if (this.#sum.length !== e.length) return false;
    for (let i = 0; i < e.length; i++) this.#sum[i] = (this.#sum[i] ?? 0) + (e[i] ?? 0) / norm;
    this.#frames++;
    return true;
  }

  get frames(): number {
    return this.#frames;
  }

  /** The unit mean of the usable frames' embeddings, or null when none was usable. */
  finish(): WindowEmbedding | null {
    if (!this.#sum || this.#frames === 0) return null;
    let norm = 0;
    for (const v of this.#sum) norm += v * v;
    norm = Math.sqrt(norm);
    if (!(norm > 0)) return null;
    const vector = new Float32Array(this.#sum.length);
    for (let i = 0; i < vector.length; i++) vector[i] = (this.#sum[i] ?? 0) / norm;
    return { vector, frames: this.#frames };
  }

  dispose(): void {
    this.#sum?.fill(0);
    this.#sum = null;
    this.#frames = 0;
  }
}
