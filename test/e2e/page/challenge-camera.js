// @ts-check
/**
 * The page half of the challenge camera (test/e2e/challenge-camera.ts), run before the page's own
 * scripts as a Playwright init script. Plain JavaScript, read as text and injected with its
 * options appended, and type-checked with the DOM library by test/e2e/page/tsconfig.json (the
 * repository's root config has no DOM types).
 *
 * It wraps `navigator.mediaDevices.getUserMedia`: a request with video is passed to the original
 * (so the permission flow and Chromium's fake microphone are untouched) and answered with the
 * original's audio and a `canvas.captureStream()` track playing real recorded frames — neutral,
 * or, while the widget shows a challenge prompt, the segment chosen for it, holding its extreme
 * until the prompt goes away.
 *
 * The stand-in is dressed as the device it replaces: its `label`, `getSettings()`,
 * `getCapabilities()` and `getConstraints()` answer what Chromium's fake capture device answered
 * (with the canvas's size). The widget reads the label for the device-risk analyzer's
 * `virtualCamera` signal (widget/src/capture.ts, docs/signals.md); a canvas track's label is
 * empty. The stand-in plays a person in front of the same device every other e2e case uses, and
 * these cases are about answering challenges, not about injected streams, so claiming that
 * device's identity hides nothing they assert: frame timing still comes from the widget's own
 * capture clock, and the pixels are the recording's.
 */

/**
 * @typedef {{ action: string, play: string }} Prompted
 * @typedef {{ prompts: Record<string, Prompted>, holds: Record<string, [number, number]>, fps: number, width: number, height: number }} Options
 * @typedef {{ facetChallengeCameraFrames(): Promise<Record<string, string[]>>, facetChallengeCameraPrompted: string[] }} Globals
 */

/** @param {Options} o */
// biome-ignore lint/correctness/noUnusedVariables: called by the options line appended at injection
function installChallengeCamera(o) {
  const media = navigator.mediaDevices;
  if (!media?.getUserMedia) return;
  const original = media.getUserMedia.bind(media);
  const g = /** @type {Globals} */ (/** @type {unknown} */ (globalThis));
  /** @type {string[]} */
  const prompted = [];
  g.facetChallengeCameraPrompted = prompted;

  /** @param {Record<string, string[]>} all */
  const decode = async (all) => {
    /** @type {Map<string, ImageBitmap[]>} */
    const out = new Map();
    for (const [name, list] of Object.entries(all)) {
      /** @type {ImageBitmap[]} */
      const bitmaps = [];
      for (const b64 of list) {
        const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
        bitmaps.push(await createImageBitmap(new Blob([bytes], { type: "image/jpeg" })));
      }
      out.set(name, bitmaps);
    }
    return out;
  };

  /** The widget's prompt: the `.challenge` element in its open shadow root, when shown. */
  const promptText = () => {
    for (const host of document.querySelectorAll("*")) {
      const el = host.shadowRoot?.querySelector(".challenge");
      if (el instanceof HTMLElement) return el.hidden ? null : el.textContent;
    }
    return null;
  };

  /** @param {MediaStreamConstraints} [constraints] */
  media.getUserMedia = async (constraints) => {
    const real = await original(constraints);
    const [device] = real.getVideoTracks();
    if (!device) return real;
    const segments = await decode(await g.facetChallengeCameraFrames());
    const canvas = document.createElement("canvas");
    canvas.width = o.width;
    canvas.height = o.height;
    const ctx = canvas.getContext("2d");
    const [track] = canvas.captureStream(o.fps).getVideoTracks();
    if (!ctx || !track) return real;
    const label = device.label;
    const settings = device.getSettings();
    const capabilities = device.getCapabilities();
    const applied = device.getConstraints();
    device.stop();
    Object.defineProperty(track, "label", { get: () => label });
    track.getSettings = () => ({ ...settings, width: o.width, height: o.height });
    track.getCapabilities = () => capabilities;
    track.getConstraints = () => applied;

    const neutral = segments.get("neutral") ?? [];
    // Neutral plays forwards then backwards (a loop without a jump cut, which the face engine
    // would read as a glitch). A prompt starts its segment: the movement up to its held stretch,
    // that stretch back and forth while the prompt is shown (a person turns and holds, or keeps
    // blinking, until the widget confirms — at most HOLD_MAX_TICKS), then the way back, then
    // neutral where it left off. A movement under way when the prompt changes finishes first
    // (the rest of its way there and its way back, without the hold). A prompt whose segment the
    // clips lack gets neutral: the person does not react.
    const HOLD_MAX_TICKS = 6 * o.fps;
    let n = 0;
    let step = 1;
    /** @type {string | null} */
    let shown = null;
    /** frames to play once, in order @type {ImageBitmap[]} */
    let queue = [];
    /** the held stretch, while the prompt that asked for it is shown @type {ImageBitmap[]} */
    let hold = [];
    let held = 0;
    /** the way back from the held stretch @type {ImageBitmap[]} */
    let back = [];
    /** whether `queue` and `back` are a movement that finishes before anything else plays */
    let moving = false;
    /** @param {ImageBitmap[]} frames @param {number} i */
    const pingPong = (frames, i) => {
      const period = Math.max(1, 2 * frames.length - 2);
      const k = i % period;
      return frames[k < frames.length ? k : period - k];
    };
    const timer = setInterval(() => {
      if (track.readyState === "ended") {
        clearInterval(timer);
        return;
      }
      const prompt = promptText();
      if (prompt !== shown) {
        shown = prompt;
        const asked = prompt === null ? undefined : o.prompts[prompt];
        if (asked) prompted.push(asked.action);
        // whatever was held ends; a movement under way finishes first
        const rest = moving ? [...queue, ...back] : [];
        hold = [];
        back = [];
        held = 0;
        // a movement cut short by a confirmation or a taken-away prompt still has its way back
        // queued: the next prompt plays after it
        moving = rest.length > 0;
        queue = rest;
        if (asked) {
          const segment = segments.get(asked.play) ?? [];
          const range = o.holds[asked.play];
          if (range) {
            queue = [...rest, ...segment.slice(0, range[0])];
            hold = segment.slice(range[0], range[1]);
            back = segment.slice(range[1]);
            moving = true;
          } else queue = [...rest, ...segment];
        }
      }
      /** @type {ImageBitmap | undefined} */
      let frame;
      if (queue.length > 0) frame = queue.shift();
      else if (hold.length > 0 && held < HOLD_MAX_TICKS) frame = pingPong(hold, held++);
      else if (back.length > 0) {
        hold = [];
        frame = back.shift();
      } else {
        hold = [];
        moving = false;
        frame = neutral[n];
        if (n + step < 0 || n + step >= neutral.length) step = -step;
        n = Math.max(0, Math.min(neutral.length - 1, n + step));
      }
      if (frame) ctx.drawImage(frame, 0, 0, o.width, o.height);
    }, 1000 / o.fps);
    return new MediaStream([track, ...real.getAudioTracks()]);
  };
}
