/**
 * The fusion policy lib/fusion.ts ships, as calibrated by models/fusion/calibrate.ts on the corpus's
 * validation split (operating point and evidence below). Generated: do not edit by hand; rerun
 * `node models/fusion/calibrate.ts` or `npm run eval`. A TypeScript module rather than JSON so the
 * Worker bundle, Node and tsc all import it without import attributes.
 */
export const POLICY_FILE = {
  version: "fusion-policy-2.0.0",
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
    manifestSha256: "7f332da60152b32fffa916d841bf530c01992ea31383381abb61f83d38521052",
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
  evidence: {
    rule: {
      minVetoAuc: 0.95,
      maxVetoFalseAlarmUpper: 0.1,
    },
    analyzers: [
      {
        analyzer: "coercion",
        modelVersion: "coercion-trained-1.0.0",
        validationAuc: 0.9831730769230769,
        validationRisky: 8,
        validationOther: 52,
        falseAlarmsAtVeto: 0,
        falseAlarmUpper: 0.06879223612386234,
        hitsAtVeto: 4,
        weight: 1.45,
        veto: true,
      },
      {
        analyzer: "environment",
        modelVersion: "environment-trained-1.0.0",
        validationAuc: 0.9652777777777778,
        validationRisky: 12,
        validationOther: 48,
        falseAlarmsAtVeto: 0,
        falseAlarmUpper: 0.07410012966611748,
        hitsAtVeto: 4,
        weight: 0.93,
        veto: true,
      },
      {
        analyzer: "behavior",
        modelVersion: "behavior-trained-1.0.0",
        validationAuc: 0.875,
        validationRisky: 8,
        validationOther: 52,
        falseAlarmsAtVeto: 0,
        falseAlarmUpper: 0.06879223612386234,
        hitsAtVeto: 4,
        weight: 0.75,
        veto: false,
      },
      {
        analyzer: "device_risk",
        modelVersion: "device-risk-trained-1.0.0",
        validationAuc: 1,
        validationRisky: 16,
        validationOther: 44,
        falseAlarmsAtVeto: 0,
        falseAlarmUpper: 0.08029560375848066,
        hitsAtVeto: 13,
        weight: 1.2,
        veto: true,
      },
      {
        analyzer: "conversation",
        modelVersion: "conversation-trained-2.0.0",
        validationAuc: 0.9711538461538461,
        validationRisky: 8,
        validationOther: 52,
        falseAlarmsAtVeto: 0,
        falseAlarmUpper: 0.06879223612386234,
        hitsAtVeto: 3,
        weight: 0.94,
        veto: true,
      },
    ],
  },
  policy: {
    version: "fusion-policy-2.0.0",
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
        weight: 1.45,
        review: 0.8,
        reject: null,
        required: false,
      },
      environment: {
        weight: 0.93,
        review: 0.9,
        reject: null,
        required: false,
      },
      behavior: {
        weight: 0.75,
        review: null,
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
        weight: 0.94,
        review: 0.9,
        reject: null,
        required: false,
      },
    },
  },
} as const;
