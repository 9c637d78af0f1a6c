/**
 * Face-window geometry from per-frame face-mesh landmarks (MediaPipe Face Mesh topology: 468
 * points plus 10 iris points, as @vladmandic/human returns them). Pure functions, no model:
 * eye aspect ratio (Soukupová & Čech, "Real-Time Eye Blink Detection using Facial Landmarks",
 * CVWW 2016), mouth aperture, affine nose coordinates as a depth cue, and a least-squares
 * homography (Hartley & Zisserman, Multiple View Geometry, 2nd ed., §4.1 DLT with §4.4
 * normalisation) whose fit between frames measures how planar the landmark motion is.
 */

export type Point = readonly [number, number, number?];

/** MediaPipe Face Mesh landmark indices used here. */
export const LM = {
  rightEye: { outer: 33, inner: 133, upper: [160, 158], lower: [144, 153] },
  leftEye: { outer: 263, inner: 362, upper: [385, 387], lower: [380, 373] },
  irisCentres: [468, 473],
  mouth: { upper: 13, lower: 14, left: 78, right: 308 },
  noseTip: 1,
  cheekRight: 234,
  cheekLeft: 454,
  chin: 152,
  forehead: 10,
} as const;

/**
 * Landmarks that move rigidly with the skull — upper face oval, nose ridge and tip, eye corners —
 * leaving out lips, jaw, lids, brows and irises, whose own motion (speech, blinks, expression,
 * gaze) is measured separately and is not head pose.
 */
export const RIGID_LANDMARKS: readonly number[] = [
  10, 338, 297, 332, 284, 251, 389, 356, 454, 234, 127, 162, 21, 54, 103, 67, 109, 1, 2, 4, 5, 6, 168, 197,
  195, 98, 327, 33, 133, 263, 362,
];

export function rigidSubset(mesh: readonly Point[]): Point[] {
  return RIGID_LANDMARKS.map((i) => at(mesh, i));
}

const at = (mesh: readonly Point[], i: number): Point => mesh[i] ?? [0, 0];
const dist = (a: Point, b: Point): number => Math.hypot(a[0] - b[0], a[1] - b[1]);

/** Eye aspect ratio: mean lid gap over eye width (open ≈ 0.25–0.35, closed < 0.15). */
export function eyeAspectRatio(mesh: readonly Point[]): number {
  const ear = (eye: {
    outer: number;
    inner: number;
    upper: readonly number[];
    lower: readonly number[];
  }): number => {
    const width = dist(at(mesh, eye.outer), at(mesh, eye.inner));
    const gaps = eye.upper.reduce((sum, u, k) => sum + dist(at(mesh, u), at(mesh, eye.lower[k] ?? u)), 0);
    return width > 0 ? gaps / (eye.upper.length * width) : 0;
  };
  return (ear(LM.rightEye) + ear(LM.leftEye)) / 2;
}

/** Inner-lip gap over mouth width, 0 (closed) … ≈1 (wide open). */
export function mouthAperture(mesh: readonly Point[]): number {
  const width = dist(at(mesh, LM.mouth.left), at(mesh, LM.mouth.right));
  return width > 0 ? dist(at(mesh, LM.mouth.upper), at(mesh, LM.mouth.lower)) / width : 0;
}

/** Face width in pixels (cheek contour to cheek contour): the normaliser for everything else. */
export function faceWidth(mesh: readonly Point[]): number {
  return dist(at(mesh, LM.cheekRight), at(mesh, LM.cheekLeft));
}

/**
 * Horizontal iris position within each eye along the subject's right → left axis, 0.5 = centred,
 * averaged over both eyes; each iris is matched to the eye whose corners it lies between (index
 * conventions differ between builds).
 */
export function irisOffset(mesh: readonly Point[]): number | null {
  if (mesh.length < 478) return null;
  const eyes = [LM.rightEye, LM.leftEye];
  let sum = 0;
  for (const iris of LM.irisCentres) {
    const p = at(mesh, iris);
    const eye = eyes
      .map((e) => ({ e, d: dist(p, at(mesh, e.outer)) + dist(p, at(mesh, e.inner)) }))
      .sort((a, b) => a.d - b.d)[0]?.e;
    if (!eye) return null;
    // One image direction for both eyes (subject's right → left), else a sideways glance moves
    // the two irises in opposite senses along outer→inner and their mean cancels to 0.5.
    const a = at(mesh, eye === LM.rightEye ? eye.outer : eye.inner);
    const b = at(mesh, eye === LM.rightEye ? eye.inner : eye.outer);
    const length2 = (b[0] - a[0]) ** 2 + (b[1] - a[1]) ** 2;
    if (length2 === 0) return null;
    sum += ((p[0] - a[0]) * (b[0] - a[0]) + (p[1] - a[1]) * (b[1] - a[1])) / length2;
  }
  return sum / 2;
}

