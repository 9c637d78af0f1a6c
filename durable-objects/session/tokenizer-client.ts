/**
 * Sends one media window to the regional tokenization service over mutual TLS and returns the
 * tokenized features. The `TOKENIZER` binding is an `mtls_certificates` binding in production
 * and a workerd network service holding the same kind of client keypair locally: this code is
 * identical in both (platform-notes "Outbound mTLS from a Worker"). The request body is the
 * only copy of the window's media; it is zeroized as soon as the service has answered.
 * Residency (lib/residency.ts): the batch names the session's zone and the reply must confirm
 * it; a tokenizer that does not serve the zone answers 421 ERR_ZONE_NOT_SERVED, and a reply
 * for another zone is refused here, so a misrouted window is lost loudly, never kept.
 */
import { type TokenizeReply, TokenizeReplySchema } from "../../lib/features.ts";
import type { Zone } from "../../lib/residency.ts";
import { BATCH_CONTENT_TYPE, type BatchHeader, encodeBatch, zeroize } from "../../lib/tokenizer-batch.ts";
import type { MediaWindow } from "./window-assembler.ts";

export const TOKENIZE_TIMEOUT_MS = 10_000;

export class TokenizerError extends Error {
  override readonly name = "TokenizerError";
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
  }
}

export interface TokenizeTarget {
  fetcher: Fetcher;
  baseUrl: string;
  tenantId: string;
  sessionId: string;
  /** the session's zone: `baseUrl` must be that region's tokenizer */
  zone: Zone;
}

export async function tokenizeWindow(
  target: TokenizeTarget,
  window: MediaWindow,
  wantFingerprint: boolean,
  /** ask for the window's transcript (conversation nodes) */
  transcribe?: BatchHeader["transcribe"],
): Promise<TokenizeReply> {
  const parts: Uint8Array[] = [];
  let offset = 0;
  const frames = window.frames.map((f) => {
    parts.push(f.bytes);
    const entry = { tsMs: f.tsMs, format: f.format, offset, length: f.bytes.byteLength };
    offset += f.bytes.byteLength;
    return entry;
  });
  let audio: BatchHeader["audio"] = null;
  if (window.audio) {
    const start = offset;
    for (const chunk of window.audio.chunks) {
      parts.push(chunk);
      offset += chunk.byteLength;
    }
    audio = {
      tsMs: window.audio.tsMs,
      encoding: "pcm_s16le",
      sampleRate: 16000,
      offset: start,
      length: offset - start,
    };
  }
  const header: BatchHeader = {
    tenantId: target.tenantId,
    sessionId: target.sessionId,
    zone: target.zone,
    seq: window.seq,
    startMs: window.startMs,
    endMs: window.endMs,
    frames,
    audio: audio && audio.length > 0 ? audio : null,
    wantFingerprint,
    ...(transcribe ? { transcribe } : {}),
  };
  const body = encodeBatch(header, parts);
  try {
    const response = await target.fetcher.fetch(`${target.baseUrl}/v1/tokenize`, {
      method: "POST",
      headers: { "content-type": BATCH_CONTENT_TYPE },
      body,
      signal: AbortSignal.timeout(TOKENIZE_TIMEOUT_MS),
    });
    if (!response.ok) {
      const problem = (await response.json().catch(() => null)) as { code?: unknown } | null;
      throw new TokenizerError(
        typeof problem?.code === "string" ? problem.code : `HTTP_${response.status}`,
        `tokenizer answered ${response.status}`,
      );
    }
    const parsed = TokenizeReplySchema.safeParse(await response.json());
    if (!parsed.success)
      throw new TokenizerError("ERR_TOKENIZER_REPLY", "tokenizer reply does not match the feature schema");
    if (parsed.data.zone !== target.zone)
      throw new TokenizerError("ERR_TOKENIZER_ZONE", "tokenizer did not confirm the session's zone");
    return parsed.data;
  } catch (error) {
    if (error instanceof TokenizerError) throw error;
    // TLS failures surface as a generic internal error (platform-notes): classify, don't parse.
    const timeout = error instanceof Error && (error.name === "TimeoutError" || error.name === "AbortError");
    throw new TokenizerError(
      timeout ? "ERR_TOKENIZER_TIMEOUT" : "ERR_TOKENIZER_UNREACHABLE",
      "tokenizer request failed",
    );
  } finally {
    zeroize(body);
  }
}
