/**
 * The fusion policy lib/fusion.ts ships, as calibrated by models/fusion/calibrate.ts on the corpus's
 * validation split (operating point and evidence below). Generated: do not edit by hand; rerun
 * `node models/fusion/calibrate.ts` or `npm run eval`. A TypeScript module rather than JSON so the
 * Worker bundle, Node and tsc all import it without import attributes.
 */
export const POLICY_FILE = {
  version: "fusion-policy-1.0.0",
  method: "fusion/1",
  date: "2026-11-26",
  operatingPoint: {
    split: "validation",
    rejectMaxBpcer: 0.03,
    reviewMaxBonaFideFlagged: 0.1,
    objective: "lowest thresholds meeting both (minimises APCER)",
    livenessConfidence: 1,
  },
  corpus: {
    manifestSha256: "513467e6cb103b1050b41e5a875e64a34dc690bce16d6466476540ea1f664c01",
    windows: 500,
  },
  liveness: {
    modelVersion: "liveness-trained-1.0.0",
    modelSha256: "532f26c97b3edf46fe325f9c148a38d9e5694ca834499930e8e7dfe7533c29dd",
  },
  validation: {
    bonaFide: 29,
    attacks: 80,
    bpcerReject: 0,
    flaggedReview: 0.06896551724137931,
    apcerReject: 0.25,
  },
  policy: {
    version: "fusion-policy-1.0.0",
    thresholds: {
      review: 47,
      reject: 53,
    },
    prior: 0.1,
    priorWeight: 1,
    minConfidence: 0.6,
    veto: {
      reviewConfidence: 0.5,
      rejectConfidence: 0.7,
    },
    analyzers: {
      liveness: {
        weight: 3,
        review: 0.6331,
        reject: 0.7039,
        required: true,
      },
      coercion: {
        weight: 1.5,
        review: 0.8,
        reject: null,
        required: false,
      },
      environment: {
        weight: 1,
        review: 0.9,
        reject: null,
        required: false,
      },
      behavior: {
        weight: 1,
        review: 0.9,
        reject: null,
        required: false,
      },
      device_risk: {
        weight: 1.2,
        review: 0.85,
        reject: null,
        required: false,
      },
      conversation: {
        weight: 1,
        review: 0.9,
        reject: null,
        required: false,
      },
    },
  },
} as const;
