/**
 * The conversation node, driven over the session's windows: shows (and transcribes) the prompt,
 * follows the reply's speech window by window (latency, speech time, pauses, recognised text),
 * ends it after silence or no reply, transcribes the whole reply once more, checks it for
 * cross-session repetition, chooses the outcome with the condition language (conversation.ts)
 * and asks the adaptive follow-up at most once. It owns the report's transcript (product-spec §5)
 * and the turns for the conversation analyzer. The reply's audio copies stay in memory only and
 * are zeroized as soon as they are transcribed, or when the session ends first (`stop`).
 */
import type { Report } from "../../lib/api-schemas.ts";
import type { WindowFeatures, WindowTranscript } from "../../lib/features.ts";
import type { FlowNode } from "../../lib/flow.ts";
import { zeroize } from "../../lib/tokenizer-batch.ts";
import type { ServerMessage } from "../../lib/widget-protocol.ts";
import { AnswerRepetition, REPEATED_FLAG, type StoredAnswer } from "./answer-repetition.ts";
import {
  type ConversationReply,
  chooseOutcome,
  followUpDue,
  isEvasive,
  renderPrompt,
  words,
} from "./conversation.ts";
import type { Persisted } from "./session-state.ts";
import type { ConversationTurn } from "./slices.ts";
import { type TokenizeTarget, tokenizeWindow } from "./tokenizer-client.ts";
import type { MediaWindow } from "./window-assembler.ts";

type ConversationNodeSpec = Extract<FlowNode, { type: "conversation" }>;

interface ConversationState {
  node: ConversationNodeSpec;
  firstWindow: number;
  firstProcessed: number;
  speechWindows: number;
  silentAfterSpeech: number;
  latencyMs: number | null;
  speechMs: number;
  pauses: number;
  /** recognised text of the reply's windows, in order */
  texts: string[];
  /** a recognizer answered for at least one of the reply's windows */
  recognized: boolean;
  /** ms since the session began when the reply's first recognised words arrived */
  replyAtMs: number | null;
  /** this reply answers the node's follow-up question (asked at most once) */
  followUpAsked: boolean;
  /**
   * Copies of the reply's PCM (memory only, at most MAX_REPLY_AUDIO_BYTES), transcribed once
   * more as one utterance when the reply ends — words cut by a window boundary are then heard
   * whole — and zeroized right after (or when the session ends first).
   */
  audio: Uint8Array[];
  audioBytes: number;
}

/** Windows without speech after which a conversation reply is considered finished. */
const REPLY_END_SILENT_WINDOWS = 2;
/** Windows to wait for a reply before `no_reply`. */
const NO_REPLY_WINDOWS = 8;
/** Reply audio kept for the whole-reply transcription: 20 s of 16 kHz PCM16. */
const MAX_REPLY_AUDIO_BYTES = 20 * 16_000 * 2;

export interface ConversationContext {
  env: Env;
  send(message: ServerMessage): void;
  /** the session's persisted state (its phase says whether it still runs) */
  state(): Persisted | null;
  /** tokenized windows so far */
  windowCount(): number;
  /** windows processed so far, tokenized or lost */
  processed(): number;
  /** where the session's audio is tokenized (residency-ledger.ts) */
  target(config: Persisted["config"]): TokenizeTarget;
  advance(node: FlowNode, outcome: string): Promise<void>;
}

export class ConversationNode {
  readonly #ctx: ConversationContext;
  #current: ConversationState | null = null;
  /** the report's transcript (product-spec §5): prompts as shown, replies as recognised */
  readonly #transcript: Report["transcript"] = [];
  readonly #turns: ConversationTurn[] = [];
  /** cross-session repetition of replies (answer-repetition.ts), made on the first reply */
  #repetition: AnswerRepetition | null = null;

  constructor(ctx: ConversationContext) {
    this.#ctx = ctx;
  }

  /** a conversation node is waiting for (or listening to) a reply */
  get active(): boolean {
    return this.#current !== null;
  }

  get transcript(): Report["transcript"] {
    return this.#transcript;
  }

