/**
 * Inbound WebSocket messages from the widget (docs/protocol.md): the per-connection message
 * rate limit, the size caps, JSON and schema validation of control messages (zod at the trust
 * boundary), decoding of binary media messages with strictly increasing sequence numbers per
 * kind, µ-law expansion, and hand-over of media to the window assembler. Every violation ends
 * the session through `fail` with the protocol's close code. Media payloads are never logged or
 * kept beyond the assembler; the expanded µ-law copy is zeroized once the assembler has it.
 */
import type { BehaviorSignals, DeviceSignals } from "../../lib/features.ts";
import type { FlowNode } from "../../lib/flow.ts";
import { mulawToPcm16le } from "../../lib/g711.ts";
import { zeroize } from "../../lib/tokenizer-batch.ts";
import {
  AudioFormat,
  type ClientMessage,
  ClientMessageSchema,
  CloseCode,
  type CloseCodeValue,
  decodeMedia,
  LIMITS,
  MediaKind,
  type ServerMessage,
} from "../../lib/widget-protocol.ts";
import type { MediaWindow, WindowAssembler } from "./window-assembler.ts";

export interface ClientMessagesContext {
  /** the session runs (messages outside `running` are ignored) */
  running(): boolean;
  /** a message arrived: the idle timer restarts */
  touch(): void;
  send(message: ServerMessage): void;
  /** ends the session because of a client or server fault, with a typed close code */
  fail(code: CloseCodeValue, errorCode: string, message: string): void;
  assembler: WindowAssembler;
  /** a closed window, to the tokenizer */
  dispatch(window: MediaWindow): void;
  currentNode(): FlowNode | undefined;
  advance(node: FlowNode, outcome: string): Promise<void>;
}

export class ClientMessages {
  readonly #ctx: ClientMessagesContext;
  #tokens: number = LIMITS.messageBurst;
  #tokensAt = Date.now();
  #lastSeq = { [MediaKind.video]: -1, [MediaKind.audio]: -1 } as Record<number, number>;
  #device: DeviceSignals | null = null;
  #behavior: BehaviorSignals | null = null;

  constructor(ctx: ClientMessagesContext) {
    this.#ctx = ctx;
  }

  /** the widget's device signals (`hello`), for the device-risk analyzer */
  get device(): DeviceSignals | null {
    return this.#device;
  }

  /** the widget's latest behaviour signals (`signals`), for the behavior analyzer */
  get behavior(): BehaviorSignals | null {
    return this.#behavior;
  }

  #takeToken(): boolean {
    const now = Date.now();
    this.#tokens = Math.min(
      LIMITS.messageBurst,
      this.#tokens + ((now - this.#tokensAt) / 1000) * LIMITS.messagesPerSecond,
    );
    this.#tokensAt = now;
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }

  async receive(data: string | ArrayBuffer): Promise<void> {
    const ctx = this.#ctx;
    if (!ctx.running()) return;
    ctx.touch();
    if (!this.#takeToken()) return ctx.fail(CloseCode.rateExceeded, "ERR_WS_RATE", "message rate exceeded");
    if (typeof data === "string") {
      // UTF-8 bytes, not UTF-16 units: a string of N units is at most 3N bytes.
      if (
        data.length > LIMITS.maxControlMessageBytes ||
        new TextEncoder().encode(data).byteLength > LIMITS.maxControlMessageBytes
      )
        return ctx.fail(CloseCode.tooLarge, "ERR_WS_TOO_LARGE", "control message too large");
      let parsed: unknown;
      try {
        parsed = JSON.parse(data);
      } catch {
        return ctx.fail(CloseCode.malformed, "ERR_WS_MALFORMED", "control message is not JSON");
      }
      const message = ClientMessageSchema.safeParse(parsed);
      if (!message.success)
        return ctx.fail(CloseCode.malformed, "ERR_WS_MALFORMED", "unknown or invalid control message");
      return this.#onControl(message.data);
    }
    if (data.byteLength > LIMITS.maxMediaMessageBytes)
      return ctx.fail(CloseCode.tooLarge, "ERR_WS_TOO_LARGE", "media message too large");
    const media = decodeMedia(data);
    if (!media.ok) return ctx.fail(CloseCode.malformed, "ERR_WS_MALFORMED", media.reason);
    const last = this.#lastSeq[media.header.kind] ?? -1;
    if (media.header.seq <= last)
      return ctx.fail(CloseCode.protocolOrder, "ERR_WS_ORDER", "sequence numbers must increase");
    this.#lastSeq[media.header.kind] = media.header.seq;
    // µ-law audio is expanded to PCM16 here, so the tokenizer sees one audio format.
    const mulaw = media.header.kind === MediaKind.audio && media.header.format === AudioFormat.mulaw16k;
    const payload = mulaw ? mulawToPcm16le(media.payload) : media.payload;
    const { closed, dropped } = ctx.assembler.add(media.header, payload);
    if (mulaw) zeroize(payload);
    if (dropped) ctx.send({ type: "slow_down", droppedFrames: ctx.assembler.droppedFrames });
    for (const window of closed) ctx.dispatch(window);
  }

  async #onControl(message: ClientMessage): Promise<void> {
    const ctx = this.#ctx;
    const node = ctx.currentNode();
    switch (message.type) {
      case "hello":
        this.#device = message.device;
        return;
      case "signals":
        this.#behavior = message.behavior;
        return;
      case "ping":
        ctx.send({ type: "pong" });
        return;
      case "permissions":
        if (node?.type !== "permissions")
          return ctx.fail(CloseCode.protocolOrder, "ERR_WS_ORDER", "no permissions step is active");
        return ctx.advance(
          node,
          (!node.camera || message.camera) && (!node.microphone || message.microphone) ? "granted" : "denied",
        );
      case "email":
        if (node?.type !== "enter_email")
          return ctx.fail(CloseCode.protocolOrder, "ERR_WS_ORDER", "no email step is active");
        return ctx.advance(node, "entered");
      case "cancel_step":
        if (node?.type !== "enter_email")
          return ctx.fail(CloseCode.protocolOrder, "ERR_WS_ORDER", "this step cannot be cancelled");
        return ctx.advance(node, "cancelled");
    }
  }
}
