/**
 * Device and interaction signals (docs/signals.md is the list with each signal's reason).
 *
 * Device: the `hello` message's DeviceSignals. `timezoneOffsetMin` is sent exactly as
 * `Date.prototype.getTimezoneOffset()` returns it — minutes *behind* UTC, so Vienna in winter
 * is -60 — which is what docs/protocol.md's example and durable-objects/session/slices.ts
 * expect. Interaction: counts and coefficients of variation only — no coordinates, no keys,
 * no text — sent as `signals` every few seconds and once more before the session ends.
 */
import type { BehaviorSignals, DeviceSignals } from "../../lib/features.ts";

const clampInt = (value: number, max: number) => Math.max(0, Math.min(max, Math.round(value) || 0));

export function deviceSignals(virtualCamera: boolean): DeviceSignals {
  let timezone = "";
  try {
    timezone = Intl.DateTimeFormat().resolvedOptions().timeZone ?? "";
  } catch {
    timezone = "";
  }
  return {
    webdriver: navigator.webdriver === true,
    virtualCamera,
    timezone: timezone.slice(0, 64),
    timezoneOffsetMin: Math.max(-900, Math.min(900, new Date().getTimezoneOffset())),
    language: (navigator.language ?? "").slice(0, 35),
    hardwareConcurrency: clampInt(navigator.hardwareConcurrency ?? 0, 1024),
    maxTouchPoints: clampInt(navigator.maxTouchPoints ?? 0, 64),
    screenWidth: clampInt(screen.width, 20_000),
    screenHeight: clampInt(screen.height, 20_000),
  };
}

/** Coefficient of variation of a bounded sample (at most 500 values are kept). */
function coefficientOfVariation(values: number[]): number {
  if (values.length < 2) return 0;
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  if (mean <= 0) return 0;
  const variance = values.reduce((a, b) => a + (b - mean) ** 2, 0) / (values.length - 1);
  return Math.min(100, Math.sqrt(variance) / mean);
}

export class BehaviorTracker {
  #pointerMoves = 0;
  #speeds: number[] = [];
  #lastPointer: { x: number; y: number; t: number } | null = null;
  #keyPresses = 0;
  #keyIntervals: number[] = [];
  #lastKeyAt: number | null = null;
  #focusLosses = 0;
  #latencies: number[] = [];
  #promptAt: number | null = null;
  #detach: (() => void)[] = [];

  attach(root: Document): void {
    const onPointer = (e: PointerEvent) => {
      this.#pointerMoves += 1;
      const now = e.timeStamp;
      const last = this.#lastPointer;
      if (last && now > last.t) {
        const speed = Math.hypot(e.clientX - last.x, e.clientY - last.y) / (now - last.t);
        if (this.#speeds.length < 500) this.#speeds.push(speed);
      }
      this.#lastPointer = { x: e.clientX, y: e.clientY, t: now };
    };
    const onKey = (e: KeyboardEvent) => {
      this.#keyPresses += 1;
      if (this.#lastKeyAt !== null && this.#keyIntervals.length < 500)
        this.#keyIntervals.push(e.timeStamp - this.#lastKeyAt);
      this.#lastKeyAt = e.timeStamp;
      this.#answered();
    };
    const onHidden = () => {
      if (root.visibilityState === "hidden") this.#focusLosses += 1;
    };
    const onBlur = () => {
      this.#focusLosses += 1;
    };
    root.addEventListener("pointermove", onPointer, { passive: true });
    root.addEventListener("keydown", onKey, { passive: true });
    const onDown = () => this.#answered();
    root.addEventListener("pointerdown", onDown, { passive: true });
    root.addEventListener("visibilitychange", onHidden);
    window.addEventListener("blur", onBlur);
    this.#detach.push(
      () => root.removeEventListener("pointermove", onPointer),
      () => root.removeEventListener("keydown", onKey),
      () => root.removeEventListener("pointerdown", onDown),
      () => root.removeEventListener("visibilitychange", onHidden),
      () => window.removeEventListener("blur", onBlur),
    );
  }

  /** A prompt the user is expected to act on was shown (challenge, question, form). */
  prompted(): void {
    this.#promptAt = performance.now();
  }

  /** The user acted (the server judges head movements; this times clicks, keys and speech). */
  #answered(): void {
    if (this.#promptAt === null) return;
    if (this.#latencies.length < 64) this.#latencies.push(performance.now() - this.#promptAt);
    this.#promptAt = null;
  }

  /** Speech after a prompt counts as the answer (the level meter's threshold decides). */
  spoke(): void {
    this.#answered();
  }

  snapshot(): BehaviorSignals {
    return {
      pointerMoves: clampInt(this.#pointerMoves, 1_000_000),
      pointerSpeedCv: coefficientOfVariation(this.#speeds),
      keyPresses: clampInt(this.#keyPresses, 1_000_000),
      keyIntervalCv: coefficientOfVariation(this.#keyIntervals),
      focusLosses: clampInt(this.#focusLosses, 10_000),
      responseLatenciesMs: this.#latencies.map((ms) => Math.min(600_000, Math.max(0, ms))),
    };
  }

  detach(): void {
    for (const off of this.#detach) off();
    this.#detach = [];
  }
}
