/**
 * Metadata-only signals of a scenario session — device, network (docs/signals.md) and widget
 * interaction counters (lib/features.ts) — drawn from labelled distributions, because no media
 * carries them. Genuine sessions are not spotless: some genuine users sit behind a hosting-provider
 * VPN, travel across time zones, start at 3 a.m. or tab away, so every cue overlaps between the
 * classes and a model has to weigh them. Behaviour is drawn around the subject's own baseline
 * (one per speaker voice: how fast and how evenly that person points, types and answers); a
 * baseline anomaly is the same subject far off that baseline. Device risk kinds: automation
 * (webdriver, headless profile, virtual camera), datacenter ASN, and impossible travel — the
 * subject's previous session placed the network in another region hours ago, so the browser
 * clock keeps the home zone while the IP's zone is far away.
 */
import type { BehaviorSignals, DeviceSignals, NetworkSignals } from "../../../lib/features.ts";
import { seededRandom } from "../../lib/seeded-random.ts";
import { type PlannedSession, seedOf } from "./plan.ts";

const between = (r: () => number, lo: number, hi: number): number => lo + (hi - lo) * r();
const chance = (r: () => number, p: number): boolean => r() < p;

/** Home zones of the synthetic subjects: IANA name, UTC offset (minutes ahead), language. */
const ZONES = [
  { tz: "Europe/Vienna", offset: 60, lang: "de-AT", country: "AT" },
  { tz: "Europe/London", offset: 0, lang: "en-GB", country: "GB" },
  { tz: "America/New_York", offset: -300, lang: "en-US", country: "US" },
  { tz: "Asia/Singapore", offset: 480, lang: "en-SG", country: "SG" },
] as const;

interface Baseline {
  pointerCv: number;
  keyCv: number;
  latencyMs: number;
  zone: (typeof ZONES)[number];
}

/** A subject's own habits, fixed by their identity (the speaker voice). */
export function baselineOf(subject: string): Baseline {
  const r = seededRandom(seedOf(subject, 77));
  return {
    pointerCv: between(r, 0.6, 1.4),
    keyCv: between(r, 0.4, 0.9),
    latencyMs: between(r, 700, 1600),
    zone: ZONES[Math.floor(r() * ZONES.length)] ?? ZONES[0],
  };
}

export interface SessionMetadata {
  device: DeviceSignals;
  network: NetworkSignals;
  behavior: BehaviorSignals;
}

export function metadataOf(s: PlannedSession, sessionSeconds: number): SessionMetadata {
  const r = seededRandom(s.seed ^ 0xd3a1);
  const base = baselineOf(s.voice.id);
  const home = base.zone;
  const k = s.kind;

  const automation = k === "automation";
  const device: DeviceSignals = {
    webdriver: automation ? chance(r, 0.7) : chance(r, 0.01),
    virtualCamera: automation
      ? chance(r, 0.5)
      : k === "virtual-background"
        ? chance(r, 0.3)
        : chance(r, 0.03),
    timezone: home.tz,
    // getTimezoneOffset(): minutes behind UTC
    timezoneOffsetMin: -home.offset,
    language: home.lang,
    hardwareConcurrency: automation && chance(r, 0.5) ? 0 : pickOf(r, [2, 4, 8, 8, 12, 16]),
    maxTouchPoints: pickOf(r, [0, 0, 5, 10]),
    screenWidth: automation && chance(r, 0.4) ? 0 : pickOf(r, [390, 1280, 1440, 1920]),
    screenHeight: automation && chance(r, 0.4) ? 0 : pickOf(r, [844, 720, 900, 1080]),
  };
  if (automation && !device.webdriver && device.hardwareConcurrency > 0 && device.screenWidth > 0) {
    device.virtualCamera = true; // at least one automation tell per automation session
  }

  let ipOffset: number = home.offset;
  let country: string = home.country;
  const travelling = k === "impossible-travel" || k === "locale-mismatch" || chance(r, 0.06);
  if (travelling) {
    const far = ZONES.filter((z) => Math.abs(z.offset - home.offset) >= 300);
    const z = pickOf(r, far.length > 0 ? far : [...ZONES]);
    ipOffset =
      k === "impossible-travel" || k === "locale-mismatch" ? z.offset : home.offset + pickOf(r, [-60, 60]);
    country = z.country;
  }
  const datacenter = k === "datacenter" ? true : chance(r, 0.05);
  let localHour = Math.floor(between(r, 8, 22));
  if ((k === "datacenter" && chance(r, 0.5)) || chance(r, 0.06)) localHour = Math.floor(between(r, 1, 6));
  const network: NetworkSignals = {
    country,
    asn: datacenter ? pickOf(r, [16509, 14061, 24940]) : pickOf(r, [8447, 2856, 7922, 9506]),
    datacenterAsn: datacenter,
    ipTimezoneOffsetMin: ipOffset,
    localHour,
  };

  let pointerCv = Math.max(0.05, base.pointerCv * between(r, 0.8, 1.25));
  let keyCv = Math.max(0.05, base.keyCv * between(r, 0.8, 1.25));
  let rate = between(r, 1.5, 4); // events per second
  let focus = chance(r, 0.3) ? 1 : 0;
  let latencies = Array.from({ length: 3 }, () => base.latencyMs * between(r, 0.6, 1.6));
  if (k === "bot") {
    // scripted input: uniform pointer and keys, answers on a fixed clock, often too fast
    pointerCv = between(r, 0.01, 0.12);
    keyCv = between(r, 0.01, 0.08);
    rate = chance(r, 0.4) ? between(r, 0, 0.05) : between(r, 4, 12);
    const clock = chance(r, 0.5) ? between(r, 80, 240) : between(r, 400, 900);
    latencies = latencies.map(() => clock + between(r, -10, 10));
  } else if (k === "baseline-anomaly") {
    // the same subject far off their own baseline: erratic, away from the page, very late replies
    pointerCv = base.pointerCv * between(r, 2.5, 4);
    keyCv = base.keyCv * between(r, 2.5, 4.5);
    focus = Math.floor(between(r, 3, 9));
    latencies = latencies.map(() => (chance(r, 0.6) ? between(r, 10_500, 25_000) : base.latencyMs));
  }
  const pointerMoves = Math.round(rate * sessionSeconds * 0.8);
  const behavior: BehaviorSignals = {
    pointerMoves,
    pointerSpeedCv: pointerCv,
    keyPresses: Math.round(rate * sessionSeconds * 0.2),
    keyIntervalCv: keyCv,
    focusLosses: focus,
    responseLatenciesMs: latencies.map((x) => Math.round(x)),
  };
  return { device, network, behavior };
}

function pickOf<T>(r: () => number, xs: readonly T[]): T {
  return xs[Math.floor(r() * xs.length) % xs.length] as T;
}
