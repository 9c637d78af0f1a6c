/**
 * Trains the device_risk model on the scenario corpus (`npm run corpus` first) and ships it:
 * `node models/device-risk/train.ts` writes trained.json, model.onnx and card.md here. Fitting,
 * family comparison and calibration are shared with the other scenario analyzers
 * (models/train-lib.ts, models/train-run.ts); this file names the analyzer, its vector, its
 * hand-set baseline and what its card must say.
 */
import { DEVICE_RISK_VECTOR } from "../../workers/analyzer-device-risk/vector.ts";
import { readScenarioRows, ship, trainAnalyzer } from "../train-run.ts";
import { DEVICE_RISK_HANDSET } from "./handset.ts";

export const VERSION = "device-risk-trained-1.0.0";

export const CARD = {
  title: "device-risk analyzer",
  worker: "workers/analyzer-device-risk",
  folder: "models/device-risk",
  scenarios:
    "Positives: *automation* sessions (navigator.webdriver in 70 %, headless profile \u2014 zero cores or zero-sized screen \u2014 or a virtual camera, at least one tell each), *datacenter* sessions (hosting-provider ASN, half at 01:00-05:59 local time), *impossible-travel* sessions (the browser keeps the subject's home zone while the IP is in a zone \u2265 5 h away) and *locale-mismatch* sessions. Negatives: genuine sessions, which carry the same cues at field-like low rates (1 % webdriver, 3 % virtual camera, 5 % datacenter/VPN, 6 % travelling \u00b11 h, 6 % odd hours), and every other kind. All device and network signals are drawn from labelled distributions (scripts/corpus/scenarios/metadata.ts); none come from media.",
  failureModes: [
    "Impossible travel between sessions is only visible here through the time-zone gap within one session: the contract carries no previous-session location, so a traveller whose browser clock follows the IP is missed.",
    "Privacy VPNs and corporate proxies sit on hosting ASNs; genuine users behind them score high.",
    "Stealth automation (webdriver unset, realistic screen and cores) leaves no device tell the vector can see.",
    "The distributions are stated assumptions, not measured base rates; the calibrated probability holds only under them.",
  ],
};

if (import.meta.main) {
  const vector = DEVICE_RISK_VECTOR as never;
  const trained = trainAnalyzer("device_risk", vector, DEVICE_RISK_HANDSET, VERSION, readScenarioRows());
  ship(import.meta.dirname, vector, trained, CARD);
  console.log(JSON.stringify(trained.report.families));
}
