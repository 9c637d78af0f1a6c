/**
 * The recognition and face_compare nodes: both wait for the user's face. Recognition hands
 * the node's window fingerprints to the recognition probe (recognition.ts) until it decides or
 * the wait runs out; face_compare has no tokenized reference to compare with yet, so it ends
 * `unavailable` once a face was seen or the wait runs out. The node's clock counts lost windows
 * too, so a tokenizer outage cannot stall the flow.
 */
import type { WindowFeatures } from "../../lib/features.ts";
import type { FlowNode } from "../../lib/flow.ts";
import type { ServerMessage } from "../../lib/widget-protocol.ts";
import { isUsableWindow } from "./node-logic.ts";
import type { RecognitionProbe } from "./recognition.ts";
import type { SessionConfig } from "./session-state.ts";

/** A recognition or camera node waits this long for a face before `no_face`. */
export const FACE_WAIT_WINDOWS = 10;

export interface FaceWaitState {
  node: Extract<FlowNode, { type: "recognition" | "face_compare" }>;
  firstWindow: number;
  firstProcessed: number;
}

export interface FaceWaitContext {
  env: Env;
  send(message: ServerMessage): void;
  /** the session's config, while it has one */
  config(): SessionConfig | undefined;
  /** the session's tokenized windows so far, in order */
  windows(): readonly WindowFeatures[];
  /** windows processed so far, tokenized or lost */
  processed(): number;
  probe: RecognitionProbe;
  finishNode(node: FlowNode, outcome: string): Promise<void>;
}

/** Starts waiting for a face and announces the node to the widget. */
export function startFaceWait(ctx: FaceWaitContext, node: FaceWaitState["node"]): FaceWaitState {
  const wait = { node, firstWindow: ctx.windows().length, firstProcessed: ctx.processed() };
  ctx.send({ type: "node", nodeId: node.id, nodeType: node.type });
  return wait;
}

export async function progressFaceWait(
  ctx: FaceWaitContext,
  wait: FaceWaitState,
  index: number,
): Promise<void> {
  const config = ctx.config();
  if (wait.node.type === "recognition" && config) {
    const probeCtx = { ...config, nodeId: wait.node.id };
    const outcome = await ctx.probe.progress(
      ctx.env,
      probeCtx,
      wait.firstProcessed,
      ctx.processed(),
      FACE_WAIT_WINDOWS,
    );
    return outcome ? ctx.finishNode(wait.node, outcome) : undefined;
  }
  const nodeWindows = ctx.windows().slice(wait.firstWindow, index);
  const faces = nodeWindows.filter(isUsableWindow).length;
  // face_compare has no tokenized reference to compare with yet.
  if (faces >= 2) return ctx.finishNode(wait.node, "unavailable");
  if (ctx.processed() - wait.firstProcessed >= FACE_WAIT_WINDOWS)
    return ctx.finishNode(wait.node, "unavailable");
}
