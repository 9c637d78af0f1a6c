/**
 * The hand-set first-version device_risk model (domain-reasoned weights on standardised features,
 * never fitted to data), kept only as the baseline the trained model is compared with in
 * card.md (models/device-risk/train.ts). The Worker ships the trained model.
 */
import { DEVICE_RISK_VECTOR } from "../../workers/analyzer-device-risk/vector.ts";
import { defineModel } from "../build-lib.ts";

// mean defaults to each feature's neutral value; weight is logit per standard deviation.
export const DEVICE_RISK_HANDSET = defineModel(DEVICE_RISK_VECTOR, "device-risk-handset-1.0.0", -2.5, {
  webdriver: { std: 0.5, weight: 1.6 },
  virtual_camera: { std: 0.5, weight: 1.4 },
  datacenter_asn: { std: 0.5, weight: 0.9 },
  timezone_gap_h: { std: 3, weight: 0.8 },
  odd_hour: { std: 0.5, weight: 0.35 },
  headless_profile: { std: 0.5, weight: 1.0 },
  device_signals_missing: { std: 0.5, weight: 0.6 },
});
