/**
 * Synthetic capture media for sessions against the fixed tokenizer double
 * (test/support/fixed-tokenizer.ts): a frame whose first byte selects the double's live-face
 * profile "L", and one second of 16 kHz audio: a 150 Hz tone.
 */

export const LIVE_FRAME = new Uint8Array([0x4c, 0xff, 0xd8, 1, 2, 3]); // fixed tokenizer profile "L"
export const TONE = Int16Array.from({ length: 16000 }, (_, i) =>
  Math.round(8000 * Math.sin((2 * Math.PI * 150 * i) / 16000)),
);
