/**
 * Trains the coercion model on the scenario corpus (`npm run corpus` first) and ships it:
 * `node models/coercion/train.ts` writes trained.json, model.onnx and card.md here. Fitting,
 * family comparison and calibration are shared with the other scenario analyzers
 * (models/train-lib.ts, models/train-run.ts); this file names the analyzer, its vector, its
 * hand-set baseline and what its card must say.
 */
import { COERCION_VECTOR } from "../../workers/analyzer-coercion/vector.ts";
import { readScenarioRows, ship, trainAnalyzer } from "../train-run.ts";
import { COERCION_HANDSET } from "./handset.ts";

export const VERSION = "coercion-trained-1.0.0";

export const CARD = {
  title: "coercion analyzer",
  worker: "workers/analyzer-coercion",
  folder: "models/coercion",
  scenarios:
    "Positives: *coached* sessions (a second synthetic voice whispers instructions before each reply, replies start 2.5-5.5 s after the prompt, and in half of them a second face \u2014 a still in a corner of the live clip \u2014 is in 60 % of the windows) and *duress* sessions (vocal-stress markers made with ffmpeg `vibrato`/`tremolo` on the reply, a subdued level, hesitations of 2.2-6 s). Negatives: genuine sessions and every other scenario kind (call-centre, virtual background, scripted, evasive, device and behaviour attacks).",
  failureModes: [
    "Vocal-stress features (pitch variability, jitter, shimmer) were learned from ffmpeg vibrato and tremolo on synthetic voices; real stress is subtler and also comes from nervousness, illness, accent and microphone quality.",
    "Gaze off screen does not occur in the simulated sessions (no clip shows a person reading off-screen), so `gaze_off_screen_mean` carries no learned evidence.",
    "A second face may be a child or partner present for harmless reasons; a coach off camera and out of earshot is invisible to every feature here.",
    "Slow replies also come from users with cognitive or motor impairments or poor connections (fairness review pending).",
  ],
};

if (import.meta.main) {
  const vector = COERCION_VECTOR as never;
  const trained = trainAnalyzer("coercion", vector, COERCION_HANDSET, VERSION, readScenarioRows());
  ship(import.meta.dirname, vector, trained, CARD);
  console.log(JSON.stringify(trained.report.families));
}
