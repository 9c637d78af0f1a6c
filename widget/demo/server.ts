/**
 * The demo integrator: what an integrator's backend does with Facet, running beside
 * `npm start`. It keeps the API key server-side, receives webhooks and verifies them with the
 * Standard Webhooks reference library (any receiver can), and shows sessions and their reports.
 * "Start a verification" creates a session server-side (the API key never reaches the browser),
 * embeds widget.js with the client secret, and shows the report once the session has ended
 * (pages.ts).
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { Webhook } from "standardwebhooks";
import { DEMO_CSS, DEMO_JS, escapeHtml, reportPage, type SessionForReport, verifyPage } from "./pages.ts";

export interface DemoOptions {
  apiBase: string;
  apiKey: string;
  port: number;
}

interface ReceivedEvent {
  id: string;
  type: string;
  sessionId: string | null;
  verified: boolean;
  at: string;
  decision: string | null;
}

export interface DemoServer {
  url: string;
  events: ReceivedEvent[];
  /** set once the endpoint is registered (the secret is shown only at registration) */
  setWebhookSecret(secret: string): void;
  close(): Promise<void>;
}

/** The sample flow of "Start a verification": permissions, then liveness with two challenges. */
export const DEMO_FLOW = [
  { id: "start", type: "start", next: "perm" },
  { id: "perm", type: "permissions", outcomes: { granted: "live", denied: "done" } },
  {
    id: "live",
    type: "liveness",
    challenges: 2,
    outcomes: { live: "done", spoof: "done", no_face: "done", inconclusive: "done" },
  },
  { id: "done", type: "end" },
];

const SESSION_ID = /^ses_[A-Za-z0-9_-]{10,64}$/;

