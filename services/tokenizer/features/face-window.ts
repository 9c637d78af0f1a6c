/**
 * Aggregates per-frame face observations into one `FaceWindow` (lib/features.ts). Model-agnostic:
 * any face engine that yields boxes, head pose and a Face Mesh–topology landmark set feeds it.
 * Thresholds are documented where they are set; they are first estimates to be calibrated on the
 * liveness analyzer's data, not tuned values.
 */
import type { FaceWindow } from "../../../lib/features.ts";
import {
  eyeAspectRatio,
  faceWidth,
  homographyFit,
  irisOffset,
  mouthAperture,
  noseAffine,
  type Point,
  rigidSubset,
  similarityFit,
} from "./face-geometry.ts";

export interface FaceObservation {
  /** faces found in the frame, largest first */
  faces: {
    box: readonly [number, number, number, number];
    yawRad: number;
    pitchRad: number;
    mesh: Point[];
  }[];
  frameWidth: number;
  frameHeight: number;
}

/** EAR below this is a closed eye (Soukupová & Čech use ≈ 0.2). */
export const EAR_CLOSED = 0.2;
/** EAR at which openness reads 1. */
const EAR_WIDE = 0.35;
/** Head turned further than this is looking away from the screen. */
const GAZE_YAW_DEG = 25;
const GAZE_PITCH_DEG = 20;
/** Iris further than this from the eye's centre (fraction of eye width) looks off screen. */
const GAZE_IRIS_OFFSET = 0.2;
/**
 * Pairs whose rigid landmarks move out of the image plane by less than this (RMS residual of the
 * best similarity, fraction of face width) carry no planarity evidence: the motion is a shift,
 * in-plane turn or zoom — which a photo and a head perform alike — or landmark noise.
 */
const MIN_OUT_OF_PLANE = 0.012;

const clamp01 = (v: number): number => (Number.isFinite(v) ? Math.min(1, Math.max(0, v)) : 0);
const range = (values: readonly number[]): number =>
  values.length ? Math.max(...values) - Math.min(...values) : 0;
const deg = (rad: number): number => (rad * 180) / Math.PI;
const clampDeg = (v: number): number => (Number.isFinite(v) ? Math.min(180, Math.max(-180, v)) : 0);
const least = (values: readonly number[]): number => (values.length ? Math.min(...values) : 0);
const greatest = (values: readonly number[]): number => (values.length ? Math.max(...values) : 0);

export class FaceWindowAccumulator {
  #frames = 0;
  #single = 0;
  #multi = 0;
  #area: number[] = [];
  #yaw: number[] = [];
  #pitch: number[] = [];
  #openness: number[] = [];
  #blinks = 0;
  #closedFrames = 0;
  /** eye state at the last analysed face, null when unknown (start, or the face was lost) */
  #eyeWasOpen: boolean | null = null;
  #mouth: number[] = [];
  #offScreen = 0;
  #nose: [number, number][] = [];
  #planarity: number[] = [];
  #jitter: number[] = [];
  /** rigid landmarks of the last two analysed faces, most recent last */
  #rigid: Point[][] = [];

