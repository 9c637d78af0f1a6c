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
import type { ChallengeTally } from "../../lib/fusion.ts";
import type { ChallengeAction, ServerMessage } from "../../lib/widget-protocol.ts";
import { analyzerBindings, callAnalyzer } from "./analyzer-fanout.ts";
import { FACE_WAIT_WINDOWS } from "./face-wait-node.ts";
import {
  CHALLENGE_RESPONSE_WINDOWS,
  drawChallenges,
  isUsableWindow,
  livenessOutcome,
  referencePose,
  responsePeriod,
  windowAnswersChallenge,
  windowContradictsChallenge,
} from "./node-logic.ts";
import { livenessSlice } from "./slices.ts";
import { WINDOW_MS } from "./window-assembler.ts";

type LivenessNodeSpec = Extract<FlowNode, { type: "liveness" }>;

export interface LivenessState {
  node: LivenessNodeSpec;
  firstWindow: number;
  /** windows processed (tokenized or lost) when the node began: its clock */
  firstProcessed: number;
  challenges: ChallengeAction[];
  /**
   * Each issued challenge: the capture time of the newest sample when it was sent (its response
   * period, node-logic.ts `responsePeriod`), whether it was answered or contradicted (the opposite
   * movement came first: failed for good), and whether the widget has been told
   * (`challenge_result`: at once when decided, at the period's end when nothing happened).
   */
  issued: { promptedAtMs: number; passed: boolean; contradicted: boolean; told: boolean }[];
  deciding: boolean;
}

export interface LivenessContext {
  env: Env;
  send(message: ServerMessage): void;
  /** the session's tokenized windows so far, in order */
  windows(): readonly WindowFeatures[];
  /** windows processed so far, tokenized or lost */
  processed(): number;
  /** capture time of the newest media sample received (window-assembler.ts `latestMs`) */
  capturedMs(): number;
  /** adds a decided node's challenges to the session's totals (for the report) */
  countChallenges(tally: Required<ChallengeTally>): void;
  finishNode(node: FlowNode, outcome: string): Promise<void>;
}

/** Windows past the node's limit it waits for a shown challenge's period to be tokenized. */
const MAX_CHALLENGE_LAG_WINDOWS = 10;

/** Starts a liveness node: draws its challenges and announces it to the widget. */
export function startLiveness(ctx: LivenessContext, node: LivenessNodeSpec): LivenessState {
  const challenges = drawChallenges(node.challenges, node.actions);
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
  // Verify the challenge(s) still open against the newest window, if it lies in their response
  // period, each from the pose of the newest usable window captured before that period.
  const newest = nodeWindows.at(-1);
  const over = (c: LivenessState["issued"][number]): boolean =>
    newest !== undefined && newest.startMs >= responsePeriod(c.promptedAtMs).endMs - WINDOW_MS;
  live.issued.forEach((issued, i) => {
    const action = live.challenges[i];
    const period = responsePeriod(issued.promptedAtMs);
    if (
      !issued.told &&
      action &&
      newest &&
      newest.startMs >= period.startMs &&
      newest.startMs < period.endMs
    ) {
      const before = referencePose(nodeWindows, period.startMs);
      // The opposite movement first: a recording that cycles through every movement would
      // otherwise answer any prompt; the same window showing both is not an answer either.
      if (windowContradictsChallenge(action, newest, before)) issued.contradicted = true;
      else if (windowAnswersChallenge(action, newest, before)) issued.passed = true;
    }
    // Tell the person as soon as it is decided: a confirmation when answered, the prompt taken
    // away when its time is up or the movement went the other way.
    if (!issued.told && (issued.passed || issued.contradicted || over(issued))) {
      issued.told = true;
      ctx.send({
        type: "challenge_result",
        nodeId: live.node.id,
        index: i,
        passed: issued.passed,
        reason: issued.passed ? null : issued.contradicted ? "opposite" : "time_up",
      });
    }
  });
  // Issue the next challenge after one usable window, then each once the one before has had its
  // whole response period.
  const maxWindows =
    live.node.minSeconds + live.challenges.length * CHALLENGE_RESPONSE_WINDOWS + FACE_WAIT_WINDOWS;
  const elapsed = ctx.processed() - live.firstProcessed;
  const nextChallenge = live.challenges[live.issued.length];
  const lastIssued = live.issued.at(-1);
  // none issued at or past the node's limit: it could not be judged before the node decides
  if (nextChallenge && usable >= 1 && (!lastIssued || over(lastIssued)) && elapsed < maxWindows) {
    live.issued.push({ promptedAtMs: ctx.capturedMs(), passed: false, contradicted: false, told: false });
    ctx.send({
      type: "challenge",
      nodeId: live.node.id,
      index: live.issued.length - 1,
      action: nextChallenge,
    });
  }
  const challengesDone =
    live.issued.length === live.challenges.length &&
    live.issued.every((c) => c.passed || c.contradicted || over(c));
  if (usable >= live.node.minSeconds && challengesDone) return decideLiveness(ctx, live, nodeWindows);
  // The node's clock counts lost windows too, so a tokenizer outage cannot stall it. A challenge
  // whose response period (capture time) the tokenizer has not caught up with yet gets up to
  // MAX_CHALLENGE_LAG_WINDOWS more, so a lagging tokenizer does not fail a person who answered.
  const waiting = live.issued.some((c) => !c.passed && !c.contradicted && !over(c));
  if (elapsed >= maxWindows && (!waiting || elapsed >= maxWindows + MAX_CHALLENGE_LAG_WINDOWS)) {
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
  const tally = challengeTally(live);
  ctx.countChallenges(tally);
  const input = AnalyzerInputSchemas.liveness.parse(livenessSlice(nodeWindows, tally));
  const result = await callAnalyzer(
    analyzerBindings(ctx.env).liveness,
    "liveness",
    input,
    Number(ctx.env.ANALYZER_TIMEOUT_MS),
  );
  await ctx.finishNode(live.node, livenessOutcome("error" in result ? null : result, tally));
}

/**
 * A visit's challenges so far, for the node's branch and fusion's step 5. Every drawn challenge
 * counts, shown or not: one that never went out (the face hidden until late, a tokenizer made to
 * lag) was not answered either. A head movement not answered is counted apart: it fails the
 * challenges on its own (lib/fusion.ts `challengesFailed`).
 */
export function challengeTally(live: LivenessState): Required<ChallengeTally> {
  const answered = (i: number): boolean => live.issued[i]?.passed === true;
  return {
    issued: live.challenges.length,
    passed: live.challenges.filter((_, i) => answered(i)).length,
    movementsMissed: live.challenges.filter((a, i) => a !== "blink" && !answered(i)).length,
  };
}