  get turns(): ConversationTurn[] {
    return this.#turns;
  }

  get answerDigests(): readonly StoredAnswer[] {
    return this.#repetition?.answers ?? [];
  }

  get repetitionFailures(): number {
    return this.#repetition?.failures ?? 0;
  }

  /** Enters a conversation node; an informational prompt (no reply needed) finishes at once. */
  async start(node: ConversationNodeSpec): Promise<void> {
    const conv = this.#ask(node, node.prompt, false);
    if (node.noReplyNeeded) return this.#finish(conv);
  }

  /**
   * While a conversation node waits for a reply, its windows are also transcribed; the reply's
   * audio is copied first, so a window shed afterwards still reaches the whole-reply
   * transcription. True while listening for a reply.
   */
  captureReply(window: MediaWindow): boolean {
    const listening = this.#current && !this.#current.node.noReplyNeeded ? this.#current : null;
    if (listening && window.audio) {
      for (const chunk of window.audio.chunks) {
        if (listening.audioBytes + chunk.byteLength > MAX_REPLY_AUDIO_BYTES) break;
        listening.audio.push(chunk.slice());
        listening.audioBytes += chunk.byteLength;
      }
    }
    return listening !== null;
  }

  /** The session ends: drops the node and zeroizes the reply's audio copies. */
  stop(): void {
    if (this.#current) zeroize(...this.#current.audio);
    this.#current = null;
  }

  /** Shows (and transcribes) a conversation prompt and starts listening for the reply. */
  #ask(node: ConversationNodeSpec, template: string, followUpAsked: boolean): ConversationState {
    const conv: ConversationState = {
      node,
      firstWindow: this.#ctx.windowCount(),
      firstProcessed: this.#ctx.processed(),
      speechWindows: 0,
      silentAfterSpeech: 0,
      latencyMs: null,
      speechMs: 0,
      pauses: 0,
      texts: [],
      recognized: false,
      replyAtMs: null,
      followUpAsked,
      audio: [],
      audioBytes: 0,
    };
    this.#current = conv;
    const prompt = renderPrompt(template, this.#ctx.state()?.config ?? { metadata: {}, providedData: {} });
    this.#transcript.push({ nodeId: node.id, speaker: "prompt", text: prompt, atMs: this.#sinceStart() });
    this.#ctx.send({
      type: "node",
      nodeId: node.id,
      nodeType: "conversation",
      prompt,
      noReplyNeeded: node.noReplyNeeded ?? false,
    });
    return conv;
  }

  #sinceStart(): number {
    return Math.max(0, Date.now() - (this.#ctx.state()?.startedAt ?? Date.now()));
  }

  /** One processed window (null: lost) and its transcript, if it was transcribed. */
  async progress(
    features: WindowFeatures | null,
    transcript: WindowTranscript | null | undefined,
  ): Promise<void> {
    const conv = this.#current;
    if (!conv) return;
    const audio = features?.audio;
    const spoke = audio !== null && audio !== undefined && audio.speechRatio >= 0.1;
    const waited = this.#ctx.processed() - conv.firstProcessed;
    if (transcript !== undefined && transcript !== null) {
      conv.recognized = true;
      // Words the recognizer finds in a window without voice activity are noise, not a reply.
      const voiced = spoke || (audio?.speechSegments.length ?? 0) > 0;
      if (voiced && transcript.text.trim() !== "") {
        conv.texts.push(transcript.text.trim());
        conv.replyAtMs ??= this.#sinceStart();
      }
    }
    if (spoke && audio) {
      if (conv.latencyMs === null)
        conv.latencyMs = Math.max(0, (audio.speechSegments[0]?.startMs ?? 0) + (waited - 1) * 1000);
      conv.speechWindows += 1;
      conv.silentAfterSpeech = 0;
      conv.speechMs += audio.speechRatio * audio.durationMs;
      conv.pauses += Math.max(0, audio.speechSegments.length - 1);
    } else if (conv.speechWindows > 0) {
      // A lost window (shed under load, or failed) is no evidence of silence: it counts a quarter,
      // so load does not cut a reply short but an outage still ends it after 8 lost windows.
      conv.silentAfterSpeech += features === null ? 0.25 : 1;
    }
    if (
      (conv.speechWindows > 0 && conv.silentAfterSpeech >= REPLY_END_SILENT_WINDOWS) ||
      (conv.speechWindows === 0 && waited >= NO_REPLY_WINDOWS)
    ) {
      await this.#finish(conv);
    }
  }

  /**
   * Chooses the conversation outcome with the offline condition language (conversation.ts),
   * records the reply in the transcript and as a turn for the conversation analyzer. Without
   * a recognizer (TOKENIZER_ASR=none, or it failed) only `no_reply` and the fallback are
   * decidable; intent and content conditions are skipped, never guessed.
   */
  async #finish(conv: ConversationState): Promise<void> {
    this.#current = null;
    const whole = conv.recognized && conv.speechWindows > 0 ? await this.#transcribeReply(conv) : null;
    zeroize(...conv.audio);
    conv.audio = [];
    const state = this.#ctx.state();
    if (state?.phase !== "running") return; // the session ended while the reply was transcribed
    const reply: ConversationReply = {
      spoke: conv.speechWindows > 0,
      text: whole ?? conv.texts.join(" "),
      recognized: conv.recognized,
    };
    this.#repetition ??= new AnswerRepetition(this.#ctx.env, state.config);
    const repetition =
      reply.recognized && !conv.node.noReplyNeeded ? await this.#repetition.check(reply.text) : null;
    if (this.#ctx.state()?.phase !== "running") return;
    if (reply.text !== "") {
      this.#transcript.push({
        nodeId: conv.node.id,
        speaker: "user",
        text: reply.text,
        atMs: conv.replyAtMs ?? this.#sinceStart(),
        ...(repetition?.repeated ? { flags: [REPEATED_FLAG] } : {}),
      });
    }
    const outcome =
      chooseOutcome(
        conv.node.outcomes,
        reply,
        this.#ctx.state()?.config ?? { metadata: {}, providedData: {} },
        conv.node.noReplyNeeded,
      ) ?? "fallback";
    if (!conv.node.noReplyNeeded) {
      // An informational prompt expects no answer: it is not a turn of the dialogue.
      this.#turns.push({
        latencyMs: conv.latencyMs,
        speechMs: conv.speechMs,
        pauses: conv.pauses,
        words: conv.recognized ? words(reply.text).length : null,
        evasive: isEvasive(reply, outcome),
        ...(repetition ? { repeated: repetition.repeated } : {}),
      });
    }
    const followUp = conv.node.followUp;
    if (
      followUp &&
      !conv.followUpAsked &&
      followUpDue(followUp, conv.node.outcomes, reply, outcome, repetition?.repeated)
    ) {
      // Adaptive follow-up: ask once more, then decide the conditions on that reply.
      this.#ask(conv.node, followUp.prompt, true);
      return;
    }
    await this.#ctx.advance(conv.node, outcome);
  }

  /**
   * The reply's audio transcribed as one utterance (its windows were transcribed one second at
   * a time, which can cut a word in two). Null when there is none or the tokenizer fails: the
   * per-window text stands.
   */
  async #transcribeReply(conv: ConversationState): Promise<string | null> {
    const state = this.#ctx.state();
    if (!state || conv.audio.length === 0) return null;
    const durationMs = (conv.audioBytes / 2 / 16_000) * 1000;
    try {
      const reply = await tokenizeWindow(
        this.#ctx.target(state.config),
        // A copy: tokenizeWindow's body is zeroized, the chunks by the caller.
        {
          seq: this.#ctx.processed(),
          startMs: 0,
          endMs: durationMs,
          frames: [],
          audio: { tsMs: 0, chunks: conv.audio },
          bytes: conv.audioBytes,
        },
        false,
        {},
      );
      const text = reply.transcript?.text.trim() ?? null;
      return text === "" ? null : text;
    } catch {
      return null;
    }
  }
}
