/**
 * The liveness node (product-spec §4): draws the node's challenges, reports progress on every
 * processed window, issues the challenges one response period apart, checks each open one
 * against the newest window, and once enough usable seconds are in (or the node's clock runs
 * out) asks the liveness analyzer for the outcome. It keeps the node's in-memory state; the
 * session DO owns the flow and gives it what it needs through `LivenessContext`.
 */
import { AnalyzerInputSchemas } from "../../lib/analyzer-contract.ts";
import type { WindowFeatures } from "../../lib/features.ts";
import type { FlowNode } from "../../lib/flow.ts";
import type { ChallengeAction, ServerMessage } from "../../lib/widget-protocol.ts";
import { analyzerBindings, callAnalyzer } from "./analyzer-fanout.ts";
import { FACE_WAIT_WINDOWS } from "./face-wait-node.ts";
import {
  CHALLENGE_RESPONSE_WINDOWS,
  drawChallenges,
  isUsableWindow,
  livenessOutcome,
  windowAnswersChallenge,
} from "./node-logic.ts";
import { livenessSlice } from "./slices.ts";

type LivenessNodeSpec = Extract<FlowNode, { type: "liveness" }>;

export interface LivenessState {
  node: LivenessNodeSpec;
  firstWindow: number;
  /** windows processed (tokenized or lost) when the node began: its clock */
  firstProcessed: number;
  challenges: ChallengeAction[];
  /** window index at which each issued challenge was shown, and whether it was answered */
  issued: { at: number; passed: boolean }[];
  deciding: boolean;
}

export interface LivenessContext {
  env: Env;
  send(message: ServerMessage): void;
  /** the session's tokenized windows so far, in order */
  windows(): readonly WindowFeatures[];
  /** windows processed so far, tokenized or lost */
  processed(): number;
  /** adds a decided node's challenges to the session's totals (for the report) */
  countChallenges(issued: number, passed: number): void;
  finishNode(node: FlowNode, outcome: string): Promise<void>;
}

/** Starts a liveness node: draws its challenges and announces it to the widget. */
export function startLiveness(ctx: LivenessContext, node: LivenessNodeSpec): LivenessState {
  const challenges = drawChallenges(node.challenges);
  const live: LivenessState = {
    node,
    firstWindow: ctx.windows().length,
    firstProcessed: ctx.processed(),
    challenges,
    issued: [],
    deciding: false,
  };
  ctx.send({
    type: "node",
    nodeId: node.id,
    nodeType: "liveness",
    challenges: challenges.length,
    minSeconds: node.minSeconds,
  });
  return live;
}

export async function progressLiveness(
  ctx: LivenessContext,
  live: LivenessState,
  index: number,
): Promise<void> {
  if (live.deciding) return;
  const nodeWindows = ctx.windows().slice(live.firstWindow, index);
  const usable = nodeWindows.filter(isUsableWindow).length;
  ctx.send({
    type: "progress",
    nodeId: live.node.id,
    usableSeconds: usable,
    requiredSeconds: live.node.minSeconds,
  });
  // Verify the challenge(s) still open against the newest window.
  const newest = nodeWindows.at(-1);
  live.issued.forEach((issued, i) => {
    const action = live.challenges[i];
    if (
      !issued.passed &&
      action &&
      newest &&
      index - issued.at <= CHALLENGE_RESPONSE_WINDOWS &&
      windowAnswersChallenge(action, newest)
    ) {
      issued.passed = true;
    }
  });
  // Issue the next challenge after one usable window, then one every response period.
  const nextChallenge = live.challenges[live.issued.length];
  const lastIssued = live.issued.at(-1);
  if (nextChallenge && usable >= 1 && (!lastIssued || index - lastIssued.at >= CHALLENGE_RESPONSE_WINDOWS)) {
    live.issued.push({ at: index, passed: false });
    ctx.send({
      type: "challenge",
      nodeId: live.node.id,
      index: live.issued.length - 1,
      action: nextChallenge,
    });
  }
  const challengesDone =
    live.issued.length === live.challenges.length &&
    (!lastIssued || live.issued.every((c) => c.passed || index - c.at >= CHALLENGE_RESPONSE_WINDOWS));
  const maxWindows =
    live.node.minSeconds + live.challenges.length * CHALLENGE_RESPONSE_WINDOWS + FACE_WAIT_WINDOWS;
  if (usable >= live.node.minSeconds && challengesDone) return decideLiveness(ctx, live, nodeWindows);
  // The node's clock counts lost windows too, so a tokenizer outage cannot stall it.
  if (ctx.processed() - live.firstProcessed >= maxWindows) {
    if (usable === 0) return ctx.finishNode(live.node, "no_face");
    return decideLiveness(ctx, live, nodeWindows);
  }
}

async function decideLiveness(
  ctx: LivenessContext,
  live: LivenessState,
  nodeWindows: WindowFeatures[],
): Promise<void> {
  live.deciding = true;
  const passed = live.issued.filter((c) => c.passed).length;
  ctx.countChallenges(live.issued.length, passed);
  const input = AnalyzerInputSchemas.liveness.parse(
    livenessSlice(nodeWindows, { issued: live.issued.length, passed }),
  );
  const result = await callAnalyzer(
    analyzerBindings(ctx.env).liveness,
    "liveness",
    input,
    Number(ctx.env.ANALYZER_TIMEOUT_MS),
  );
  await ctx.finishNode(live.node, livenessOutcome("error" in result ? null : result));
}
