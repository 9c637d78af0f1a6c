/**
 * The "analyse only after the end" baseline for `npm run bench` (bench/README.md, decision
 * latency). By default the session DO tokenizes each one-second window as soon as it closes, so
 * when the user finishes only the last window and the six analyzers remain. With
 * `ANALYSIS_MODE = "deferred"` (wrangler.toml [vars], read only here) every window is held in
 * memory until the session ends and then tokenized, at most `maxInflight` at a time, before the
 * analyzers run: the same sessions, analysed the way a non-streaming pipeline would. It exists
 * to measure what streaming buys; it is never meant for production, and is off unless the var
 * says "deferred". Held windows stay inside the assembler's byte budget (LIMITS.maxBufferedBytes),
 * so a long deferred session sheds frames instead of growing without bound.
 */
import type { MediaWindow } from "./window-assembler.ts";

export class DeferredAnalysis {
  #held: MediaWindow[] = [];
  #releasing = false;

  /** The switch, read in this one place; null (streaming analysis) unless it says "deferred". */
  static fromEnv(env: { ANALYSIS_MODE?: string }): DeferredAnalysis | null {
    return env.ANALYSIS_MODE === "deferred" ? new DeferredAnalysis() : null;
  }

  /** Keeps `window` for later; false once the end has started releasing (dispatch it now). */
  hold(window: MediaWindow): boolean {
    if (this.#releasing) return false;
    this.#held.push(window);
    return true;
  }

  /**
   * At the session's end: hands every held window, in order, to `dispatch`, never more than
   * `maxInflight` in flight, so none is shed by the DO's own backpressure.
   */
  async release(
    dispatch: (window: MediaWindow) => void,
    inflight: () => Promise<void>[],
    maxInflight: number,
  ): Promise<void> {
    this.#releasing = true;
    const held = this.#held;
    this.#held = [];
    for (const window of held) {
      while (inflight().length >= maxInflight) await Promise.race(inflight());
      dispatch(window);
    }
  }
}