  add(observation: FaceObservation): void {
    this.#frames++;
    const [face] = observation.faces;
    if (observation.faces.length >= 2) this.#multi++;
    else if (face) this.#single++;
    if (!face) {
      this.#lost();
      return;
    }
    const [, , w, h] = face.box;
    this.#area.push((w * h) / (observation.frameWidth * observation.frameHeight));
    this.#yaw.push(deg(face.yawRad));
    this.#pitch.push(deg(face.pitchRad));
    const mesh = face.mesh;
    if (mesh.length < 468) {
      this.#lost();
      return;
    }
    const ear = eyeAspectRatio(mesh);
    this.#openness.push(clamp01(ear / EAR_WIDE));
    const open = ear >= EAR_CLOSED;
    // a blink is a closure seen after an open eye (Soukupová & Čech §3), not a window that starts
    // with closed eyes or a face that reappears with them
    if (this.#eyeWasOpen === true && !open) this.#blinks++;
    if (!open) this.#closedFrames++;
    this.#eyeWasOpen = open;
    this.#mouth.push(clamp01(mouthAperture(mesh)));
    const iris = irisOffset(mesh);
    const away =
      Math.abs(deg(face.yawRad)) > GAZE_YAW_DEG ||
      Math.abs(deg(face.pitchRad)) > GAZE_PITCH_DEG ||
      (iris !== null && Math.abs(iris - 0.5) > GAZE_IRIS_OFFSET);
    if (away) this.#offScreen++;
    const nose = noseAffine(mesh);
    if (nose) this.#nose.push(nose);

    const width = faceWidth(mesh);
    const rigid = rigidSubset(mesh);
    const previous = this.#rigid.at(-1);
    if (previous && width > 0) {
      // Planarity: of the rigid motion a similarity cannot explain (out-of-plane rotation), the
      // share one homography explains. A plane (print, screen) under any camera motion maps by a
      // homography (Hartley & Zisserman §2.3, §13.1): share ≈ 1; a head's nose, cheeks and temples
      // at different depths leave a parallax residual that no homography absorbs (ibid. §8.4.1 /
      // §13.1 "plane-induced parallax"). Model comparison in the spirit of Torr's GRIC (Torr,
      // "Geometric motion segmentation and model selection", Phil. Trans. R. Soc. A 356, 1998).
      const similarity = similarityFit(previous, rigid);
      const homography = homographyFit(previous, rigid);
      if (similarity && homography && similarity.residual / width >= MIN_OUT_OF_PLANE) {
        this.#planarity.push(clamp01(1 - homography.residual / similarity.residual));
      }
    }
    const before = this.#rigid.at(-2);
    if (before && previous && width > 0) {
      // Jitter: the middle frame's deviation from the mean of its neighbours, each aligned onto it
      // by a similarity (pose compensation). Smooth head motion cancels to first order; landmark
      // noise, warping and paste seams do not.
      const fromBefore = similarityFit(before, previous);
      const fromAfter = similarityFit(rigid, previous);
      if (fromBefore && fromAfter) {
        let sum = 0;
        previous.forEach((p, i) => {
          const a = fromBefore.mapped[i] ?? [0, 0];
          const c = fromAfter.mapped[i] ?? [0, 0];
          sum += (p[0] - (a[0] + c[0]) / 2) ** 2 + (p[1] - (a[1] + c[1]) / 2) ** 2;
        });
        this.#jitter.push(Math.sqrt(sum / previous.length) / width);
      }
    }
    this.#rigid = [...this.#rigid.slice(-1), rigid];
  }

  /** The face was lost: motion and eye state do not carry across the gap. */
  #lost(): void {
    this.#rigid = [];
    this.#eyeWasOpen = null;
  }

  finish(): FaceWindow | null {
    if (this.#frames === 0) return null;
    const mean = (v: readonly number[]): number => (v.length ? v.reduce((a, b) => a + b, 0) / v.length : 0);
    const std = (v: readonly number[]): number => {
      const m = mean(v);
      return Math.sqrt(mean(v.map((x) => (x - m) ** 2)));
    };
    const withFace = this.#single + this.#multi;
    return {
      framesAnalyzed: Math.min(600, this.#frames),
      facePresentRatio: clamp01(this.#single / this.#frames),
      multiFaceRatio: clamp01(this.#multi / this.#frames),
      faceAreaMean: clamp01(mean(this.#area)),
      yawRangeDeg: Math.min(180, range(this.#yaw)),
      pitchRangeDeg: Math.min(180, range(this.#pitch)),
      // signed, in the engine's convention (lib/features.ts): the direction of a challenged turn
      yawMeanDeg: clampDeg(mean(this.#yaw)),
      yawMinDeg: clampDeg(least(this.#yaw)),
      yawMaxDeg: clampDeg(greatest(this.#yaw)),
      pitchMeanDeg: clampDeg(mean(this.#pitch)),
      pitchMinDeg: clampDeg(least(this.#pitch)),
      pitchMaxDeg: clampDeg(greatest(this.#pitch)),
      blinkCount: Math.min(100, this.#blinks),
      eyesClosedFrames: Math.min(600, this.#closedFrames),
      eyeOpennessMean: clamp01(mean(this.#openness)),
      mouthApertureStd: clamp01(std(this.#mouth)),
      gazeOffScreenRatio: withFace ? clamp01(this.#offScreen / withFace) : 0,
      // No moving pair is no evidence of depth: report planar (the conservative reading for liveness).
      planarity: this.#planarity.length ? clamp01(mean(this.#planarity)) : 1,
      depthVariation: clamp01(
        Math.hypot(range(this.#nose.map((n) => n[0])), range(this.#nose.map((n) => n[1]))),
      ),
      landmarkJitter: clamp01(mean(this.#jitter)),
    };
  }

  dispose(): void {
    this.#rigid = [];
    this.#nose = [];
    this.#area = [];
  }
}
