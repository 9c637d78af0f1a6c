/**
 * Device-risk model parameters. Binary flags use std 0.5, so a set flag adds 2 × weight to the
 * logit: webdriver +3.2, virtual camera +2.8, headless profile +2.0, datacenter IP +1.8, missing
 * device signals +1.2, odd hour +0.7; a 6 h time zone gap adds +1.6.
 * First version: hand-set, domain-reasoned weights on standardised features (see card.md); the
 * evaluation issue replaces them with a trained model. Feature order comes from
 * workers/analyzer-device-risk/vector.ts. Run `node models/device-risk/build.ts` to rewrite model.onnx.
 */

import { DEVICE_RISK_VECTOR } from "../../workers/analyzer-device-risk/vector.ts";
import { defineModel, writeModel } from "../build-lib.ts";

// mean defaults to each feature's neutral value; weight is logit per standard deviation.
export const DEVICE_RISK_MODEL = defineModel(DEVICE_RISK_VECTOR, "device-risk-handset-1.0.0", -2.5, {
  webdriver: { std: 0.5, weight: 1.6 },
  virtual_camera: { std: 0.5, weight: 1.4 },
  datacenter_asn: { std: 0.5, weight: 0.9 },
  timezone_gap_h: { std: 3, weight: 0.8 },
  odd_hour: { std: 0.5, weight: 0.35 },
  headless_profile: { std: 0.5, weight: 1.0 },
  device_signals_missing: { std: 0.5, weight: 0.6 },
});

if (import.meta.main) writeModel(DEVICE_RISK_MODEL, import.meta.dirname);