function readBody(req: IncomingMessage, limit = 1024 * 1024): Promise<string> {
  return new Promise((resolve, reject) => {
    let size = 0;
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => {
      size += c.byteLength;
      if (size > limit) {
        reject(new Error("too large"));
        req.destroy();
      } else chunks.push(c);
    });
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

export async function startDemo(opts: DemoOptions): Promise<DemoServer> {
  const events: ReceivedEvent[] = [];
  let verifier: Webhook | null = null;

  async function api(path: string): Promise<unknown> {
    const res = await fetch(new URL(path, opts.apiBase), {
      headers: { authorization: `Bearer ${opts.apiKey}` },
    });
    return res.json();
  }

  /** client secrets of sessions started here, handed to the page once */
  const pending = new Map<string, string>();
  const apiOrigin = new URL(opts.apiBase).origin;
  const wsOrigin = apiOrigin.replace(/^http/, "ws");

  async function startSession(res: ServerResponse) {
    const created = await fetch(new URL("/v1/sessions", opts.apiBase), {
      method: "POST",
      headers: { authorization: `Bearer ${opts.apiKey}`, "content-type": "application/json" },
      body: JSON.stringify({ clientReferenceId: `demo-${Date.now()}`, flow: DEMO_FLOW }),
    });
    if (created.status !== 201) {
      res.writeHead(502, { "content-type": "text/plain" }).end(`session creation failed: ${created.status}`);
      return;
    }
    const body = (await created.json()) as { session: { id: string }; clientSecret: { secret: string } };
    pending.set(body.session.id, body.clientSecret.secret);
    res.writeHead(303, { location: `/verify/${body.session.id}` }).end();
  }

  function verify(res: ServerResponse, sessionId: string) {
    const secret = pending.get(sessionId);
    if (!secret) {
      res.writeHead(303, { location: `/report/${sessionId}` }).end();
      return;
    }
    pending.delete(sessionId);
    res.writeHead(200, {
      "content-type": "text/html; charset=utf-8",
      "cache-control": "no-store",
      "referrer-policy": "no-referrer",
      "content-security-policy": `default-src 'none'; script-src 'self' ${apiOrigin}; connect-src ${apiOrigin} ${wsOrigin}; style-src 'unsafe-inline'; img-src data:; media-src blob: mediastream:; base-uri 'none'`,
    });
    res.end(verifyPage({ apiBase: apiOrigin, sessionId, clientSecret: secret }));
  }

  async function report(res: ServerResponse, sessionId: string) {
    const found = await fetch(new URL(`/v1/sessions/${sessionId}`, opts.apiBase), {
      headers: { authorization: `Bearer ${opts.apiKey}` },
    });
    if (found.status !== 200) {
      res.writeHead(404, { "content-type": "text/plain" }).end("no such session");
      return;
    }
    const { session } = (await found.json()) as { session: SessionForReport };
    res.writeHead(200, {
      "content-type": "text/html; charset=utf-8",
      "cache-control": "no-store",
      "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:",
    });
    res.end(reportPage(session));
  }

  async function page(res: ServerResponse) {
    const list = (await api("/v1/sessions?limit=20")) as {
      data: {
        id: string;
        status: string;
        incompleteReason: string | null;
        createdAt: string;
        report: { risk: { score: number; decision: string; reasons: { code: string }[] } } | null;
      }[];
    };
    const rows = list.data
      .map(
        (s) =>
          `<tr><td><a href="/report/${escapeHtml(s.id)}"><code>${escapeHtml(s.id)}</code></a></td><td>${escapeHtml(s.status)}${s.incompleteReason ? ` (${escapeHtml(s.incompleteReason)})` : ""}</td><td>${escapeHtml(s.report?.risk.decision ?? "—")}</td><td>${escapeHtml(s.report?.risk.score ?? "—")}</td><td>${escapeHtml(s.report?.risk.reasons.map((r) => r.code).join(", ") ?? "")}</td><td>${escapeHtml(s.createdAt)}</td></tr>`,
      )
      .join("");
    const hooks = events
      .slice(-20)
      .reverse()
      .map(
        (e) =>
          `<tr><td>${escapeHtml(e.at)}</td><td>${escapeHtml(e.type)}</td><td><code>${escapeHtml(e.sessionId ?? "")}</code></td><td>${e.verified ? "✓ verified" : "✗ bad signature"}</td><td>${escapeHtml(e.decision ?? "")}</td></tr>`,
      )
      .join("");
    res.writeHead(200, {
      "content-type": "text/html; charset=utf-8",
      "cache-control": "no-store",
      "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'",
    });
    res.end(`<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>Facet demo integrator</title>
<link rel="icon" href="data:,"><style>${DEMO_CSS}</style></head>
<body><h1>Facet demo integrator</h1>
<form class="start" method="post" action="/start"><p>Creates a session (permissions, then a face check with two challenges) with this integrator's API key, server-side, and opens the widget. Needs a camera and a microphone.</p><button type="submit">Start a verification</button></form>
<p>API: <code>${escapeHtml(opts.apiBase)}</code>. <code>npm run session</code> runs a scripted session instead; results and webhooks appear here.</p>
<h2>Sessions</h2><table><thead><tr><th>id</th><th>status</th><th>decision</th><th>score</th><th>reasons</th><th>created</th></tr></thead><tbody>${rows}</tbody></table>
<h2>Webhooks received</h2><table><thead><tr><th>at</th><th>type</th><th>session</th><th>signature</th><th>decision</th></tr></thead><tbody>${hooks}</tbody></table></body></html>`);
  }

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://demo.invalid");
    const handle = async () => {
      if (req.method === "POST" && url.pathname === "/webhooks") {
        const body = await readBody(req);
        let verified = false;
        let payload: {
          type?: string;
          data?: { session?: { id?: string; report?: { risk?: { decision?: string } } | null } };
        } = {};
        try {
          payload = (verifier?.verify(body, req.headers as Record<string, string>) ?? {}) as typeof payload;
          verified = verifier !== null;
        } catch {
          verified = false;
        }
        events.push({
          id: String(req.headers["webhook-id"] ?? ""),
          type: payload.type ?? "unverified",
          sessionId: payload.data?.session?.id ?? null,
          verified,
          at: new Date().toISOString(),
          decision: payload.data?.session?.report?.risk?.decision ?? null,
        });
        res.writeHead(verified ? 204 : 400).end();
        return;
      }
      if (req.method === "GET" && url.pathname === "/api/webhooks") {
        res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(events));
        return;
      }
      if (req.method === "GET" && url.pathname === "/") return page(res);
      if (req.method === "POST" && url.pathname === "/start") return startSession(res);
      if (req.method === "GET" && url.pathname === "/demo.js") {
        res.writeHead(200, { "content-type": "text/javascript; charset=utf-8", "cache-control": "no-store" });
        res.end(DEMO_JS);
        return;
      }
      const [, kind, id] = /^\/(verify|report)\/([^/]+)$/.exec(url.pathname) ?? [];
      if (req.method === "GET" && id && SESSION_ID.test(id)) {
        if (kind === "verify") return verify(res, id);
        return report(res, id);
      }
      res.writeHead(404).end();
    };
    handle().catch(() => {
      if (!res.headersSent) res.writeHead(500).end();
    });
  });
  await new Promise<void>((r) => server.listen(opts.port, "127.0.0.1", r));
  const address = server.address();
  if (!address || typeof address === "string") throw new Error("demo did not bind");
  return {
    url: `http://127.0.0.1:${address.port}/`,
    events,
    setWebhookSecret(secret) {
      verifier = new Webhook(secret);
    },
    close: () => new Promise((r) => server.close(() => r())),
  };
}
