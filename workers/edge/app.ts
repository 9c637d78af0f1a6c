/**
 * The edge Worker's Hono app: the integrator API under /v1 (API-key auth, per-key rate limit),
 * the widget's WebSocket at /v1/connect (client-secret auth), the OpenAPI document, and the one
 * `onError` that maps every failure to `application/problem+json` (house-style 5).
 */
import { OpenAPIHono } from "@hono/zod-openapi";
import { createMiddleware } from "hono/factory";
import { HTTPException } from "hono/http-exception";
import { openDb } from "../../lib/db/client.ts";
import { FacetError, internalProblem } from "../../lib/errors.ts";
import { FlowNodeSchema } from "../../lib/flow.ts";
import { isStorageUnavailable, storageUnavailable } from "../../lib/storage-errors.ts";
import type { EdgeEnv } from "./env.ts";
import { apiKeyAuth } from "./middleware/auth.ts";
import { rateLimitPerKey } from "./middleware/rate-limit.ts";
import { validationHook } from "./openapi.ts";
import { connectRoutes } from "./routes/connect.ts";
import { deliveryRoutes } from "./routes/deliveries.ts";
import { hostedRoutes } from "./routes/hosted.ts";
import { sessionRoutes } from "./routes/sessions.ts";
import { settingsRoutes } from "./routes/settings.ts";
import { subjectRoutes } from "./routes/subjects.ts";
import { webhookEndpointRoutes } from "./routes/webhook-endpoints.ts";

const PROBLEM = "application/problem+json";

function noStore() {
  // Results are personal data: no shared or private cache may keep them (house-style 10).
  return createMiddleware<EdgeEnv>(async (c, next) => {
    await next();
    // A 101 upgrade response comes from the Durable Object with immutable headers.
    if (c.res.status !== 101) c.res.headers.set("cache-control", "no-store");
  });
}

export function buildApp() {
  const app = new OpenAPIHono<EdgeEnv>({ defaultHook: validationHook });

  app.use("*", async (c, next) => {
    c.set("db", openDb(c.env.DB));
    await next();
  });
  app.use("/v1/*", noStore());
  app.route("/v1/connect", connectRoutes);
  app.route("/", hostedRoutes);

  const api = new OpenAPIHono<EdgeEnv>({ defaultHook: validationHook });
  api.use("*", apiKeyAuth(), rateLimitPerKey());
  api.route("/sessions", sessionRoutes);
  api.route("/webhook-endpoints", webhookEndpointRoutes);
  api.route("/deliveries", deliveryRoutes);
  api.route("/settings", settingsRoutes);
  api.route("/subjects", subjectRoutes);
  app.route("/v1", api);

  app.openAPIRegistry.register("FlowNode", FlowNodeSchema);
  app.openAPIRegistry.registerComponent("securitySchemes", "apiKey", {
    type: "http",
    scheme: "bearer",
    description: "sk_test_… or sk_live_…",
  });
  app.doc31("/openapi.json", {
    openapi: "3.1.0",
    info: {
      title: "Facet API",
      version: "1.0.0",
      description: "Identity verification: sessions, reports, webhooks.",
    },
    security: [{ apiKey: [] }],
  });
  app.get("/healthz", (c) => c.json({ ok: true }));

  app.notFound(() => {
    throw new FacetError("ERR_NOT_FOUND", "No such route.");
  });

  app.onError((caught, c) => {
    // A transient D1 failure is a documented 503 with Retry-After, not an anonymous 500.
    const error =
      !(caught instanceof FacetError) && isStorageUnavailable(caught) ? storageUnavailable() : caught;
    if (error instanceof FacetError) {
      for (const [name, value] of Object.entries(error.headers)) c.header(name, value);
      c.header("cache-control", "no-store");
      return c.body(JSON.stringify(error.toProblem()), error.status as 400, { "content-type": PROBLEM });
    }
    if (error instanceof HTTPException && error.status === 400) {
      // Hono's validators raise this for a body that is not JSON.
      const problem = new FacetError("ERR_MALFORMED_JSON", "The request body is not valid JSON.").toProblem();
      return c.body(JSON.stringify(problem), 400, { "content-type": PROBLEM, "cache-control": "no-store" });
    }
    // Unknown errors: 500 with no internals, never downgraded (house-style 5). Log the class
    // only; messages may quote request data.
    // The route pattern, not the path: paths can carry a subject reference (personal data).
    console.error(`unhandled ${error.name} on ${c.req.method} ${c.req.routePath}`);
    return c.body(JSON.stringify(internalProblem()), 500, {
      "content-type": PROBLEM,
      "cache-control": "no-store",
    });
  });

  return app;
}
