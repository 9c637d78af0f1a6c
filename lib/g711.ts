/**
 * G.711 µ-law (ITU-T Recommendation G.711, 1988, §2 / Table 2a) for the widget's audio on the
 * wire: 8 bits per sample instead of 16 halves upstream audio to 128 kbit/s at 16 kHz, which
 * keeps a whole session under the 250 kbit/s budget (product-spec §4). The session DO expands
 * it back to 16-bit PCM before tokenization. Companding keeps ~13-bit dynamic range: enough for
 * voice activity, pitch, jitter/shimmer and speech recognition.
 */
const BIAS = 0x84;
const CLIP = 32635;

export function mulawEncodeSample(sample: number): number {
  const sign = sample < 0 ? 0x80 : 0;
  const magnitude = Math.min(CLIP, Math.abs(sample)) + BIAS;
  let exponent = 7;
  for (let mask = 0x4000; (magnitude & mask) === 0 && exponent > 0; mask >>= 1) exponent -= 1;
  const mantissa = (magnitude >> (exponent + 3)) & 0x0f;
  return ~(sign | (exponent << 4) | mantissa) & 0xff;
}

export function mulawDecodeSample(byte: number): number {
  const u = ~byte & 0xff;
  const exponent = (u >> 4) & 0x07;
  const magnitude = ((((u & 0x0f) << 3) + BIAS) << exponent) - BIAS;
  return u & 0x80 ? -magnitude : magnitude;
}

export function mulawEncode(pcm: Int16Array): Uint8Array {
  const out = new Uint8Array(pcm.length);
  for (let i = 0; i < pcm.length; i++) out[i] = mulawEncodeSample(pcm[i] ?? 0);
  return out;
}

/** Expands µ-law bytes to little-endian PCM16 bytes (the tokenizer's input format). */
export function mulawToPcm16le(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(bytes.length * 2);
  const view = new DataView(out.buffer);
  for (let i = 0; i < bytes.length; i++) view.setInt16(i * 2, mulawDecodeSample(bytes[i] ?? 0xff), true);
  return out;
}
