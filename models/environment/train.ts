/**
 * Trains the environment model on the scenario corpus (`npm run corpus` first) and ships it:
 * `node models/environment/train.ts` writes trained.json, model.onnx and card.md here. Fitting,
 * family comparison and calibration are shared with the other scenario analyzers
 * (models/train-lib.ts, models/train-run.ts); this file names the analyzer, its vector, its
 * hand-set baseline and what its card must say.
 */
import { ENVIRONMENT_VECTOR } from "../../workers/analyzer-environment/vector.ts";
import { readScenarioRows, ship, trainAnalyzer } from "../train-run.ts";
import { ENVIRONMENT_HANDSET } from "./handset.ts";

export const VERSION = "environment-trained-1.0.0";

export const CARD = {
  title: "environment analyzer",
  worker: "workers/analyzer-environment",
  folder: "models/environment",
  scenarios:
    "Positives: *call-centre* sessions (two other synthetic voices talking continuously 12-20 dB below the speaker, low-passed, over a louder pink-noise bed), *virtual-background* sessions (the person's region of the live clip keyed onto a blurred frozen frame with a shifted hue, tokenized by the service; 60 % with injected, noise-free audio) and *locale-mismatch* sessions (browser time zone far from the IP's). Negatives: genuine sessions (quiet pink-noise room, 6 % travelling within \u00b11 h) and every other kind.",
  failureModes: [
    "**Below target on the held-out clip, and the figure is test-informed.** The test clip (franck) reads 20 kK colour temperature (the tokenizer's clamp) against 5.1 ± 0.17 kK in training, about 90 training standard deviations away. The first trained version, without input clamping, saturated every test session to a score of about 1 (test ROC AUC 0.47); clamping inputs to the training range (models/build-lib.ts) was added after seeing that, so the test ROC AUC in this card is optimistic. It stays below 0.95 because noise mismatch and background motion shift with the camera as well: one clip per split cannot teach camera invariance. More clips per split, or features normalised per session, are needed before this model is trusted.",
    "Image features (colour temperature, noise mismatch, background motion) differ more between the three webcam clips than between attack and genuine windows of one clip; a model can learn the clip, and the test clip (franck) is brighter and warmer than the training one.",
    "Virtual backgrounds here are one blurred frozen frame; real tools segment per frame, blur or animate the background and add motion.",
    "Quiet offices, open-plan homes and TV in the background look like call-centre babble; travellers and VPN users show a time-zone skew.",
  ],
};

if (import.meta.main) {
  const vector = ENVIRONMENT_VECTOR as never;
  const trained = trainAnalyzer("environment", vector, ENVIRONMENT_HANDSET, VERSION, readScenarioRows());
  ship(import.meta.dirname, vector, trained, CARD);
  console.log(JSON.stringify(trained.report.families));
}
