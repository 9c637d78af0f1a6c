/**
 * A camera that answers the liveness challenges, for the e2e test only. Chromium's fake capture
 * device (`--use-file-for-fake-video-capture`) plays one fixed file, which cannot answer challenges
 * the server draws at random. This replaces the video track `getUserMedia` hands the page with a
 * `canvas.captureStream()` that plays real recorded frames: a neutral stretch of one person looking
 * at the camera, and when the widget shows a challenge prompt, the stretch of the same person
 * doing what it asks, holding the movement's extreme until the prompt goes away as a person waits
 * for the confirmation (challenge-segments.ts finds them with the tokenizer's own face engine).
 * The microphone stays Chromium's fake one: the original `getUserMedia` is called as the page
 * asked, and only its video track is swapped.
 *
 * The clips were not made for this: no person in them turns their head 15° to their own left, and
 * none shows all four actions (`missing`; the camera stays neutral for those prompts, so such a
 * challenge fails as it would for a person who does not react). `opposite` plays the wrong
 * movement instead — the turn the other way, looking down, open eyes for a blink.
 *
 * Frames reach the page through `page.exposeBinding` (a DevTools binding: the hosted page's CSP
 * allows no other origin and no inline script) as JPEG bytes decoded in memory; nothing derived
 * from the clips is written anywhere (their rights are unstated, scripts/lib/test-media.ts).
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import type { Page } from "playwright-core";
import type { ChallengeAction } from "../../lib/widget-protocol.ts";
import type { TestMedia } from "../../scripts/lib/test-media.ts";
import { en } from "../../widget/src/i18n/en.ts";
import { type PersonSegments, type SegmentName, segmentsFor } from "./challenge-segments.ts";
import { type ClipPoses, clipPoses } from "./clip-poses.ts";

/** Frame rate of the camera and of the labels: twice the widget's 5 fps, so it misses no pose. */
const FPS = 10;
const WIDTH = 320;
const HEIGHT = 240;

/** The page half (page/challenge-camera.js): plain JavaScript, injected as text. */
const PAGE_SCRIPT = readFileSync(new URL("./page/challenge-camera.js", import.meta.url), "utf8");

/** What the camera plays for each prompt: the honest answer, or a wrong one. */
export type Answering = "follow" | "opposite";
const OPPOSITE: Record<ChallengeAction, SegmentName> = {
  turn_left: "turn_right",
  turn_right: "turn_left",
  look_up: "look_down",
  blink: "neutral",
};

export interface ChallengeCamera {
  person: string;
  segments: PersonSegments["segments"];
  /** challenge actions the chosen person's clips do not show (the camera then stays neutral) */
  missing: ChallengeAction[];
  answering: Answering;
  /** whether a prompt for `action` gets the opposite movement (a wrong camera whose clips show it) */
  movesOpposite(action: ChallengeAction): boolean;
  /** installs the camera into the page; call before the first navigation */
  install(page: Page): Promise<void>;
}

/** The frames of a time range of a clip, as JPEG, decoded in memory (ffmpeg to a pipe). */
function jpegSegment(clip: string, startS: number, seconds: number): Buffer[] {
  const out = execFileSync(
    "ffmpeg",
    [
      "-v",
      "error",
      "-ss",
      String(startS),
      "-i",
      clip,
      "-t",
      String(seconds),
      "-vf",
      `fps=${FPS},scale=${WIDTH}:${HEIGHT}`,
      "-an",
      "-q:v",
      "3",
      "-f",
      "image2pipe",
      "-c:v",
      "mjpeg",
      "pipe:1",
    ],
    { maxBuffer: 1 << 28, timeout: 120_000 },
  );
  // Each JPEG ends with the EOI marker FF D9; inside entropy-coded data a 0xFF byte is always
  // stuffed (FF 00), so FF D9 followed by the next SOI (FF D8) or the end is a frame boundary.
  const frames: Buffer[] = [];
  let from = 0;
  for (let i = 0; i + 1 < out.length; i++) {
    if (out[i] === 0xff && out[i + 1] === 0xd9 && (i + 2 === out.length || out[i + 2] === 0xff)) {
      frames.push(out.subarray(from, i + 2));
      from = i + 2;
    }
  }
  return frames;
}

/**
 * Labels the clips (cached) and returns the camera of the person best suited to `answering`.
 * Following the prompts: the person whose clips answer the most challenges; on a tie the one with
 * the longest blink, since a platform shedding frames under load (window-assembler.ts, the
 * widget's `slow_down`) analyses one or two frames a window and misses a short closure. Answering
 * wrongly: the person with the most wrong movements to play (a turn the other way, looking down),
 * so the case exercises the direction check rather than a camera that merely stays still.
 * Labelling all three clips costs ~4–5 min CPU once; later runs read the cache.
 */
