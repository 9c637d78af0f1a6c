/**
 * `npm start`: the whole platform on loopback, in one process tree (product-spec §8).
 *
 * 1. dev certificates (private CA, tokenizer server cert, the session DO's client cert);
 * 2. the regional tokenization service (TLS 1.3, mutual TLS);
 * 3. D1 migrations applied by wrangler into `.dev/state`;
 * 4. every Worker in one workerd (edge + session DO + queue consumer + cron + six analyzers);
 * 5. a dev tenant with a sandbox API key, and the demo integrator with its webhook endpoint;
 * 6. `.dev/facet.json` once everything answers. SIGTERM/SIGINT to this process stops it all.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { createServer } from "node:net";
import { dirname, join } from "node:path";
import { startDemo } from "../../widget/demo/server.ts";
import { ensureDevCerts } from "../lib/dev-certs.ts";
import { apiKeyIsValid, provisionTenant } from "../lib/dev-tenant.ts";
import { REPO, startPlatform } from "../lib/platform.ts";
import { startTokenizer } from "../lib/tokenizer-process.ts";

const DEV = join(REPO, ".dev");
const STATE = join(DEV, "state");
const FACET_JSON = join(DEV, "facet.json");
const WRANGLER_ENV = {
  ...process.env,
  CLOUDFLARE_CF_FETCH_ENABLED: "false",
  WRANGLER_SEND_METRICS: "false",
  XDG_CONFIG_HOME: join(DEV, "xdg"),
};

function freePort(preferred: number): Promise<number> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once("error", () => {
      const any = createServer();
      any.listen(0, "127.0.0.1", () => {
        const address = any.address();
        const port = typeof address === "object" && address ? address.port : 0;
        any.close(() => resolve(port));
      });
    });
    probe.listen(preferred, "127.0.0.1", () => probe.close(() => resolve(preferred)));
  });
}

function log(line: string) {
  process.stdout.write(`${line}\n`);
}

mkdirSync(DEV, { recursive: true });
log("Facet: starting the platform on loopback …");
const certs = ensureDevCerts(join(DEV, "certs"));
const tokenizer = await startTokenizer(certs);
log(`  tokenization service  ${tokenizer.url} (mutual TLS)`);

const wrangler = join(
  dirname(createRequire(import.meta.url).resolve("wrangler/package.json")),
  "bin",
  "wrangler.js",
);
const migrate = spawnSync(
  process.execPath,
  [wrangler, "d1", "migrations", "apply", "DB", "--local", "--persist-to", STATE],
  {
    cwd: REPO,
    env: WRANGLER_ENV,
    stdio: ["ignore", "pipe", "pipe"],
    encoding: "utf8",
  },
);
if (migrate.status !== 0) {
  process.stderr.write(migrate.stdout + migrate.stderr);
  await tokenizer.stop();
  process.exit(1);
}
log("  D1 migrations         applied by wrangler (.dev/state)");

const port = await freePort(8787);
const apiBase = `http://127.0.0.1:${port}`;
const platform = await startPlatform({
  persistDir: join(STATE, "v3"),
  port,
  tokenizerUrl: tokenizer.url,
  certs,
  vars: { DEV_ALLOW_LOOPBACK_WEBHOOKS: "true", PUBLIC_ORIGIN: apiBase },
});
log(`  edge + 6 analyzers    ${apiBase} (workerd)`);

// The dev tenant survives restarts with its data; its key is reused while it is valid.
const previous = existsSync(FACET_JSON)
  ? (JSON.parse(readFileSync(FACET_JSON, "utf8")) as { apiKey?: string })
  : {};
let apiKey = previous.apiKey;
if (!apiKey || !(await apiKeyIsValid(platform.db, apiKey))) {
  apiKey = (await provisionTenant(platform.db, "Dev tenant")).apiKey;
}

const demo = await startDemo({ apiBase, apiKey, port: await freePort(port + 1) });
const auth = { authorization: `Bearer ${apiKey}`, "content-type": "application/json" };
const existing = (await (await fetch(`${apiBase}/v1/webhook-endpoints`, { headers: auth })).json()) as {
  data: { id: string; enabled: boolean }[];
};
for (const endpoint of existing.data.filter((e) => e.enabled)) {
  await fetch(`${apiBase}/v1/webhook-endpoints/${endpoint.id}`, { method: "DELETE", headers: auth });
}
const registered = await fetch(`${apiBase}/v1/webhook-endpoints`, {
  method: "POST",
  headers: auth,
  body: JSON.stringify({ url: new URL("/webhooks", demo.url).toString() }),
});
demo.setWebhookSecret(((await registered.json()) as { secret: string }).secret);

const facet = {
  apiBase,
  demoUrl: demo.url,
  apiKey,
  tokenizerUrl: tokenizer.url,
  tokenizerCa: certs.ca.cert,
  pid: process.pid,
};
writeFileSync(FACET_JSON, `${JSON.stringify(facet, null, 2)}\n`, { mode: 0o600 });

log("");
log(`  API base URL   ${apiBase}   (OpenAPI: ${apiBase}/openapi.json)`);
log(`  Demo           ${demo.url}`);
log(`  Sandbox key    ${apiKey}`);
log(`  Written to     .dev/facet.json   (stop everything: kill ${process.pid})`);
log("  Try it         npm run session   (a scripted session from media files)");

let stopping = false;
async function stop() {
  if (stopping) return;
  stopping = true;
  log("Facet: stopping …");
  await Promise.allSettled([platform.dispose(), demo.close(), tokenizer.stop()]);
  process.exit(0);
}
// Miniflare's own exit hook may end the process on a signal before `stop` runs: make sure the
// tokenization service never outlives us.
process.on("exit", () => {
  if (tokenizer.child.exitCode === null) tokenizer.child.kill("SIGTERM");
});
process.on("SIGTERM", () => void stop());
process.on("SIGINT", () => void stop());
tokenizer.child.once("exit", () => {
  if (!stopping) {
    process.stderr.write("tokenization service exited unexpectedly; stopping\n");
    void stop();
  }
});
