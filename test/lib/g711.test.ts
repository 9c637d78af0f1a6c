/** G.711 µ-law round trip against the companding law's own error bound (ITU-T G.711 Table 2a). */
import { describe, expect, it } from "vitest";
import { mulawDecodeSample, mulawEncode, mulawEncodeSample, mulawToPcm16le } from "../../lib/g711.ts";

describe("G.711 µ-law", () => {
  it("round-trips every 16-bit sample within the segment's quantisation step", () => {
    for (let x = -32768; x <= 32767; x += 7) {
      const y = mulawDecodeSample(mulawEncodeSample(x));
      const clipped = Math.max(-32635, Math.min(32635, x));
      // step size doubles per segment: |error| ≤ 2^(segment+3) ≈ 3.2 % of the magnitude + 8
      expect(Math.abs(y - clipped)).toBeLessThanOrEqual(Math.abs(clipped) * 0.032 + 16);
    }
  });

  it("matches the reference codes for silence and full scale", () => {
    expect(mulawEncodeSample(0)).toBe(0xff);
    expect(mulawEncodeSample(32767)).toBe(0x80);
    expect(mulawEncodeSample(-32768)).toBe(0x00);
    expect(mulawDecodeSample(0xff)).toBe(0);
  });

  it("expands to little-endian PCM16 bytes of twice the length", () => {
    const pcm = Int16Array.from([0, 1000, -1000, 20000, -20000]);
    const bytes = mulawToPcm16le(mulawEncode(pcm));
    expect(bytes.byteLength).toBe(pcm.length * 2);
    const back = new Int16Array(bytes.buffer);
    for (let i = 0; i < pcm.length; i++)
      expect(Math.abs((back[i] ?? 0) - (pcm[i] ?? 0))).toBeLessThanOrEqual(
        Math.abs(pcm[i] ?? 0) * 0.032 + 16,
      );
  });
});
