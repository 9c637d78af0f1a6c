/** One way to open the database: drizzle over the D1 binding, with the schema for typed queries. */
import { drizzle } from "drizzle-orm/d1";
import * as schema from "./schema.ts";

export function openDb(d1: D1Database) {
  return drizzle(d1, { schema });
}
export type Db = ReturnType<typeof openDb>;
export { schema };
