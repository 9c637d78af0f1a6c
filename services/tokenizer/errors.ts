/**
 * Typed tokenizer errors with stable `ERR_*` codes, rendered in exactly one place as RFC 9457
 * problem details (`application/problem+json`) — house-style 5. The session DO branches on
 * `code`, never on text. A detail string is written by this service and never echoes request
 * bytes; anything that is not a `TokenizerError` becomes a 500 `ERR_INTERNAL` with no internals.
 * One table for every route: the key API (kms-routes.ts) throws and renders the same codes.
 */

export const ERROR_CODES = {
  ERR_UNSUPPORTED_MEDIA_TYPE: { status: 415, title: "Unsupported media type" },
  ERR_EMPTY_BODY: { status: 400, title: "Empty body" },
  ERR_BATCH_TOO_LARGE: { status: 413, title: "Batch too large" },
  ERR_BATCH_FORMAT: { status: 400, title: "Malformed batch" },
  ERR_FRAME_DECODE: { status: 422, title: "Frame cannot be decoded" },
  ERR_FRAME_DIMENSIONS: { status: 422, title: "Frame dimensions out of range" },
  /** RFC 9110 §15.5.20: the batch's zone is one this instance does not serve (residency) */
  ERR_ZONE_NOT_SERVED: { status: 421, title: "Zone not served by this tokenizer" },
  ERR_NOT_FOUND: { status: 404, title: "Not found" },
  ERR_METHOD_NOT_ALLOWED: { status: 405, title: "Method not allowed" },
  ERR_INTERNAL: { status: 500, title: "Internal error" },
  /** POST /v1/answers/digests: a body that is not the documented JSON (answer-digests.ts) */
  ERR_ANSWER_REQUEST: { status: 400, title: "Invalid answer-digest request" },
  /** POST /v1/answers/digests without a key store, or the HSM failed */
  ERR_ANSWER_KEYS_UNAVAILABLE: { status: 503, title: "Key store unavailable" },
  // The key API under /v1/keys/ (kms-routes.ts)
  ERR_VALIDATION: { status: 400, title: "Invalid request" },
  ERR_BODY_TOO_LARGE: { status: 413, title: "Body too large" },
  ERR_KEY_NOT_FOUND: { status: 404, title: "Key not found" },
  ERR_KEY_UNWRAP: { status: 422, title: "Wrapped key does not unwrap" },
  ERR_KEYSTORE_UNAVAILABLE: { status: 503, title: "Key store unavailable" },
} as const;
export type ErrorCode = keyof typeof ERROR_CODES;

export class TokenizerError extends Error {
  override readonly name = "TokenizerError";
  readonly code: ErrorCode;
  readonly status: number;
  constructor(code: ErrorCode, detail: string) {
    super(detail);
    this.code = code;
    this.status = ERROR_CODES[code].status;
  }
}

export interface Problem {
  type: string;
  title: string;
  status: number;
  code: ErrorCode;
  detail: string;
}

/** RFC 9457 §3.1: `type` is a URI reference naming the problem type; ours are stable URNs. */
export function problemOf(code: ErrorCode, detail: string): Problem {
  const { status, title } = ERROR_CODES[code];
  return { type: `urn:facet:tokenizer:${code}`, title, status, code, detail };
}

export function toProblem(error: unknown): Problem {
  if (error instanceof TokenizerError) return problemOf(error.code, error.message);
  return problemOf("ERR_INTERNAL", "the batch could not be tokenized");
}
