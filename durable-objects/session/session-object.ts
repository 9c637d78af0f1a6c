/**
 * The per-session Durable Object: runs the flow as a state machine over the widget's
 * WebSocket, groups media into windows, sends them to the tokenization service and keeps only
 * the tokenized features, in memory. When the flow ends (or the session times out, is
 * cancelled, or breaks the protocol) it calls the six analyzers in parallel, fuses their
 * results, writes the report to D1 and emits the completion event — exactly once.
 *
 * Persisted in the DO's SQLite: only non-biometric state (config, node position, outcomes,
 * timings) so an alarm after an eviction can still end the session (product-spec §7). The
 * WebSocket uses the non-hibernating `accept()`: hibernation would drop the in-memory buffer
 * (platform-notes). RPC-first (house-style 6): `begin`, `cancel`; `fetch` only upgrades.
 *
 * This class is the orchestrator: the RPC methods, the upgrade, the flow's node transitions
 * and the wiring. The parts live beside it, each given an explicit context: session-state.ts
 * (persisted state), client-messages.ts (inbound messages), window-pipeline.ts (tokenization
 * and in-order processing), liveness-node.ts, conversation-node.ts, face-wait-node.ts, and
 * session-ending.ts (the end, its retries and the alarm).
 */
import { DurableObject } from "cloudflare:workers";
import type { WindowFeatures, WindowTranscript } from "../../lib/features.ts";
import { type FlowNode, outcomesOf } from "../../lib/flow.ts";
import type { ChallengeTally } from "../../lib/fusion.ts";
import { assertPlacement } from "../../lib/residency.ts";
import { CloseCode, type CloseCodeValue, PROTOCOL, type ServerMessage } from "../../lib/widget-protocol.ts";
import { ClientMessages } from "./client-messages.ts";
import type { Ending } from "./completion.ts";
import { ConversationNode } from "./conversation-node.ts";
import { DeferredAnalysis } from "./deferred-analysis.ts";
import {
  type FaceWaitContext,
  type FaceWaitState,
  progressFaceWait,
  startFaceWait,
} from "./face-wait-node.ts";
import {
  challengeTally,
  type LivenessContext,
  type LivenessState,
  progressLiveness,
  startLiveness,
} from "./liveness-node.ts";
import { evaluateDataValidation } from "./node-logic.ts";
import { RecognitionProbe } from "./recognition.ts";
import { ResidencyLedger } from "./residency-ledger.ts";
import { SessionEnding } from "./session-ending.ts";
import { type Persisted, type SessionConfig, SessionConfigSchema, SessionStore } from "./session-state.ts";
import { WindowAssembler } from "./window-assembler.ts";
import { WindowPipeline } from "./window-pipeline.ts";

