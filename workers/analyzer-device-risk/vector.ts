/**
 * Device and network risk features: automation (navigator.webdriver, W3C WebDriver §7.1),
 * virtual cameras, hosting-provider networks, a browser clock that disagrees with the IP's time
 * zone, and sessions at unusual local hours. Ordered list = model input order
 * (models/device-risk/build.ts imports it).
 *
 * Offsets: the browser's `timezoneOffsetMin` is `Date#getTimezoneOffset()` — minutes *behind*
 * UTC (Vienna in winter: −60) — while `ipTimezoneOffsetMin` is minutes *ahead* of UTC (+60);
 * the browser's is negated before comparing, and the difference wraps around 24 h.
 */
import type { AnalyzerInput } from "../../lib/analyzer-contract.ts";
import type { AnalyzerVector } from "../../lib/analyzer-runtime.ts";

export type DeviceRiskSlice = AnalyzerInput<"device_risk">;

const bool = (b: boolean): number => (b ? 1 : 0);

function timezoneGapHours(s: DeviceRiskSlice): number | null {
  if (s.device === null || s.network.ipTimezoneOffsetMin === null) return null;
  const d = Math.abs(-s.device.timezoneOffsetMin - s.network.ipTimezoneOffsetMin) % 1440;
  return Math.min(d, 1440 - d) / 60;
}

export const DEVICE_RISK_VECTOR: AnalyzerVector<DeviceRiskSlice> = {
  analyzer: "device_risk",
  features: [
    {
      name: "webdriver",
      reasonCode: "DEVICE_WEBDRIVER",
      unit: "0/1",
      description: "navigator.webdriver is set (browser under automation)",
      neutral: 0,
      extract: (s) => (s.device === null ? null : bool(s.device.webdriver)),
    },
    {
      name: "virtual_camera",
      reasonCode: "DEVICE_VIRTUAL_CAMERA",
      unit: "0/1",
      description: "the camera label names a known virtual-camera driver",
      neutral: 0,
      extract: (s) => (s.device === null ? null : bool(s.device.virtualCamera)),
    },
    {
      name: "datacenter_asn",
      reasonCode: "DEVICE_DATACENTER_IP",
      unit: "0/1",
      description: "the client IP belongs to a hosting or datacenter network",
      neutral: 0,
      extract: (s) => bool(s.network.datacenterAsn),
    },
    {
      name: "timezone_gap_h",
      reasonCode: "DEVICE_TIMEZONE_MISMATCH",
      unit: "hours 0..12",
      description: "gap between the browser's and the IP's UTC offsets",
      neutral: 0,
      extract: timezoneGapHours,
    },
    {
      name: "odd_hour",
      reasonCode: "DEVICE_ODD_HOURS",
      unit: "0/1",
      description: "the session started between 01:00 and 05:59 at the IP's local time",
      neutral: 0,
      extract: (s) => bool(s.network.localHour >= 1 && s.network.localHour <= 5),
    },
    {
      name: "headless_profile",
      reasonCode: "DEVICE_HEADLESS_PROFILE",
      unit: "0/1",
      description: "a zero-sized screen or no reported CPU cores (typical of headless browsers)",
      neutral: 0,
      extract: (s) =>
        s.device === null
          ? null
          : bool(
              s.device.screenWidth === 0 || s.device.screenHeight === 0 || s.device.hardwareConcurrency === 0,
            ),
    },
    {
      name: "device_signals_missing",
      reasonCode: "DEVICE_SIGNALS_MISSING",
      unit: "0/1",
      description: "the widget reported no device signals",
      neutral: 0,
      extract: (s) => bool(s.device === null),
    },
  ],
  // Device signals and a known network (ASN) are the two halves of the picture.
  evidence: (s) => ({ usable: (s.device === null ? 0 : 1) + (s.network.asn === null ? 0 : 1), target: 2 }),
};