export async function prepareChallengeCamera(
  media: TestMedia,
  answering: Answering,
): Promise<ChallengeCamera> {
  const byPerson = new Map<string, { path: string; poses: ClipPoses }[]>();
  for (const [name, path] of Object.entries(media.clips)) {
    const person = media.person[name as keyof TestMedia["clips"]];
    const list = byPerson.get(person) ?? [];
    list.push({ path, poses: await clipPoses(path, FPS, WIDTH, HEIGHT) });
    byPerson.set(person, list);
  }
  const candidates = [...byPerson.entries()].map(([person, clips]) => ({
    clips,
    found: segmentsFor(
      person,
      clips.map((c) => c.poses),
    ),
  }));
  const livePerson = media.person.cap12;
  const wrongMoves = (f: PersonSegments): number =>
    (["turn_left", "turn_right", "look_up"] as const).filter((a) => f.segments[OPPOSITE[a]]).length;
  candidates.sort(
    (a, b) =>
      (answering === "opposite" ? wrongMoves(b.found) - wrongMoves(a.found) : 0) ||
      a.found.missing.length - b.found.missing.length ||
      (b.found.segments.blink?.margin ?? 0) - (a.found.segments.blink?.margin ?? 0) ||
      Number(b.found.person === livePerson) - Number(a.found.person === livePerson),
  );
  const chosen = candidates[0];
  if (!chosen?.found.segments.neutral)
    throw new Error("no clip shows a person looking steadily at the camera");
  const { person, segments, missing } = chosen.found;
  const pathOf = (clip: string): string => chosen.clips.find((c) => c.poses.clip === clip)?.path ?? clip;

  const frames = new Map<SegmentName, string[]>();
  for (const [name, s] of Object.entries(segments) as [
    SegmentName,
    { clip: string; startS: number; seconds: number },
  ][])
    frames.set(
      name,
      jpegSegment(pathOf(s.clip), s.startS, s.seconds).map((b) => b.toString("base64")),
    );

  return {
    person,
    segments,
    missing,
    answering,
    movesOpposite: (action) =>
      answering === "opposite" && action !== "blink" && segments[OPPOSITE[action]] !== undefined,
    async install(page) {
      const prompts = Object.fromEntries(
        (["turn_left", "turn_right", "blink", "look_up"] as const).map((a) => [
          en[`challenge_${a}`],
          { action: a, play: answering === "follow" ? a : OPPOSITE[a] },
        ]),
      );
      await page.exposeBinding("facetChallengeCameraFrames", () => Object.fromEntries(frames));
      // held stretches as frame indices into the segments' frames (decoded at FPS from startS)
      const holds: Record<string, [number, number]> = {};
      for (const [name, s] of Object.entries(segments)) {
        const count = frames.get(name as SegmentName)?.length ?? 0;
        if (!s.hold || count === 0) continue;
        const from = Math.min(count - 1, Math.round(s.hold.fromS * FPS));
        holds[name] = [from, Math.max(from + 1, Math.min(count, Math.round(s.hold.toS * FPS)))];
      }
      const options = { prompts, holds, fps: FPS, width: WIDTH, height: HEIGHT };
      await page.addInitScript({
        content: `${PAGE_SCRIPT}\ninstallChallengeCamera(${JSON.stringify(options)});\n`,
      });
    },
  };
}

/** The challenges the widget prompted for so far, in order (recorded by the page camera). */
export async function promptedChallenges(page: Page): Promise<ChallengeAction[]> {
  return page.evaluate(
    () =>
      (globalThis as unknown as { facetChallengeCameraPrompted?: ChallengeAction[] })
        .facetChallengeCameraPrompted ?? [],
  );
}

/**
 * Records the session's `challenge_result` messages (lib/widget-protocol.ts) as the page receives
 * them, so a case can say which challenge was missed, not only how many. Call before `goto`.
 */
export function recordChallengeResults(
  page: Page,
): () => { index: number; passed: boolean; reason: string | null }[] {
  const results: { index: number; passed: boolean; reason: string | null }[] = [];
  page.on("websocket", (socket) => {
    socket.on("framereceived", ({ payload }) => {
      if (typeof payload !== "string") return;
      try {
        const message = JSON.parse(payload) as {
          type?: string;
          index?: number;
          passed?: boolean;
          reason?: string | null;
        };
        if (message.type === "challenge_result")
          results.push({
            index: Number(message.index),
            passed: message.passed === true,
            reason: message.reason ?? null,
          });
      } catch {
        // not JSON: not a control message
      }
    });
  });
  return () => [...results];
}
