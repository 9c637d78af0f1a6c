/**
 * One vitest run for every layer. Workers run inside workerd (Miniflare, started by
 * scripts/lib/platform.ts from the same bundles `npm run deploy -- --dry-run` builds); the
 * tokenization service runs as a real Node process with real TLS.
 */
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // test/e2e drives Debian Chromium (installed by .ci/run) and runs with the rest.
    exclude: ["node_modules/**"],
    environment: "node",
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: "forks",
    fileParallelism: false,
    reporters: ["default"],
  },
});
