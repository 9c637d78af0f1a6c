/**
 * Typed errors with stable `ERR_*` codes (house-style 5), rendered as RFC 9457
 * `application/problem+json` by the edge's single `onError`. Anything that is not a
 * `FacetError` becomes a 500 with no internals.
 */
export const ERROR_STATUS = {
  ERR_VALIDATION: 400,
  ERR_INVALID_FLOW: 400,
  ERR_MALFORMED_JSON: 400,
  ERR_UNAUTHENTICATED: 401,
  ERR_API_KEY_REVOKED: 401,
  ERR_FORBIDDEN: 403,
  /** the session's zone is one the tenant forbids (data residency, PUT /v1/settings) */
  ERR_ZONE_FORBIDDEN: 403,
  ERR_NOT_FOUND: 404,
  ERR_CONFLICT: 409,
  ERR_IDEMPOTENCY_CONFLICT: 409,
  ERR_SESSION_STATE: 409,
  ERR_CLIENT_SECRET_INVALID: 401,
  ERR_UNSUPPORTED_MEDIA_TYPE: 415,
  ERR_PAYLOAD_TOO_LARGE: 413,
  ERR_UPGRADE_REQUIRED: 426,
  ERR_RATE_LIMITED: 429,
  ERR_INTERNAL: 500,
  ERR_DATA_INTEGRITY: 500,
  ERR_UPSTREAM: 502,
  // Issue 9 (reliability): D1 unavailable or locked; answered with Retry-After (lib/storage-errors.ts).
  ERR_STORAGE_UNAVAILABLE: 503,
} as const;
export type ErrorCode = keyof typeof ERROR_STATUS;

export interface ProblemDetails {
  type: string;
  title: string;
  status: number;
  code: ErrorCode;
  detail?: string;
  [extension: string]: unknown;
}

const TITLES: Record<ErrorCode, string> = {
  ERR_VALIDATION: "Request validation failed",
  ERR_INVALID_FLOW: "Invalid flow",
  ERR_MALFORMED_JSON: "Malformed JSON body",
  ERR_UNAUTHENTICATED: "Missing or invalid API key",
  ERR_API_KEY_REVOKED: "API key revoked",
  ERR_FORBIDDEN: "Forbidden",
  ERR_ZONE_FORBIDDEN: "Zone forbidden by the tenant's residency settings",
  ERR_NOT_FOUND: "Not found",
  ERR_CONFLICT: "Conflict",
  ERR_IDEMPOTENCY_CONFLICT: "Idempotency key reused with a different request",
  ERR_SESSION_STATE: "Session is not in a state that allows this",
  ERR_CLIENT_SECRET_INVALID: "Client secret invalid, expired or already used",
  ERR_UNSUPPORTED_MEDIA_TYPE: "Unsupported media type",
  ERR_PAYLOAD_TOO_LARGE: "Payload too large",
  ERR_UPGRADE_REQUIRED: "WebSocket upgrade required",
  ERR_RATE_LIMITED: "Rate limit exceeded",
  ERR_INTERNAL: "Internal error",
  ERR_DATA_INTEGRITY: "Stored data failed its integrity check",
  ERR_UPSTREAM: "Upstream service failed",
  ERR_STORAGE_UNAVAILABLE: "Storage temporarily unavailable",
};

export class FacetError extends Error {
  override readonly name = "FacetError";
  readonly code: ErrorCode;
  readonly status: number;
  readonly extensions: Record<string, unknown>;
  readonly headers: Record<string, string>;

  constructor(
    code: ErrorCode,
    detail?: string,
    options: { extensions?: Record<string, unknown>; headers?: Record<string, string> } = {},
  ) {
    super(detail ?? TITLES[code]);
    this.code = code;
    this.status = ERROR_STATUS[code];
    this.extensions = options.extensions ?? {};
    this.headers = options.headers ?? {};
  }

  toProblem(): ProblemDetails {
    return {
      type: `https://facet.dev/errors/${this.code.toLowerCase().replaceAll("_", "-")}`,
      title: TITLES[this.code],
      status: this.status,
      code: this.code,
      detail: this.message,
      ...this.extensions,
    };
  }
}

/** The problem document for an error nobody anticipated: no message, no stack (RFC 9457 §3.1). */
export function internalProblem(): ProblemDetails {
  return new FacetError("ERR_INTERNAL", "The request could not be completed.").toProblem();
}
