import { defineConfig } from "drizzle-kit";

/** drizzle-kit writes SQL migrations from lib/db/schema.ts; wrangler applies them (house-style 8). */
export default defineConfig({
  dialect: "sqlite",
  schema: "./lib/db/schema.ts",
  out: "./migrations",
});