/**
 * Nose tip in the affine frame of (right cheek, left cheek, forehead). Any affine map — a flat
 * photo or screen seen from a moving camera, to first order — leaves these coordinates unchanged;
 * a real head turning moves the protruding nose across that frame (motion parallax). The forehead,
 * not the chin, closes the frame: the chin drops with every spoken syllable, which would read as
 * depth.
 */
export function noseAffine(mesh: readonly Point[]): [number, number] | null {
  const o = at(mesh, LM.cheekRight);
  const u = at(mesh, LM.cheekLeft);
  const v = at(mesh, LM.forehead);
  const p = at(mesh, LM.noseTip);
  const ux = u[0] - o[0];
  const uy = u[1] - o[1];
  const vx = v[0] - o[0];
  const vy = v[1] - o[1];
  const det = ux * vy - uy * vx;
  if (Math.abs(det) < 1e-9) return null;
  const px = p[0] - o[0];
  const py = p[1] - o[1];
  return [(px * vy - py * vx) / det, (ux * py - uy * px) / det];
}

/** Solves the n×n system M x = y in place by Gaussian elimination with partial pivoting. */
function solve(m: Float64Array, y: Float64Array, n: number): Float64Array | null {
  for (let c = 0; c < n; c++) {
    let pivot = c;
    for (let r = c + 1; r < n; r++)
      if (Math.abs(m[r * n + c] ?? 0) > Math.abs(m[pivot * n + c] ?? 0)) pivot = r;
    if (Math.abs(m[pivot * n + c] ?? 0) < 1e-12) return null;
    if (pivot !== c) {
      for (let k = 0; k < n; k++) {
        const t = m[c * n + k] ?? 0;
        m[c * n + k] = m[pivot * n + k] ?? 0;
        m[pivot * n + k] = t;
      }
      const t = y[c] ?? 0;
      y[c] = y[pivot] ?? 0;
      y[pivot] = t;
    }
    for (let r = c + 1; r < n; r++) {
      const f = (m[r * n + c] ?? 0) / (m[c * n + c] ?? 1);
      for (let k = c; k < n; k++) m[r * n + k] = (m[r * n + k] ?? 0) - f * (m[c * n + k] ?? 0);
      y[r] = (y[r] ?? 0) - f * (y[c] ?? 0);
    }
  }
  const x = new Float64Array(n);
  for (let r = n - 1; r >= 0; r--) {
    let s = y[r] ?? 0;
    for (let k = r + 1; k < n; k++) s -= (m[r * n + k] ?? 0) * (x[k] ?? 0);
    x[r] = s / (m[r * n + r] ?? 1);
  }
  return x;
}

/** Hartley normalisation: centroid to the origin, mean distance √2; returns points and scale. */
function normalise(points: readonly Point[]): { xy: Float64Array; scale: number } {
  let cx = 0;
  let cy = 0;
  for (const p of points) {
    cx += p[0];
    cy += p[1];
  }
  cx /= points.length;
  cy /= points.length;
  let mean = 0;
  for (const p of points) mean += Math.hypot(p[0] - cx, p[1] - cy);
  mean /= points.length;
  const scale = mean > 0 ? Math.SQRT2 / mean : 1;
  const xy = new Float64Array(points.length * 2);
  points.forEach((p, i) => {
    xy[2 * i] = (p[0] - cx) * scale;
    xy[2 * i + 1] = (p[1] - cy) * scale;
  });
  return { xy, scale };
}

export interface PairFit {
  /** RMS landmark displacement between the frames, pixels */
  motion: number;
  /** RMS reprojection error of the best single homography, pixels */
  residual: number;
}

