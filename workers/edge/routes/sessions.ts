/**
 * `/v1/sessions` (product-spec §3), one sub-app per responsibility: create with flow validation
 * and Idempotency-Key (sessions-create.ts), get and list (sessions-read.ts), and acting on one
 * session: new client secret, cancel, erase (sessions-control.ts). Every query is scoped to the
 * authenticated tenant; results carry `Cache-Control: no-store` (set by the app).
 */
import { OpenAPIHono } from "@hono/zod-openapi";
import type { EdgeEnv } from "../env.ts";
import { validationHook } from "../openapi.ts";
import { sessionControlRoutes } from "./sessions-control.ts";
import { sessionCreateRoutes } from "./sessions-create.ts";
import { sessionReadRoutes } from "./sessions-read.ts";

export const sessionRoutes = new OpenAPIHono<EdgeEnv>({ defaultHook: validationHook });

sessionRoutes.route("/", sessionCreateRoutes);
sessionRoutes.route("/", sessionReadRoutes);
sessionRoutes.route("/", sessionControlRoutes);
