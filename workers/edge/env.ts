/**
 * The Hono environment of the edge Worker: the generated `Env` bindings (wrangler types,
 * house-style 2) and the per-request values that middleware sets with `c.set`.
 */
import type { Db } from "../../lib/db/client.ts";

export interface EdgeVariables {
  db: Db;
  tenantId: string;
  apiKeyId: string;
  apiKeyMode: "test" | "live";
}

export type EdgeEnv = { Bindings: Env; Variables: EdgeVariables };
