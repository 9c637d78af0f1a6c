/**
 * Camera and microphone capture for the widget (product-spec §4 "Capture").
 *
 * Video: getUserMedia at ~320×240, sampled at FPS_DEFAULT frames per second onto a canvas of
 * that size and encoded as JPEG. The JPEG quality adapts so that video alone stays inside
 * VIDEO_BUDGET_BPS (bytes per frame are measured after each encode). Audio: an AudioContext at
 * 16 kHz (the browser resamples), an AudioWorklet that emits 200 ms PCM s16le chunks; echo
 * cancellation, noise suppression and automatic gain are off so the analyzers hear the room as
 * it is. Capture time is one clock for both kinds: ms since capture started.
 *
 * Framing hints come from the frames already drawn: mean luma and the share of clipped pixels
 * of the centre region (where the oval is). There is no face detector in the browser: distance
 * is not judged client-side (the server's face features decide).
 */

export const FPS_DEFAULT = 5;
/**
 * Video's share of the upstream. Audio goes as µ-law at a fixed 128 kbit/s; with framing
 * overhead the session stays under 250 kbit/s (product-spec §4, docs/widget.md).
 */
export const VIDEO_BUDGET_BPS = 96_000;
const WIDTH = 320;
const HEIGHT = 240;

export type LightHint = "no_image" | "dark" | "bright" | "ok";

export interface CaptureSinks {
  video(tsMs: number, jpeg: Uint8Array): void;
  audio(tsMs: number, pcm: Int16Array, rms: number): void;
  hint(hint: LightHint): void;
}

export class PermissionProblem extends Error {
  constructor(readonly kind: "blocked" | "missing" | "other") {
    super(kind);
  }
}

/** Asks for camera and microphone; maps the DOMException names to what the UI explains. */
export async function requestMedia(): Promise<MediaStream> {
  if (!navigator.mediaDevices?.getUserMedia) throw new PermissionProblem("missing");
  try {
    return await navigator.mediaDevices.getUserMedia({
      video: { width: { ideal: WIDTH }, height: { ideal: HEIGHT }, frameRate: { ideal: 15, max: 30 } },
      audio: {
        channelCount: 1,
        echoCancellation: false,
        noiseSuppression: false,
        autoGainControl: false,
      },
    });
  } catch (error) {
    const name = error instanceof DOMException ? error.name : "";
    if (name === "NotAllowedError" || name === "SecurityError") throw new PermissionProblem("blocked");
    if (name === "NotFoundError" || name === "OverconstrainedError") throw new PermissionProblem("missing");
    throw new PermissionProblem("other");
  }
}

/** Camera labels of virtual-camera drivers (docs/signals.md `virtualCamera`); the label is not sent. */
const VIRTUAL_CAMERA = /obs|virtual|manycam|snap camera|xsplit|e2esoft|splitcam|droidcam|camtwist|mmhmm/i;

export function isVirtualCamera(stream: MediaStream): boolean {
  return stream.getVideoTracks().some((t) => VIRTUAL_CAMERA.test(t.label));
}

export class Capture {
  readonly video: HTMLVideoElement;
  #stream: MediaStream;
  #sinks: CaptureSinks;
  #canvas: HTMLCanvasElement;
  #ctx: CanvasRenderingContext2D;
  #t0 = performance.now();
  #timer: number | null = null;
  #fps = FPS_DEFAULT;
  #quality = 0.45;
  /** Video byte budget (token bucket, ≤ 1 s of burst): a frame that does not fit is not sent. */
  #videoCredit = VIDEO_BUDGET_BPS / 16;
  #creditAt = performance.now();
  #encoding = false;
  #audio: AudioContext | null = null;
  #audioSamples = 0;
  #audioBase: number | null = null;
  #slowUntil = 0;
  #stopped = false;

  constructor(stream: MediaStream, video: HTMLVideoElement, sinks: CaptureSinks) {
    this.#stream = stream;
    this.#sinks = sinks;
    this.video = video;
    this.#canvas = document.createElement("canvas");
    this.#canvas.width = WIDTH;
    this.#canvas.height = HEIGHT;
    const ctx = this.#canvas.getContext("2d", { willReadFrequently: true });
    if (!ctx) throw new Error("no 2d canvas");
    this.#ctx = ctx;
  }

  /** true once audio chunks flow (video then waits for the audio covering its time) */
  get audioActive(): boolean {
    return this.#audioBase !== null && !this.#stopped;
  }

