/**
 * The session's windows from the assembler to the nodes: each closed window goes to the
 * tokenization service (at most MAX_INFLIGHT_WINDOWS at once; beyond that it is shed rather
 * than buffered without bound, and the widget is told to slow down), and the results are
 * processed strictly in sequence order, one at a time, whether tokenized or lost. Only the
 * tokenized features are kept, in memory; the media buffers go back to the assembler (which
 * zeroizes them) as soon as their request settles. Lost windows are counted for the report's
 * degradation, never fatal.
 */
import type { WindowFeatures, WindowTranscript } from "../../lib/features.ts";
import { CloseCode, type CloseCodeValue, type ServerMessage } from "../../lib/widget-protocol.ts";
import type { DeferredAnalysis } from "./deferred-analysis.ts";
import type { RecognitionProbe } from "./recognition.ts";
import type { ResidencyLedger } from "./residency-ledger.ts";
import type { SessionConfig } from "./session-state.ts";
import { TokenizerError, tokenizeWindow } from "./tokenizer-client.ts";
import type { MediaWindow, WindowAssembler } from "./window-assembler.ts";

/** Tokenizer requests in flight per session; more would only queue at the service. */
export const MAX_INFLIGHT_WINDOWS = 2;

export interface WindowPipelineContext {
  env: Env;
  /** the session's config, while it has one */
  config(): SessionConfig | undefined;
  assembler: WindowAssembler;
  /** bench baseline only (ANALYSIS_MODE = "deferred"): windows held until the end */
  deferred: DeferredAnalysis | null;
  /** which region tokenized this session's windows (data residency) */
  residency: ResidencyLedger;
  probe: RecognitionProbe;
  /** copies the window's audio for a reply being listened to; true while listening */
  captureReply(window: MediaWindow): boolean;
  /** the current node compares faces (recognition, face_compare) */
  wantFingerprint(): boolean;
  send(message: ServerMessage): void;
  fail(code: CloseCodeValue, errorCode: string, message: string): void;
  /** one processed window, in order: its features (null: lost) and transcript, if any */
  onWindow(features: WindowFeatures | null, transcript: WindowTranscript | null | undefined): Promise<void>;
}

export class WindowPipeline {
  readonly #ctx: WindowPipelineContext;
  /** tokenized windows, in sequence order; memory only */
  #windows: WindowFeatures[] = [];
  #inflight = new Map<number, Promise<void>>();
  #pendingResults = new Map<number, WindowFeatures | null>();
  /** transcripts of windows sent with `transcribe` (conversation nodes), until drained */
  #pendingTranscripts = new Map<number, WindowTranscript | null>();
  #nextToProcess = 0;
  #draining: Promise<void> = Promise.resolve();
  #tokenizerFailures = 0;
  /** windows dropped unsent because the tokenizer was behind (backpressure) */
  #shedWindows = 0;

  constructor(ctx: WindowPipelineContext) {
    this.#ctx = ctx;
  }

  /** tokenized windows so far, in sequence order */
  get windows(): WindowFeatures[] {
    return this.#windows;
  }

  /** windows processed so far, tokenized or lost: the nodes' clock */
  get processed(): number {
    return this.#nextToProcess;
  }

  get tokenizerFailures(): number {
    return this.#tokenizerFailures;
  }

  get shedWindows(): number {
    return this.#shedWindows;
  }

  /** The outcome is recorded: the features leave memory. */
  forget(): void {
    this.#windows = [];
  }

  /** Sends a closed window to the tokenizer, at most MAX_INFLIGHT_WINDOWS at once. */
  dispatch(window: MediaWindow): void {
    const ctx = this.#ctx;
    const config = ctx.config();
    if (!config) return;
    // While a conversation node waits for a reply, its windows are also transcribed; the reply's
    // audio is copied first, so a window shed below still reaches the whole-reply transcription.
    const listening = ctx.captureReply(window);
    if (ctx.deferred?.hold(window)) return;
    if (this.#inflight.size >= MAX_INFLIGHT_WINDOWS) {
      // The tokenizer is behind: shed this window rather than buffer without bound.
      ctx.assembler.release(window);
      this.#shedWindows += 1;
      this.#pendingResults.set(window.seq, null);
      ctx.send({ type: "slow_down", droppedFrames: ctx.assembler.droppedFrames });
      void this.#drainResults();
      return;
    }
    const wantFingerprint = ctx.wantFingerprint();
    const transcribe = listening ? {} : undefined;
    const task = tokenizeWindow(ctx.residency.target(ctx.env, config), window, wantFingerprint, transcribe)
      .then((reply) => {
        ctx.residency.tokenized(reply);
        if (reply.transcript !== undefined) this.#pendingTranscripts.set(window.seq, reply.transcript);
        ctx.probe.add(window.seq, reply.fingerprint);
        this.#pendingResults.set(window.seq, reply.features);
      })
      .catch((error: unknown) => {
        // The window is lost, not the session: fusion reports the degradation (tokenizerFailures).
        this.#tokenizerFailures += 1;
        ctx.residency.failed(error);
        this.#pendingResults.set(window.seq, null);
        if (!(error instanceof TokenizerError)) console.error("tokenize: unexpected failure");
      })
      .finally(() => {
        ctx.assembler.release(window);
        this.#inflight.delete(window.seq);
      })
      .then(() => {
        // Not awaited: the session's end waits for tokenization, and the drain may itself be
        // what ends the session.
        void this.#drainResults();
      });
    this.#inflight.set(window.seq, task);
  }

  /**
   * At the session's end: tokenizes what is still buffered (and, deferred, every held window),
   * then waits for the windows in flight (bounded by their timeout) and discards the rest.
   */
  async settle(): Promise<void> {
    const ctx = this.#ctx;
    const last = ctx.assembler.flush();
    if (last) this.dispatch(last);
    await ctx.deferred?.release(
      (w) => this.dispatch(w),
      () => [...this.#inflight.values()],
      MAX_INFLIGHT_WINDOWS,
    );
    await Promise.allSettled([...this.#inflight.values()]);
    ctx.assembler.discard();
  }

  /**
   * Processes tokenized windows strictly in sequence order, one at a time: drains are chained,
   * so a node decision that awaits an analyzer finishes before the next window is looked at.
   */
  #drainResults(): Promise<void> {
    this.#draining = this.#draining
      .then(async () => {
        while (this.#pendingResults.has(this.#nextToProcess)) {
          const features = this.#pendingResults.get(this.#nextToProcess) ?? null;
          const transcript = this.#pendingTranscripts.get(this.#nextToProcess);
          this.#pendingResults.delete(this.#nextToProcess);
          this.#pendingTranscripts.delete(this.#nextToProcess);
          this.#nextToProcess += 1;
          if (features) this.#windows.push(features);
          await this.#ctx.onWindow(features, transcript);
        }
      })
      // A bug here must end the session in a defined state, not wedge the chain.
      .catch(() => this.#ctx.fail(CloseCode.internal, "ERR_INTERNAL", "internal error"));
    return this.#draining;
  }
}
