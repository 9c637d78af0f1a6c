/**
 * Draws DET curves (APCER against BPCER, both on normal-deviate "probit" axes as in ISO/IEC
 * 19795-1 / 30107-3 reports) into a PNG with pngjs. No text is drawn: the caller's Markdown
 * names the colours and the grid lines (1 %, 3 %, 10 %, 20 %, 50 %, 80 %, 95 %). Rates of 0 and 1
 * are clamped to the axis ends (0.2 % and 99.8 %), so a curve on the edge means "0 errors seen",
 * not "0 error rate". With `scale: "linear"` the same axes are linear (grid every 10 %): an ROC
 * curve drawn with its miss rate (APCER = 1 − detection rate) upwards.
 */
import { writeFileSync } from "node:fs";
import { PNG } from "pngjs";

export interface Curve {
  points: readonly [number, number][];
  rgb: [number, number, number];
  /** line thickness in pixels */
  width: number;
}

/** Inverse standard normal CDF (Acklam's rational approximation, |error| < 1.2e-9). */
export function probit(p: number): number {
  const a = [
    -39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716,
    2.506628277459239,
  ];
  const b = [
    -54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572,
  ];
  const c = [
    -0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968,
    2.938163982698783,
  ];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const [a0 = 0, a1 = 0, a2 = 0, a3 = 0, a4 = 0, a5 = 0] = a;
  const [b0 = 0, b1 = 0, b2 = 0, b3 = 0, b4 = 0] = b;
  const [c0 = 0, c1 = 0, c2 = 0, c3 = 0, c4 = 0, c5 = 0] = c;
  const [d0 = 0, d1 = 0, d2 = 0, d3 = 0] = d;
  const low = 0.02425;
  if (p < low) {
    const q = Math.sqrt(-2 * Math.log(p));
    return (
      (((((c0 * q + c1) * q + c2) * q + c3) * q + c4) * q + c5) /
      ((((d0 * q + d1) * q + d2) * q + d3) * q + 1)
    );
  }
  if (p > 1 - low) {
    const q = Math.sqrt(-2 * Math.log(1 - p));
    return (
      -(((((c0 * q + c1) * q + c2) * q + c3) * q + c4) * q + c5) /
      ((((d0 * q + d1) * q + d2) * q + d3) * q + 1)
    );
  }
  const q = p - 0.5;
  const r = q * q;
  return (
    ((((((a0 * r + a1) * r + a2) * r + a3) * r + a4) * r + a5) * q) /
    (((((b0 * r + b1) * r + b2) * r + b3) * r + b4) * r + 1)
  );
}

const SIZE = 520;
const MARGIN = 30;
const P_MIN = 0.002;
const P_MAX = 0.998;
export const GRID = [0.01, 0.03, 0.1, 0.2, 0.5, 0.8, 0.95];

/** Axis position 0..1 of a rate: probit (DET) or linear (ROC; grid every 10 %). */
function axis(p: number, scale: "probit" | "linear" = "probit"): number {
  if (scale === "linear") return Math.min(1, Math.max(0, p));
  const clamped = Math.min(P_MAX, Math.max(P_MIN, p));
  const lo = probit(P_MIN);
  const hi = probit(P_MAX);
  return (probit(clamped) - lo) / (hi - lo);
}

export function writeDetPng(
  file: string,
  curves: readonly Curve[],
  target: { bpcer: number; apcer: number },
  scale: "probit" | "linear" = "probit",
): void {
  const png = new PNG({ width: SIZE, height: SIZE });
  const data = png.data;
  const plot = SIZE - 2 * MARGIN;
  const set = (x: number, y: number, [r, g, b]: [number, number, number]): void => {
    const xi = Math.round(x);
    const yi = Math.round(y);
    if (xi < 0 || yi < 0 || xi >= SIZE || yi >= SIZE) return;
    const o = (yi * SIZE + xi) * 4;
    data[o] = r;
    data[o + 1] = g;
    data[o + 2] = b;
    data[o + 3] = 255;
  };
  const px = (bp: number): number => MARGIN + axis(bp, scale) * plot;
  const py = (ap: number): number => SIZE - MARGIN - axis(ap, scale) * plot;
  const grid = scale === "linear" ? [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9] : GRID;
  for (let i = 0; i < SIZE * SIZE; i++) {
    data[i * 4] = 255;
    data[i * 4 + 1] = 255;
    data[i * 4 + 2] = 255;
    data[i * 4 + 3] = 255;
  }
  // target region: BPCER ≤ target and APCER ≤ target, shaded green
  for (let x = Math.ceil(px(0)); x <= px(target.bpcer); x++) {
    for (let y = Math.floor(py(target.apcer)); y <= py(0); y++) set(x, y, [214, 240, 214]);
  }
  for (const g of grid) {
    for (let t = MARGIN; t <= SIZE - MARGIN; t++) {
      set(px(g), t, [215, 215, 215]);
      set(t, py(g), [215, 215, 215]);
    }
  }
  for (let t = MARGIN; t <= SIZE - MARGIN; t++) {
    for (const [x, y] of [
      [MARGIN, t],
      [SIZE - MARGIN, t],
      [t, MARGIN],
      [t, SIZE - MARGIN],
    ] as const)
      set(x, y, [60, 60, 60]);
  }
  for (const curve of curves) {
    // DET as a step function: sort by BPCER, connect with horizontal/vertical segments
    const pts = [...curve.points].sort((p, q) => p[0] - q[0] || q[1] - p[1]);
    for (let i = 1; i < pts.length; i++) {
      const [x0, y0] = pts[i - 1] ?? [0, 0];
      const [x1, y1] = pts[i] ?? [0, 0];
      line(px(x0), py(y0), px(x1), py(y0), curve, set);
      line(px(x1), py(y0), px(x1), py(y1), curve, set);
    }
  }
  writeFileSync(file, PNG.sync.write(png));
}

function line(
  x0: number,
  y0: number,
  x1: number,
  y1: number,
  curve: Curve,
  set: (x: number, y: number, rgb: [number, number, number]) => void,
): void {
  const steps = Math.max(1, Math.ceil(Math.max(Math.abs(x1 - x0), Math.abs(y1 - y0))));
  const half = (curve.width - 1) / 2;
  for (let s = 0; s <= steps; s++) {
    const x = x0 + ((x1 - x0) * s) / steps;
    const y = y0 + ((y1 - y0) * s) / steps;
    for (let dx = -half; dx <= half; dx++)
      for (let dy = -half; dy <= half; dy++) set(x + dx, y + dy, curve.rgb);
  }
}
