/**
 * A local webhook receiver: the integrator's endpoint at the network edge of the system under
 * test. It records every delivery and can be told to fail the next N requests.
 */
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";

export interface ReceivedWebhook {
  headers: IncomingHttpHeaders;
  body: string;
  json: {
    type: string;
    timestamp: string;
    data: { session: { id: string; status: string; incompleteReason: string | null; report: unknown } };
  };
}

export interface WebhookReceiver {
  url: string;
  received: ReceivedWebhook[];
  failNext(count: number): void;
  waitFor(predicate: (w: ReceivedWebhook) => boolean, timeoutMs?: number): Promise<ReceivedWebhook>;
  close(): Promise<void>;
}

export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  const received: ReceivedWebhook[] = [];
  let failures = 0;
  const waiters: { predicate: (w: ReceivedWebhook) => boolean; resolve: (w: ReceivedWebhook) => void }[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      if (failures > 0) {
        failures -= 1;
        res.writeHead(503).end();
        return;
      }
      const body = Buffer.concat(chunks).toString("utf8");
      const hook: ReceivedWebhook = {
        headers: req.headers,
        body,
        json: JSON.parse(body) as ReceivedWebhook["json"],
      };
      received.push(hook);
      res.writeHead(204).end();
      for (const w of [...waiters]) {
        if (w.predicate(hook)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(hook);
        }
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const address = server.address();
  if (!address || typeof address === "string") throw new Error("receiver did not bind");
  return {
    url: `http://127.0.0.1:${address.port}/hooks`,
    received,
    failNext(count) {
      failures = count;
    },
    waitFor(predicate, timeoutMs = 20_000) {
      const hit = received.find(predicate);
      if (hit) return Promise.resolve(hit);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () =>
            reject(
              new Error(
                `no matching webhook within ${timeoutMs} ms (got ${received.map((r) => r.json.type).join(", ")})`,
              ),
            ),
          timeoutMs,
        );
        waiters.push({
          predicate,
          resolve: (w) => {
            clearTimeout(timer);
            resolve(w);
          },
        });
      });
    },
    close: () => new Promise((r) => server.close(() => r())),
  };
}