export class SessionObject extends DurableObject<Env> {
  #store = new SessionStore(this.ctx.storage);
  #socket: WebSocket | null = null;
  #assembler = new WindowAssembler();
  #liveness: LivenessState | null = null;
  /** the conversation node, the report's transcript and the dialogue's turns */
  readonly #conversation = new ConversationNode({
    env: this.env,
    send: (message) => this.#send(message),
    state: () => this.#state,
    windowCount: () => this.#pipeline.windows.length,
    processed: () => this.#pipeline.processed,
    target: (config) => this.#residency.target(this.env, config),
    advance: (node, outcome) => this.#advance(node, outcome),
  });
  #faceWait: FaceWaitState | null = null;
  /** fingerprints of a recognition node's windows (recognition.ts); memory only */
  #probe = new RecognitionProbe();
  #lastActivity = Date.now();
  /** the widget's messages: rate limit, validation, media decoding (client-messages.ts) */
  readonly #messages = new ClientMessages({
    running: () => this.#state?.phase === "running",
    touch: () => {
      this.#lastActivity = Date.now();
    },
    send: (message) => this.#send(message),
    fail: (code, errorCode, message) => this.#fail(code, errorCode, message),
    assembler: this.#assembler,
    dispatch: (window) => this.#pipeline.dispatch(window),
    currentNode: () => this.#currentNode(),
    advance: (node, outcome) => this.#advance(node, outcome),
  });
  #challengeStats: Required<ChallengeTally> = { issued: 0, passed: 0, movementsMissed: 0 };
  #challengeVisits: Required<ChallengeTally>[] = [];
  /** which region tokenized this session's windows (data residency) */
  #residency = new ResidencyLedger();
  /** bench baseline only (ANALYSIS_MODE = "deferred"): windows held until the end; null = streaming */
  #deferred = DeferredAnalysis.fromEnv(this.env);
  /** windows to the tokenizer and their features, in order, to the nodes (window-pipeline.ts) */
  readonly #pipeline = new WindowPipeline({
    env: this.env,
    config: () => this.#state?.config,
    assembler: this.#assembler,
    deferred: this.#deferred,
    residency: this.#residency,
    probe: this.#probe,
    captureReply: (window) => this.#conversation.captureReply(window),
    wantFingerprint: () => ["recognition", "face_compare"].includes(this.#currentNode()?.type ?? ""),
    send: (message) => this.#send(message),
    fail: (code, errorCode, message) => this.#fail(code, errorCode, message),
    onWindow: (features, transcript) => this.#onWindow(features, transcript),
  });

  /** what the liveness and face-wait nodes read and call back */
  readonly #nodeContext: LivenessContext & FaceWaitContext = {
    env: this.env,
    send: (message) => this.#send(message),
    config: () => this.#state?.config,
    windows: () => this.#pipeline.windows,
    processed: () => this.#pipeline.processed,
    capturedMs: () => this.#assembler.latestMs,
    probe: this.#probe,
    countChallenges: (tally) => this.#countChallenges(tally),
    finishNode: (node, outcome) => this.#finishNode(node, outcome),
  };

  /** the session's end, its completion retries and the alarm (session-ending.ts) */
  readonly #ending = new SessionEnding({
    env: this.env,
    storage: this.ctx.storage,
    store: this.#store,
    connected: () => this.#socket !== null,
    lastActivity: () => this.#lastActivity,
    stopNodes: () => {
      // A liveness node the session ended in still counts its challenges (drawn, answered so far):
      // leaving mid-challenge must not erase a failure (lib/fusion.ts step 5).
      if (this.#liveness && !this.#liveness.deciding) {
        this.#countChallenges(challengeTally(this.#liveness));
      }
      this.#liveness = null;
      this.#conversation.stop();
      this.#faceWait = null;
      this.#probe.clear();
    },
    settleWindows: () => this.#pipeline.settle(),
    evidence: (state) => ({
      windows: this.#pipeline.windows,
      challenges: this.#challengeStats,
      challengeVisits: this.#challengeVisits,
      device: this.#messages.device,
      network: state.config.network,
      behavior: this.#messages.behavior,
      turns: this.#conversation.turns,
      transcript: this.#conversation.transcript,
      answerDigests: this.#conversation.answerDigests,
      repetitionFailures: this.#conversation.repetitionFailures,
      sessionSeconds: (Date.now() - state.startedAt) / 1000,
      tokenizerFailures: this.#pipeline.tokenizerFailures,
      shedWindows: this.#pipeline.shedWindows,
      residency: this.#residency.report(this.ctx.id, this.env, state.config),
    }),
    forgetWindows: () => this.#pipeline.forget(),
    send: (message) => this.#send(message),
    closeSocket: (code, reason) => {
      if (code !== null) {
        try {
          this.#socket?.close(code, reason);
        } catch {
          // already closed
        }
      }
      this.#socket = null;
    },
  });

  get #state(): Persisted | null {
    return this.#store.current;
  }

  #load(): Promise<Persisted | null> {
    return this.#store.load();
  }

  #save(): Promise<void> {
    return this.#store.save();
  }

  /** Called by the edge once the client secret has been consumed. Idempotent. */
  async begin(config: SessionConfig): Promise<void> {
    const existing = await this.#load();
    if (existing) return;
    const parsed = SessionConfigSchema.parse(config);
    // Residency: never run a session in an object outside its zone's jurisdiction.
    assertPlacement(this.ctx.id, this.env, parsed);
    this.#store.current = {
      config: parsed,
      phase: "waiting",
      currentNodeId: null,
      visits: [],
      startedAt: Date.now(),
    };
    await this.#save();
    await this.#ending.armAlarm();
  }

  /** Ends a running session on the integrator's request (POST /v1/sessions/{id}/cancel). */
  async cancel(reason: "cancelled"): Promise<void> {
    const state = await this.#load();
    if (!state || state.phase === "done") return;
    await this.#end({ status: "incomplete", reason }, CloseCode.sessionEnded);
  }

  override async fetch(request: Request): Promise<Response> {
    const state = await this.#load();
    if (request.headers.get("upgrade")?.toLowerCase() !== "websocket")
      return new Response(null, { status: 426 });
    if (state?.phase !== "waiting" || this.#socket) {
      // Single connection per session: a second upgrade is refused with a defined close code.
      const pair = new WebSocketPair();
      pair[1].accept();
      pair[1].close(CloseCode.sessionEnded, "session already connected or ended");
      return new Response(null, {
        status: 101,
        webSocket: pair[0],
        headers: { "sec-websocket-protocol": PROTOCOL },
      });
    }
    const pair = new WebSocketPair();
    const socket = pair[1];
    socket.accept();
    // From compatibility date 2026-03-17 binary messages arrive as Blob otherwise (platform-notes).
    (socket as WebSocket & { binaryType: string }).binaryType = "arraybuffer";
    this.#socket = socket;
    socket.addEventListener("message", (event) => {
      this.#messages
        .receive(event.data)
        .catch(() => this.#fail(CloseCode.internal, "ERR_INTERNAL", "internal error"));
    });
    socket.addEventListener("close", () => {
      this.#socket = null;
      if (this.#state?.phase === "running") {
        this.#end({ status: "incomplete", reason: "disconnected" }, null).catch(() => undefined);
      }
    });
    state.phase = "running";
    await this.#save();
    this.#send({
      type: "ready",
      sessionId: state.config.sessionId,
      protocol: PROTOCOL,
      locale: state.config.locale,
    });
    const start = state.config.flow.find((n) => n.type === "start");
    if (start) await this.#enter(start);
    return new Response(null, {
      status: 101,
      webSocket: pair[0],
      headers: { "sec-websocket-protocol": PROTOCOL },
    });
  }

  override async alarm(): Promise<void> {
    await this.#ending.alarm();
  }

  #send(message: ServerMessage): void {
    try {
      this.#socket?.send(JSON.stringify(message));
    } catch {
      // the socket closed under us; the close handler ends the session
    }
  }

  /** Ends the session because of a client or server fault, with a typed close code. */
  #fail(code: CloseCodeValue, errorCode: string, message: string): void {
    this.#send({ type: "error", code: errorCode, message });
    const reason = code === CloseCode.internal ? "error" : "protocol_error";
    this.#end({ status: "incomplete", reason }, code).catch(() => undefined);
  }

  #currentNode(): FlowNode | undefined {
    const id = this.#state?.currentNodeId;
    return this.#state?.config.flow.find((n) => n.id === id);
  }

  async #onWindow(features: WindowFeatures | null, transcript?: WindowTranscript | null): Promise<void> {
    if (this.#state?.phase !== "running") return;
    const index = this.#pipeline.windows.length;
    if (this.#liveness) await progressLiveness(this.#nodeContext, this.#liveness, index);
    if (this.#conversation.active) await this.#conversation.progress(features, transcript);
    if (this.#faceWait) await progressFaceWait(this.#nodeContext, this.#faceWait, index);
  }

  async #enter(node: FlowNode): Promise<void> {
    const state = this.#state;
    if (state?.phase !== "running") return;
    state.currentNodeId = node.id;
    await this.#save();
    switch (node.type) {
      case "start":
        return this.#advance(node, "next");
      case "end":
        return this.#end({ status: "complete", reason: null }, CloseCode.normal);
      case "permissions":
        this.#send({
          type: "node",
          nodeId: node.id,
          nodeType: "permissions",
          camera: node.camera,
          microphone: node.microphone,
        });
        return;
      case "data_validation":
        return this.#advance(node, evaluateDataValidation(node, state.config));
      case "enter_email":
        this.#send({ type: "node", nodeId: node.id, nodeType: "enter_email", prompt: node.prompt });
        return;
      case "liveness":
        this.#liveness = startLiveness(this.#nodeContext, node);
        return;
      case "conversation":
        return this.#conversation.start(node);
      case "recognition":
      case "face_compare":
        this.#faceWait = startFaceWait(this.#nodeContext, node);
        return;
    }
  }

  async #advance(node: FlowNode, outcome: string): Promise<void> {
    const state = this.#state;
    if (state?.phase !== "running" || state.currentNodeId !== node.id) return;
    state.visits.push({ id: node.id, type: node.type, outcome, at: Date.now() });
    const edge = outcomesOf(node).find((e) => e.outcome === outcome);
    const next = state.config.flow.find((n) => n.id === edge?.next);
    if (!next) {
      // validateFlow guarantees every outcome resolves; reaching this is a bug.
      await this.#end({ status: "incomplete", reason: "error" }, CloseCode.internal);
      return;
    }
    await this.#enter(next);
  }

  /** One liveness visit's challenges, added to the session's totals and kept per visit. */
  #countChallenges(visit: Required<ChallengeTally>): void {
    if (visit.issued <= 0) return;
    const total = this.#challengeStats;
    this.#challengeStats = {
      issued: total.issued + visit.issued,
      passed: total.passed + visit.passed,
      movementsMissed: total.movementsMissed + visit.movementsMissed,
    };
    this.#challengeVisits.push(visit);
  }

  async #finishNode(node: FlowNode, outcome: string): Promise<void> {
    if (this.#liveness?.node.id === node.id) this.#liveness = null;
    if (this.#faceWait?.node.id === node.id) this.#faceWait = null;
    await this.#advance(node, outcome);
  }

  #end(ending: Ending, closeCode: CloseCodeValue | null): Promise<void> {
    return this.#ending.end(ending, closeCode);
  }
}
