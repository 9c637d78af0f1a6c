/**
 * Trains the behavior model on the scenario corpus (`npm run corpus` first) and ships it:
 * `node models/behavior/train.ts` writes trained.json, model.onnx and card.md here. Fitting,
 * family comparison and calibration are shared with the other scenario analyzers
 * (models/train-lib.ts, models/train-run.ts); this file names the analyzer, its vector, its
 * hand-set baseline and what its card must say.
 */
import { BEHAVIOR_VECTOR } from "../../workers/analyzer-behavior/vector.ts";
import { readScenarioRows, ship, trainAnalyzer } from "../train-run.ts";
import { BEHAVIOR_HANDSET } from "./handset.ts";

export const VERSION = "behavior-trained-1.0.0";

export const CARD = {
  title: "behavior analyzer",
  worker: "workers/analyzer-behavior",
  folder: "models/behavior",
  scenarios:
    "Positives: *bot* sessions (uniform pointer and key timing, interaction either absent or very dense, replies on a fixed clock) and *baseline-anomaly* sessions (the same subject far off their own baseline: 2.5-4.5\u00d7 their usual pointer and typing variability, 3-9 focus losses, replies over 10 s, half of the windows showing a frozen, replayed head taken from the liveness corpus's print and paste windows). Interaction counters are drawn from labelled distributions (scripts/corpus/scenarios/metadata.ts) around a per-subject baseline; head motion comes from tokenized video. Negatives: genuine sessions and every other kind.",
  failureModes: [
    "The subject's baseline shapes the simulated data but is not an input: the model judges against the population, so a person whose normal behaviour is unusual is flagged, and a bot imitating the population is not.",
    "Interaction counters are simulated from stated distributions, not recorded from people; real assistive technology (switch access, screen readers, voice control) produces uniform or absent pointer input.",
    "Head-motion features come from two men's webcam clips; other people, cameras and frame rates move differently.",
  ],
};

if (import.meta.main) {
  const vector = BEHAVIOR_VECTOR as never;
  const trained = trainAnalyzer("behavior", vector, BEHAVIOR_HANDSET, VERSION, readScenarioRows());
  ship(import.meta.dirname, vector, trained, CARD);
  console.log(JSON.stringify(trained.report.families));
}
