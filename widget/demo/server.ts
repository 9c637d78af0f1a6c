/**
 * The demo integrator: what an integrator's backend does with Facet, running beside
 * `npm start`. It keeps the API key server-side, receives webhooks and verifies them with the
 * Standard Webhooks reference library (any receiver can), and shows sessions and their reports.
 * The embeddable widget and hosted page join it in the widget issue.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { Webhook } from "standardwebhooks";

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

const escapeHtml = (s: unknown) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

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
          `<tr><td><code>${escapeHtml(s.id)}</code></td><td>${escapeHtml(s.status)}${s.incompleteReason ? ` (${escapeHtml(s.incompleteReason)})` : ""}</td><td>${escapeHtml(s.report?.risk.decision ?? "—")}</td><td>${escapeHtml(s.report?.risk.score ?? "—")}</td><td>${escapeHtml(s.report?.risk.reasons.map((r) => r.code).join(", ") ?? "")}</td><td>${escapeHtml(s.createdAt)}</td></tr>`,
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
<style>body{font:15px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:70rem;padding:0 1rem;color:#1b1f24}table{border-collapse:collapse;width:100%;margin:1rem 0 2rem}td,th{border-bottom:1px solid #d8dee4;padding:.4rem .5rem;text-align:left;vertical-align:top}code{font-size:13px}</style></head>
<body><h1>Facet demo integrator</h1><p>API: <code>${escapeHtml(opts.apiBase)}</code>. Run <code>npm run session</code> for a scripted session; results and webhooks appear here.</p>
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
