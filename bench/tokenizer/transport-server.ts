/**
 * A transport-only twin of the tokenizer's HTTPS front, for the keep-alive versus handshake
 * comparison: the same TLS settings as services/tokenizer/server.ts (TLS 1.3 only, client
 * certificate required and verified, clientAuth EKU checked with the service's own
 * `peerHasClientAuth`), the body read by the service's own `readBody`, and a JSON reply of the
 * size the real service sends — but no tokenization, so what is left is the cost of moving one
 * batch over mTLS. Run as a child process so its CPU time is its own:
 *
 *   node bench/tokenizer/transport-server.ts CERT KEY CLIENT_CA REPLY_BYTES
 *
 * Prints `{"ready":true,"url":…}` once listening on an ephemeral loopback port; exits on SIGTERM.
 */
import { readFileSync } from "node:fs";
import { createServer } from "node:https";
import type { AddressInfo } from "node:net";
import type { TLSSocket } from "node:tls";
import { MAX_BATCH_BYTES, zeroize } from "../../lib/tokenizer-batch.ts";
import { readBody } from "../../services/tokenizer/body.ts";
import { peerHasClientAuth } from "../../services/tokenizer/server.ts";

const [certPath, keyPath, caPath, replyBytes] = process.argv.slice(2);
if (!certPath || !keyPath || !caPath || !replyBytes) {
  process.stderr.write("usage: transport-server.ts CERT KEY CLIENT_CA REPLY_BYTES\n");
  process.exit(2);
}
const reply = JSON.stringify({ pad: "x".repeat(Math.max(0, Number(replyBytes) - 10)) });

const server = createServer(
  {
    cert: readFileSync(certPath),
    key: readFileSync(keyPath),
    ca: readFileSync(caPath),
    minVersion: "TLSv1.3",
    requestCert: true,
    rejectUnauthorized: true,
  },
  (req, res) => {
    void (async () => {
      const body = await readBody(req, MAX_BATCH_BYTES);
      zeroize(body);
      res.writeHead(200, {
        "content-type": "application/json",
        "content-length": Buffer.byteLength(reply),
        "cache-control": "no-store",
      });
      res.end(reply);
    })().catch(() => res.destroy());
  },
);
server.on("secureConnection", (socket: TLSSocket) => {
  if (!peerHasClientAuth(socket)) socket.destroy();
});
server.listen(0, "127.0.0.1", () => {
  const { port } = server.address() as AddressInfo;
  process.stdout.write(`${JSON.stringify({ ready: true, url: `https://127.0.0.1:${port}` })}\n`);
});
process.on("SIGTERM", () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
});
