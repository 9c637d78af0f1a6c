/**
 * OpenAPI helpers shared by the route modules: the validation hook that turns a zod failure
 * into a typed `ERR_VALIDATION` (thrown, so the single `onError` renders it), and the
 * problem+json response entries each route documents (503 storage unavailable on all of them).
 */
import type { Hook } from "@hono/zod-openapi";
import { ProblemSchema } from "../../lib/api-schemas.ts";
import { FacetError } from "../../lib/errors.ts";
import type { EdgeEnv } from "./env.ts";

export const validationHook: Hook<unknown, EdgeEnv, string, unknown> = (result) => {
  if (!result.success) {
    const issues = result.error.issues.map((i) => ({ path: i.path.join("."), message: i.message }));
    const first = issues[0];
    throw new FacetError(
      "ERR_VALIDATION",
      first ? `${first.path || "body"}: ${first.message}` : "invalid request",
      {
        extensions: { issues },
      },
    );
  }
};

const DESCRIPTIONS: Record<number, string> = {
  400: "Invalid request (problem+json, code ERR_VALIDATION / ERR_INVALID_FLOW / ERR_MALFORMED_JSON)",
  401: "Missing, invalid or revoked API key",
  403: "Refused by the tenant's settings (ERR_ZONE_FORBIDDEN: the zone is in forbiddenZones)",
  404: "No such resource for this tenant",
  409: "Conflict (idempotency key reuse, or the session's state forbids this)",
  429: "Rate limited; see Retry-After",
  503: "Storage temporarily unavailable (ERR_STORAGE_UNAVAILABLE); retry after Retry-After seconds",
};

/** Any route can meet a transient D1 failure (lib/storage-errors.ts), so every route lists it. */
const ALWAYS = [503];

/** A JSON request or response body for `createRoute`. */
export const json = <T>(schema: T) => ({ content: { "application/json": { schema } } });

export function problemResponses(...statuses: number[]) {
  return Object.fromEntries(
    [...statuses, ...ALWAYS].map((s) => [
      s,
      {
        description: DESCRIPTIONS[s] ?? "Error",
        content: { "application/problem+json": { schema: ProblemSchema } },
      },
    ]),
  );
}