  async start(workletUrl: string): Promise<void> {
    this.video.srcObject = this.#stream;
    this.video.muted = true;
    this.video.playsInline = true;
    await this.video.play().catch(() => undefined);
    this.#t0 = performance.now();
    this.#schedule();
    await this.#startAudio(workletUrl).catch(() => {
      // No audio pipeline (very old browser): video still flows; the analyzers see no audio.
    });
  }

  /** The server shed media (`slow_down`): halve the frame rate and lower quality for 10 s. */
  slowDown(): void {
    this.#slowUntil = performance.now() + 10_000;
    this.#fps = Math.max(2, Math.floor(this.#fps / 2));
    this.#quality = Math.max(0.15, this.#quality - 0.1);
  }

  now(): number {
    return performance.now() - this.#t0;
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    for (const track of this.#stream.getTracks()) track.stop();
    this.video.srcObject = null;
    void this.#audio?.close().catch(() => undefined);
  }

  #schedule(): void {
    if (this.#stopped) return;
    if (this.#fps < FPS_DEFAULT && performance.now() > this.#slowUntil) this.#fps += 1;
    this.#timer = window.setTimeout(() => {
      this.#grab();
      this.#schedule();
    }, 1000 / this.#fps);
  }

  #grab(): void {
    if (this.#encoding || this.video.readyState < 2 || this.#stopped) return;
    const tsMs = this.now();
    // Cover-fit the camera image into 320×240 (phones deliver portrait).
    const vw = this.video.videoWidth || WIDTH;
    const vh = this.video.videoHeight || HEIGHT;
    const scale = Math.max(WIDTH / vw, HEIGHT / vh);
    const sw = WIDTH / scale;
    const sh = HEIGHT / scale;
    this.#ctx.drawImage(this.video, (vw - sw) / 2, (vh - sh) / 2, sw, sh, 0, 0, WIDTH, HEIGHT);
    this.#sinks.hint(this.#lightHint());
    this.#encoding = true;
    this.#canvas.toBlob(
      (blob) => {
        this.#encoding = false;
        if (!blob || this.#stopped) return;
        void blob.arrayBuffer().then((buffer) => {
          this.#adaptQuality(buffer.byteLength);
          if (this.#spendVideoCredit(buffer.byteLength)) this.#sinks.video(tsMs, new Uint8Array(buffer));
        });
      },
      "image/jpeg",
      this.#quality,
    );
  }

  /**
   * Keeps bytes per frame near the budget: a proportional step towards the target size (JPEG
   * size grows roughly with the square of quality in this range), bounded per frame.
   */
  #adaptQuality(bytes: number): void {
    const target = VIDEO_BUDGET_BPS / 8 / FPS_DEFAULT;
    const step = Math.min(1.15, Math.max(0.7, Math.sqrt(target / Math.max(1, bytes))));
    this.#quality = Math.min(0.85, Math.max(0.15, this.#quality * step));
  }

  /** The hard cap: the budget holds on average whatever the scene does to JPEG sizes. */
  #spendVideoCredit(bytes: number): boolean {
    const now = performance.now();
    const perMs = VIDEO_BUDGET_BPS / 8 / 1000;
    this.#videoCredit = Math.min(VIDEO_BUDGET_BPS / 8, this.#videoCredit + (now - this.#creditAt) * perMs);
    this.#creditAt = now;
    if (bytes > this.#videoCredit) return false;
    this.#videoCredit -= bytes;
    return true;
  }

  #lightHint(): LightHint {
    // The centre third, where the oval is, sampled every 4th pixel.
    const x0 = Math.round(WIDTH / 3);
    const y0 = Math.round(HEIGHT / 4);
    const { data } = this.#ctx.getImageData(x0, y0, Math.round(WIDTH / 3), Math.round(HEIGHT / 2));
    let sum = 0;
    let clipped = 0;
    let n = 0;
    let min = 255;
    let max = 0;
    for (let i = 0; i < data.length; i += 16) {
      const y = 0.299 * (data[i] ?? 0) + 0.587 * (data[i + 1] ?? 0) + 0.114 * (data[i + 2] ?? 0);
      sum += y;
      n += 1;
      if (y > 250) clipped += 1;
      min = Math.min(min, y);
      max = Math.max(max, y);
    }
    const mean = sum / Math.max(1, n);
    if (max - min < 6 && mean < 20) return "no_image";
    if (mean < 50) return "dark";
    if (mean > 215 || clipped / Math.max(1, n) > 0.25) return "bright";
    return "ok";
  }

  async #startAudio(workletUrl: string): Promise<void> {
    if (this.#stream.getAudioTracks().length === 0) return;
    const context = new AudioContext({ sampleRate: 16_000 });
    this.#audio = context;
    await context.audioWorklet.addModule(workletUrl);
    const source = context.createMediaStreamSource(this.#stream);
    const node = new AudioWorkletNode(context, "facet-pcm", {
      numberOfInputs: 1,
      numberOfOutputs: 0,
      channelCount: 1,
      channelCountMode: "explicit",
    });
    node.port.onmessage = (event: MessageEvent<{ pcm: ArrayBuffer; rms: number }>) => {
      if (this.#stopped) return;
      const pcm = new Int16Array(event.data.pcm);
      // The chunk ends now; its first sample is one chunk earlier on the shared clock.
      this.#audioBase ??= Math.max(0, this.now() - (pcm.length / 16_000) * 1000);
      const tsMs = this.#audioBase + (this.#audioSamples / 16_000) * 1000;
      this.#audioSamples += pcm.length;
      this.#sinks.audio(tsMs, pcm, event.data.rms);
    };
    source.connect(node);
    if (context.state === "suspended") await context.resume();
  }
}
