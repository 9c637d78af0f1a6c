/**
 * Decision latency: from the moment the user's last frame leaves the client to the moment the
 * signed `session.completed` webhook reaches the integrator's receiver. Each session streams
 * `seconds` of real-time capture during an `enter_email` step and then submits it, which ends
 * the flow (platform.ts DECISION_FLOW). Sessions alternate between the streaming platform and
 * the deferred baseline (same media, same length), so both see the same background load.
 *
 * Also recorded per session, to say where the time goes: last frame → the DO's `complete`
 * message (last window tokenized, six analyzers, fusion, the D1 write) and `complete` → webhook
 * (the queue's batching and the delivery).
 */
import type { WebhookReceiver } from "../test/support/webhook-receiver.ts";
import { type AnalysisMode, type BenchPlatform, DECISION_FLOW } from "./platform.ts";
import { BenchClient, type StreamMedia } from "./session-client.ts";

export interface DecisionSample {
  mode: AnalysisMode;
  /** last frame sent → webhook received, ms */
  webhookMs: number;
  /** last frame sent → the DO's `complete` message, ms */
  completeMs: number;
  slowDowns: number;
  /** upstream kbit/s over the capture */
  kbps: number;
  status: string;
}

export async function decisionSession(
  bp: BenchPlatform,
  receiver: WebhookReceiver,
  media: StreamMedia,
  seconds: number,
  offset: number,
): Promise<DecisionSample> {
  const { sessionId, secret } = await bp.createSession(DECISION_FLOW);
  const client = await BenchClient.connect(bp.platform.url, secret);
  try {
    await client.waitFor((m) => m.type === "node" && m.nodeType === "enter_email");
    const streamed = await client.stream(media, seconds, offset);
    const hook = receiver
      .waitFor(
        (w) =>
          w.json.data.session.id === sessionId &&
          (w.json.type === "session.completed" || w.json.type === "session.incomplete"),
        90_000,
      )
      .then((w) => ({ at: performance.now(), type: w.json.type }));
    const complete = client.waitFor((m) => m.type === "complete", 90_000);
    client.send({ type: "email", value: "bench@example.com" });
    const [h, c] = await Promise.all([hook, complete]);
    return {
      mode: bp.mode,
      webhookMs: h.at - streamed.lastFrameAt,
      completeMs: c.at - streamed.lastFrameAt,
      slowDowns: client.received.filter((t) => t.message.type === "slow_down").length,
      kbps: (streamed.bytes * 8) / 1000 / seconds,
      status: h.type,
    };
  } finally {
    client.close();
  }
}