/** Least-squares homography (h33 = 1) from `a` to `b` over corresponding landmarks. */
export function homographyFit(a: readonly Point[], b: readonly Point[]): PairFit | null {
  const n = Math.min(a.length, b.length);
  if (n < 8) return null;
  const src = normalise(a.slice(0, n));
  const dst = normalise(b.slice(0, n));
  const ata = new Float64Array(64);
  const atb = new Float64Array(8);
  const row = new Float64Array(8);
  const accumulate = (target: number): void => {
    for (let i = 0; i < 8; i++) {
      atb[i] = (atb[i] ?? 0) + (row[i] ?? 0) * target;
      for (let j = 0; j < 8; j++) ata[i * 8 + j] = (ata[i * 8 + j] ?? 0) + (row[i] ?? 0) * (row[j] ?? 0);
    }
  };
  for (let i = 0; i < n; i++) {
    const x = src.xy[2 * i] ?? 0;
    const y = src.xy[2 * i + 1] ?? 0;
    const u = dst.xy[2 * i] ?? 0;
    const v = dst.xy[2 * i + 1] ?? 0;
    row.set([x, y, 1, 0, 0, 0, -u * x, -u * y]);
    accumulate(u);
    row.set([0, 0, 0, x, y, 1, -v * x, -v * y]);
    accumulate(v);
  }
  const h = solve(ata, atb, 8);
  if (!h) return null;
  let residual = 0;
  let motion = 0;
  for (let i = 0; i < n; i++) {
    const x = src.xy[2 * i] ?? 0;
    const y = src.xy[2 * i + 1] ?? 0;
    const w = (h[6] ?? 0) * x + (h[7] ?? 0) * y + 1;
    const u = ((h[0] ?? 0) * x + (h[1] ?? 0) * y + (h[2] ?? 0)) / w;
    const v = ((h[3] ?? 0) * x + (h[4] ?? 0) * y + (h[5] ?? 0)) / w;
    residual += (u - (dst.xy[2 * i] ?? 0)) ** 2 + (v - (dst.xy[2 * i + 1] ?? 0)) ** 2;
    const pa = a[i] ?? [0, 0];
    const pb = b[i] ?? [0, 0];
    motion += (pb[0] - pa[0]) ** 2 + (pb[1] - pa[1]) ** 2;
  }
  return { motion: Math.sqrt(motion / n), residual: Math.sqrt(residual / n) / dst.scale };
}

/**
 * Least-squares 2D similarity (rotation, uniform scale, translation) from `a` to `b` — the closed
 * form of Umeyama, "Least-squares estimation of transformation parameters between two point
 * patterns", IEEE TPAMI 13(4), 1991, in complex notation. Returns the RMS residual in pixels and
 * `a` mapped into `b`'s frame. This is the motion of a picture moved, turned in its plane or
 * zoomed; what it leaves unexplained is out-of-plane motion (or noise).
 */
export function similarityFit(
  a: readonly Point[],
  b: readonly Point[],
): { residual: number; mapped: [number, number][] } | null {
  const n = Math.min(a.length, b.length);
  if (n < 2) return null;
  let ax = 0;
  let ay = 0;
  let bx = 0;
  let by = 0;
  for (let i = 0; i < n; i++) {
    ax += a[i]?.[0] ?? 0;
    ay += a[i]?.[1] ?? 0;
    bx += b[i]?.[0] ?? 0;
    by += b[i]?.[1] ?? 0;
  }
  ax /= n;
  ay /= n;
  bx /= n;
  by /= n;
  // z_b ≈ c · z_a with c = Σ conj(z_a) z_b / Σ |z_a|² (centred coordinates)
  let re = 0;
  let im = 0;
  let energy = 0;
  for (let i = 0; i < n; i++) {
    const x = (a[i]?.[0] ?? 0) - ax;
    const y = (a[i]?.[1] ?? 0) - ay;
    const u = (b[i]?.[0] ?? 0) - bx;
    const v = (b[i]?.[1] ?? 0) - by;
    re += x * u + y * v;
    im += x * v - y * u;
    energy += x * x + y * y;
  }
  if (!(energy > 0)) return null;
  re /= energy;
  im /= energy;
  let residual = 0;
  const mapped: [number, number][] = [];
  for (let i = 0; i < n; i++) {
    const x = (a[i]?.[0] ?? 0) - ax;
    const y = (a[i]?.[1] ?? 0) - ay;
    const p: [number, number] = [re * x - im * y + bx, im * x + re * y + by];
    mapped.push(p);
    residual += (p[0] - (b[i]?.[0] ?? 0)) ** 2 + (p[1] - (b[i]?.[1] ?? 0)) ** 2;
  }
  return { residual: Math.sqrt(residual / n), mapped };
}
