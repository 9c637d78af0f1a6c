/**
 * A WebSocket handshake by hand (RFC 6455 §4.1), for tests that need the HTTP answer of a
 * refused upgrade: status, headers and problem+json body. An accepted upgrade is a failure of
 * the caller's expectation, so it rejects (and drops the socket).
 */
import { request } from "node:http";

export interface RefusedUpgrade {
  status: number;
  headers: Record<string, unknown>;
  body: string;
}

/** `protocols` is the `Sec-WebSocket-Protocol` value, e.g. `facet.v1, cs_…`. */
export function rawUpgrade(
  baseUrl: string | URL,
  protocols: string,
  path = "/v1/connect",
): Promise<RefusedUpgrade> {
  return new Promise((resolve, reject) => {
    const req = request(new URL(path, baseUrl), {
      headers: {
        connection: "Upgrade",
        upgrade: "websocket",
        "sec-websocket-version": "13",
        "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
        "sec-websocket-protocol": protocols,
      },
    });
    req.on("response", (res) => {
      let body = "";
      res.on("data", (c: Buffer) => {
        body += c.toString();
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on("upgrade", (_res, socket) => {
      socket.destroy();
      reject(new Error("upgrade was accepted"));
    });
    req.on("error", reject);
    req.end();
  });
}
