/**
 * Energy-based voice-activity detection with an adaptive noise floor, per 32 ms frame. A stand-in
 * until Silero VAD (ONNX, platform-notes) runs here; the interface — one boolean per frame — stays.
 *
 * Rule: a frame is speech when its level is at least MARGIN_DB above the tracked noise floor, above
 * an absolute gate, and not noise-like (spectral flatness below FLATNESS_MAX: white noise sits near
 * e^−γ ≈ 0.56 for a Hann-windowed periodogram, voiced speech well below 0.3). A HANGOVER of frames
 * after speech keeps word endings and short fricatives inside a segment.
 *
 * Floor: it starts at the window's 10th-percentile frame level, capped at FLOOR_CAP_DB — a window
 * whose quietest tenth is louder than that is taken to have no pause at all — then follows the
 * level frame by frame: down at once, up slowly through non-speech frames (FLOOR_RISE) and very
 * slowly through speech (FLOOR_CREEP_DB), so a step in stationary background noise is learnt
 * within about a second while speech cannot lift the floor over itself.
 */

export const MARGIN_DB = 10;
export const ABSOLUTE_GATE_DB = -55;
export const FLATNESS_MAX = 0.45;
export const FLOOR_CAP_DB = -45;
const FLOOR_RISE = 0.1;
const FLOOR_CREEP_DB = 0.05;
const HANGOVER_FRAMES = 2;

export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const at = Math.min(sorted.length - 1, Math.max(0, Math.floor(p * (sorted.length - 1))));
  return sorted[at] ?? 0;
}

/** `levelsDb[i]` and `flatness[i]` describe frame i; returns one speech flag per frame. */
export function detectSpeech(levelsDb: readonly number[], flatness: readonly number[]): boolean[] {
  let floor = Math.min(percentile(levelsDb, 0.1), FLOOR_CAP_DB);
  let hang = 0;
  return levelsDb.map((level, i) => {
    const loud = level >= floor + MARGIN_DB && level >= ABSOLUTE_GATE_DB;
    let speech = loud && (flatness[i] ?? 1) < FLATNESS_MAX;
    if (speech) {
      hang = HANGOVER_FRAMES;
    } else if (hang > 0 && level >= floor + MARGIN_DB / 2) {
      speech = true;
      hang--;
    } else {
      hang = 0;
    }
    if (level < floor) floor = level;
    else floor = speech ? floor + FLOOR_CREEP_DB : floor + FLOOR_RISE * (level - floor);
    return speech;
  });
}
