/**
 * The browser side served by the edge (product-spec §4): `GET /verify` (the hosted page),
 * `GET /widget.js` (the script embed) and `GET /widget/audio-worklet.js` (loaded by widget.js).
 * The scripts are built from widget/src by scripts/lib/build-widget.ts into an ES module of
 * strings that this file imports, so they ship inside the edge bundle.
 *
 * The hosted page never sees the client secret server-side: it sits in the URL fragment, which
 * browsers do not send. Framing: `frame-ancestors` must be decided when the page is served,
 * before any secret is presented, so the page takes the *public* session id in its query
 * (`/verify?session=ses_…#cs_…`) and the edge answers with that tenant's `allowedOrigins`
 * (`GET|PUT /v1/settings`). Without a known session id, or with no allowed origins, the page
 * may not be framed at all (`frame-ancestors 'none'`) and still works as a redirect target.
 * The same list is handed to the page so its postMessage events go only to those origins.
 */
import { eq } from "drizzle-orm";
import { Hono } from "hono";
import { sessions, tenants } from "../../../lib/db/schema.ts";
import { parseTenantSettings } from "../../../lib/tenant-settings.ts";
import { AUDIO_WORKLET_ETAG, AUDIO_WORKLET_JS, WIDGET_ETAG, WIDGET_JS } from "../../../widget/dist/assets.js";
import type { EdgeEnv } from "../env.ts";

export const hostedRoutes = new Hono<EdgeEnv>();

const SESSION_ID = /^ses_[A-Za-z0-9_-]{10,64}$/;

const escapeAttr = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** Origins a tenant allows to frame the page; [] when unknown (the page is then unframeable). */
async function allowedOrigins(c: { var: EdgeEnv["Variables"] }, sessionId: string | null): Promise<string[]> {
  if (!sessionId || !SESSION_ID.test(sessionId)) return [];
  const [row] = await c.var.db
    .select({ settings: tenants.settings })
    .from(sessions)
    .innerJoin(tenants, eq(tenants.id, sessions.tenantId))
    .where(eq(sessions.id, sessionId));
  if (!row) return [];
  try {
    return parseTenantSettings(row.settings)
      .allowedOrigins.map((o) => new URL(o).origin)
      .filter((o) => o.startsWith("https://") || o.startsWith("http://"));
  } catch {
    return [];
  }
}

function securityHeaders(requestUrl: string, frameAncestors: string[]): Record<string, string> {
  const self = new URL(requestUrl);
  const ws = `${self.protocol === "https:" ? "wss:" : "ws:"}//${self.host}`;
  const csp = [
    "default-src 'none'",
    "script-src 'self'",
    `connect-src 'self' ${ws}`,
    "style-src 'self'",
    "img-src 'self' data:",
    "media-src 'self' blob: mediastream:",
    "base-uri 'none'",
    "form-action 'none'",
    `frame-ancestors ${frameAncestors.length > 0 ? frameAncestors.join(" ") : "'none'"}`,
  ].join("; ");
  return {
    "content-security-policy": csp,
    "permissions-policy": "camera=(self), microphone=(self), geolocation=(), payment=(), usb=()",
    "referrer-policy": "no-referrer",
    "x-content-type-options": "nosniff",
    "cross-origin-opener-policy": "same-origin-allow-popups",
    "cache-control": "no-store",
  };
}

hostedRoutes.get("/verify", async (c) => {
  const sessionId = c.req.query("session") ?? null;
  const origins = await allowedOrigins(c, sessionId);
  const lang = /^[a-z]{2}(-[A-Za-z]{2})?$/.test(c.req.query("locale") ?? "")
    ? (c.req.query("locale") ?? "en")
    : "en";
  const html = `<!doctype html>
<html lang="${escapeAttr(lang)}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<link rel="icon" href="data:,">
<meta name="facet-allowed-origins" content="${escapeAttr(origins.join(" "))}">
<title>Identity check</title>
</head>
<body>
<main id="facet-hosted" aria-live="off"><noscript>This identity check needs JavaScript, a camera and a microphone.</noscript></main>
<script src="/widget.js"></script>
</body>
</html>
`;
  return c.html(html, 200, securityHeaders(c.req.url, origins));
});

function script(body: string, etag: string, ifNoneMatch: string | undefined): Response {
  const headers = {
    "content-type": "text/javascript; charset=utf-8",
    // Short: a deploy must reach integrators' pages quickly; revalidation is cheap (ETag).
    "cache-control": "public, max-age=300",
    etag: `"${etag}"`,
    "x-content-type-options": "nosniff",
    // Integrators load these from their own pages; the worklet is fetched with CORS.
    "access-control-allow-origin": "*",
    "cross-origin-resource-policy": "cross-origin",
  };
  if (ifNoneMatch === `"${etag}"`) return new Response(null, { status: 304, headers });
  return new Response(body, { headers });
}

hostedRoutes.get("/widget.js", (c) => script(WIDGET_JS, WIDGET_ETAG, c.req.header("if-none-match")));
hostedRoutes.get("/widget/audio-worklet.js", (c) =>
  script(AUDIO_WORKLET_JS, AUDIO_WORKLET_ETAG, c.req.header("if-none-match")),
);
