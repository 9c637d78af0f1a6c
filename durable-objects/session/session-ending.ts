/**
 * How a session ends, and the alarm that ends it when nothing else does. `end` runs at most
 * once at a time whatever asks first (flow end, alarm, cancel, fault, disconnect): it stops the
 * nodes, lets the buffered and in-flight windows finish, hands the evidence to completion.ts
 * and, once D1 has the outcome, deletes everything the DO stored (product-spec §7) and closes
 * the socket with the given code. If the outcome cannot be recorded it keeps the persisted
 * state and retries from the alarm with backoff (docs/reliability.md). The alarm also enforces
 * the session's expiry and idle timeout, and ends a session whose memory was lost.
 */
import { DEFAULT_POLICY } from "../../lib/fusion.ts";
import { CloseCode, type CloseCodeValue, type ServerMessage } from "../../lib/widget-protocol.ts";
import { type CompletionInput, completeSession, type Ending } from "./completion.ts";
import type { Persisted, SessionStore } from "./session-state.ts";

/** Longest wait between attempts to record a session's end while D1 or the key service is down. */
const COMPLETION_RETRY_MAX_MS = 60_000;

/** What the session gathered, for completion.ts (retries and policy are added here). */
export type SessionOutcomeInput = Omit<CompletionInput, "recordRetries" | "policy">;

export interface EndingContext {
  env: Env;
  storage: DurableObjectStorage;
  store: SessionStore;
  /** a widget is connected */
  connected(): boolean;
  /** when the last widget message arrived (ms since the epoch) */
  lastActivity(): number;
  /** stops every node and zeroizes what they hold */
  stopNodes(): void;
  /** tokenizes what is still buffered and waits for the windows in flight */
  settleWindows(): Promise<void>;
  /** the session's evidence, read once the windows have settled */
  evidence(state: Persisted): SessionOutcomeInput;
  /** the outcome is recorded: drops the tokenized windows from memory */
  forgetWindows(): void;
  send(message: ServerMessage): void;
  /** closes the socket with `code` (none: it is gone already) and forgets it */
  closeSocket(code: CloseCodeValue | null, reason: string): void;
}

export class SessionEnding {
  readonly #ctx: EndingContext;
  #ending: Promise<void> | null = null;
  /** an end whose outcome could not be recorded yet, retried by the alarm */
  #retryEnding: { ending: Ending; closeCode: CloseCodeValue | null } | null = null;
  #completionRetries = 0;

  constructor(ctx: EndingContext) {
    this.#ctx = ctx;
  }

  /** Ends the session once, whatever asks first (flow end, alarm, cancel, fault, disconnect). */
  end(ending: Ending, closeCode: CloseCodeValue | null): Promise<void> {
    this.#ending ??= this.#runEnd(ending, closeCode);
    return this.#ending;
  }

  async alarm(): Promise<void> {
    const ctx = this.#ctx;
    const state = await ctx.store.load();
    if (!state || state.phase === "done") return;
    if (this.#retryEnding) {
      // A previous end could not be recorded: retry it as it was (after an eviction the memory
      // is gone and the branches below end the session `interrupted` instead).
      const { ending, closeCode } = this.#retryEnding;
      this.#retryEnding = null;
      await this.end(ending, closeCode);
      return;
    }
    const now = Date.now();
    if (now >= state.config.expiresAt) {
      await this.end({ status: "incomplete", reason: "expired" }, CloseCode.sessionEnded);
      return;
    }
    if (!ctx.connected() && state.phase !== "waiting") {
      // Evicted or disconnected: the media and features are gone with the memory.
      await this.end({ status: "incomplete", reason: this.#ending ? "error" : "interrupted" }, null);
      return;
    }
    if (now - ctx.lastActivity() >= this.#idleMs()) {
      await this.end({ status: "incomplete", reason: "timeout" }, CloseCode.idleTimeout);
      return;
    }
    await this.armAlarm();
  }

  #idleMs(): number {
    return Number(this.#ctx.env.IDLE_TIMEOUT_SECONDS) * 1000;
  }

  /** The next alarm: the session's expiry or its idle timeout, whichever comes first. */
  async armAlarm(): Promise<void> {
    const state = this.#ctx.store.current;
    if (!state) return;
    await this.#ctx.storage.setAlarm(
      Math.min(state.config.expiresAt, this.#ctx.lastActivity() + this.#idleMs()),
    );
  }

  async #runEnd(ending: Ending, closeCode: CloseCodeValue | null): Promise<void> {
    const ctx = this.#ctx;
    const state = await ctx.store.load();
    if (!state || state.phase === "done") return;
    state.phase = "finishing";
    await ctx.store.save();
    ctx.stopNodes();
    // Tokenize what is still buffered, then wait for windows in flight (bounded by their timeout).
    await ctx.settleWindows();
    try {
      await completeSession(ctx.env, state, ending, {
        ...ctx.evidence(state),
        recordRetries: this.#completionRetries,
        policy: state.config.thresholds
          ? { ...DEFAULT_POLICY, thresholds: state.config.thresholds }
          : DEFAULT_POLICY,
      });
    } catch {
      // The outcome could not be recorded (D1 or the key service behind field encryption is
      // unreachable). Deleting the state now would leave the session `in_progress` forever with
      // no event: keep it (phase `finishing`) and retry from the alarm, with backoff
      // (docs/reliability.md). No detail is logged: errors may quote request data.
      console.error("session end: outcome not recorded, retrying from the alarm");
      this.#completionRetries += 1;
      this.#retryEnding = { ending, closeCode };
      this.#ending = null;
      await ctx.storage.setAlarm(
        Date.now() + Math.min(COMPLETION_RETRY_MAX_MS, 1000 * 2 ** this.#completionRetries),
      );
      return;
    }
    ctx.forgetWindows();
    state.phase = "done";
    // Nothing of the session stays in the DO once D1 has the outcome (product-spec §7);
    // the in-memory phase keeps refusing late calls until the object is evicted.
    await ctx.storage.deleteAlarm();
    await ctx.storage.deleteAll();
    ctx.send({ type: "complete", status: ending.status, reason: ending.reason });
    ctx.closeSocket(closeCode, ending.reason ?? "complete");
  }
}
