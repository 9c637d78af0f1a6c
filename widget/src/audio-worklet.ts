/**
 * AudioWorklet processor (runs on the audio thread, bundled on its own and served by the edge as
 * /widget/audio-worklet.js): turns the microphone's float samples into PCM s16le chunks of
 * 200 ms (3 200 samples at the 16 kHz the AudioContext resamples to) and posts each chunk,
 * transferred, to the widget together with its RMS level for the level meter. The widget frames
 * them for the wire (lib/widget-protocol.ts, audio format 1).
 */
export {};

declare class AudioWorkletProcessor {
  readonly port: MessagePort;
}
declare function registerProcessor(name: string, ctor: new () => AudioWorkletProcessor): void;
declare const sampleRate: number;

/** 200 ms per chunk: few enough messages for the rate limit, short enough for timely windows. */
const CHUNK_MS = 200;

class PcmChunker extends AudioWorkletProcessor {
  /** samples per chunk; kept apart from the array, whose length reads 0 once it is transferred */
  readonly #size = Math.round((sampleRate * CHUNK_MS) / 1000);
  #chunk = new Int16Array(this.#size);
  #filled = 0;
  #sumSquares = 0;

  process(inputs: Float32Array[][]): boolean {
    const channel = inputs[0]?.[0];
    if (!channel) return true;
    for (let i = 0; i < channel.length; i++) {
      const s = Math.max(-1, Math.min(1, channel[i] ?? 0));
      this.#sumSquares += s * s;
      this.#chunk[this.#filled++] = s < 0 ? s * 0x8000 : s * 0x7fff;
      if (this.#filled === this.#size) {
        const rms = Math.sqrt(this.#sumSquares / this.#size);
        const buffer = this.#chunk.buffer;
        this.port.postMessage({ pcm: buffer, rms }, [buffer]);
        this.#chunk = new Int16Array(this.#size);
        this.#filled = 0;
        this.#sumSquares = 0;
      }
    }
    return true;
  }
}

registerProcessor("facet-pcm", PcmChunker);
