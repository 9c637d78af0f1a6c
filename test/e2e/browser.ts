/**
 * Debian Chromium driven by playwright-core (never a downloaded browser build), with a fake
 * camera and microphone fed from files (platform-notes "Real browser with a fake camera and
 * microphone"), plus what the e2e tests measure in it: screenshots of each step at a desktop
 * and a phone viewport (`test-results/e2e/`, git-ignored), and the bytes the page sends on its
 * WebSocket, counted by the DevTools protocol (`Network.webSocketFrameSent`) rather than by the
 * widget, so the widget cannot misreport its own bitrate.
 */

import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BrowserContext, chromium, type Page } from "playwright-core";
import { mulawToPcm16le } from "../../lib/g711.ts";
import { REPO } from "../../scripts/lib/platform.ts";

export const CHROMIUM = "/usr/bin/chromium";
export const SHOTS = join(REPO, "test-results", "e2e");

export const DESKTOP = { width: 1280, height: 860 };
export const PHONE = { width: 390, height: 844 };
/** The browser's clock zone; the platform's `request.cf` (VIENNA_CF) must agree with it. */
export const BROWSER_TIMEZONE = "Europe/Vienna";

/**
 * What Cloudflare's edge would report for a home connection in Vienna (Workers runtime
 * `IncomingRequestCfProperties`): the same zone as the browser, a residential ISP (A1 Telekom
 * Austria, AS8447), so the session looks like a person at home rather than Miniflare's fallback.
 */
export const VIENNA_CF = {
  country: "AT",
  city: "Vienna",
  continent: "EU",
  colo: "VIE",
  asn: 8447,
  asOrganization: "A1 Telekom Austria AG",
  timezone: BROWSER_TIMEZONE,
  clientTcpRtt: 12,
  httpProtocol: "HTTP/1.1",
  tlsVersion: "TLSv1.3",
};

export interface LaunchOptions {
  video: string;
  audio: string;
  /** answer permission prompts with "allow" without a prompt (default true) */
  autoAllow?: boolean;
}

export interface Browser {
  context: BrowserContext;
  page: Page;
  close(): Promise<void>;
}

export async function launch(options: LaunchOptions): Promise<Browser> {
  if (!existsSync(CHROMIUM))
    throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (the e2e tests need it)`);
  const profile = mkdtempSync(join(tmpdir(), "facet-e2e-profile-"));
  const args = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--use-fake-device-for-media-stream",
    `--use-file-for-fake-video-capture=${options.video}`,
    `--use-file-for-fake-audio-capture=${options.audio}`,
    "--autoplay-policy=no-user-gesture-required",
    // A person's own browser is not automated: without this Chromium sets navigator.webdriver
    // (W3C WebDriver §7.1), which the device-risk analyzer rightly treats as automation.
    "--disable-blink-features=AutomationControlled",
  ];
  if (options.autoAllow !== false) args.push("--use-fake-ui-for-media-stream");
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args,
    viewport: DESKTOP,
    locale: "en-US",
    timezoneId: BROWSER_TIMEZONE,
  });
  const page = context.pages()[0] ?? (await context.newPage());
  return {
    context,
    page,
    async close() {
      await context.close().catch(() => undefined);
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Screenshots the page at the desktop and the phone viewport: `<name>-desktop.png`, `-phone.png`. */
export async function shoot(page: Page, name: string): Promise<void> {
  mkdirSync(SHOTS, { recursive: true });
  const original = page.viewportSize() ?? DESKTOP;
  for (const [label, size] of [
    ["desktop", DESKTOP],
    ["phone", PHONE],
  ] as const) {
    await page.setViewportSize(size);
    await page.screenshot({ path: join(SHOTS, `${name}-${label}.png`), fullPage: true });
  }
  await page.setViewportSize(original);
}

export interface UpstreamMeter {
  /** bytes of binary frames by media kind (first byte of the header) and of text frames */
  videoBytes: number;
  audioBytes: number;
  textBytes: number;
  /** audio sample statistics over every PCM chunk sent */
  audioPeak: number;
  audioRms: number;
  /** seconds between the first and the last media frame */
  seconds(): number;
  kbps(bytes: number): number;
}

/** Counts what the page sends on WebSockets (DevTools protocol; payloads arrive base64 for binary). */
export async function meterUpstream(context: BrowserContext, page: Page): Promise<UpstreamMeter> {
  const cdp = await context.newCDPSession(page);
  await cdp.send("Network.enable");
  let first: number | null = null;
  let last = 0;
  let sumSquares = 0;
  let samples = 0;
  const meter: UpstreamMeter = {
    videoBytes: 0,
    audioBytes: 0,
    textBytes: 0,
    audioPeak: 0,
    audioRms: 0,
    seconds: () => (first === null ? 0 : last - first),
    kbps: (bytes) => (meter.seconds() > 0 ? (bytes * 8) / 1000 / meter.seconds() : 0),
  };
  cdp.on("Network.webSocketFrameSent", (event) => {
    const { opcode, payloadData } = event.response;
    if (opcode !== 2) {
      meter.textBytes += payloadData.length;
      return;
    }
    const bytes = Buffer.from(payloadData, "base64");
    first ??= event.timestamp;
    last = event.timestamp;
    if (bytes[0] === 1) meter.videoBytes += bytes.length;
    else if (bytes[0] === 2) {
      meter.audioBytes += bytes.length;
      // Decode what the widget actually sent: µ-law (format 2) or PCM16 (format 1).
      const pcm = bytes[1] === 2 ? Buffer.from(mulawToPcm16le(bytes.subarray(16))) : bytes.subarray(16);
      for (let i = 0; i + 1 < pcm.length; i += 2) {
        const s = pcm.readInt16LE(i) / 32768;
        sumSquares += s * s;
        samples += 1;
        meter.audioPeak = Math.max(meter.audioPeak, Math.abs(s));
      }
      meter.audioRms = Math.sqrt(sumSquares / Math.max(1, samples));
    }
  });
  return meter;
}
