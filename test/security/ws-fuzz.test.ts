/**
 * Fuzzing the widget WebSocket protocol against the real session Durable Object: truncated and
 * malformed media headers, wrong kinds and formats, out-of-order sequence numbers, oversized
 * messages, binary garbage, hostile JSON, floods. Whatever arrives, the connection ends with a
 * defined close code (never an internal error), the session reaches a terminal state, and the
 * integrator receives its event — no crash, no stuck session.
 *
 * `WS_FUZZ_SESSIONS` sets the number of fuzzed sessions (npm test: 24; test:security: 300).
 */
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CloseCode, encodeMedia, LIMITS, MEDIA_HEADER_BYTES } from "../../lib/widget-protocol.ts";
import { ScriptedClient } from "../../scripts/lib/scripted-client.ts";
import { createSession, type Harness, startHarness } from "../support/harness.ts";

const SESSIONS = Number(process.env.WS_FUZZ_SESSIONS ?? 24);
const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31);
const DEFINED_CLOSES = new Set<number>([
  CloseCode.normal,
  CloseCode.malformed,
  CloseCode.protocolOrder,
  CloseCode.sessionEnded,
  CloseCode.tooLarge,
  CloseCode.rateExceeded,
  CloseCode.idleTimeout,
]);

type Message = { kind: "binary"; bytes: Uint8Array } | { kind: "text"; text: string };

const mediaMessage: fc.Arbitrary<Message> = fc
  .record({
    kind: fc.constantFrom(0, 1, 2, 3, 255),
    format: fc.constantFrom(0, 1, 2, 7),
    seq: fc.oneof(fc.nat(20), fc.constant(0xffffffff)),
    tsMs: fc.oneof(
      fc.double({ min: -10, max: 100_000 }),
      fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, 1e12),
    ),
    payload: fc.uint8Array({ minLength: 0, maxLength: 64 }),
    truncateTo: fc.option(fc.nat(MEDIA_HEADER_BYTES + 4)),
  })
  .map(({ kind, format, seq, tsMs, payload, truncateTo }) => {
    const bytes = encodeMedia({ kind, format, seq, tsMs }, payload);
    return { kind: "binary" as const, bytes: truncateTo === null ? bytes : bytes.subarray(0, truncateTo) };
  });

const controlMessage: fc.Arbitrary<Message> = fc
  .oneof(
    fc.constantFrom(
      { type: "ping" },
      { type: "permissions", camera: true, microphone: true },
      { type: "permissions", camera: "yes" },
      { type: "email", value: "not-an-email" },
      { type: "cancel_step" },
      { type: "hello", device: {} },
      { type: "signals", behavior: { pointerMoves: -1 } },
      { type: "__proto__" },
      [],
      null,
    ),
    fc.jsonValue(),
  )
  .map((value) => ({ kind: "text" as const, text: JSON.stringify(value) ?? "null" }));

const hostile: fc.Arbitrary<Message> = fc.oneof(
  fc.uint8Array({ minLength: 0, maxLength: 256 }).map((bytes) => ({ kind: "binary" as const, bytes })),
  fc.string({ maxLength: 200 }).map((text) => ({ kind: "text" as const, text })),
  fc.constant({ kind: "binary" as const, bytes: new Uint8Array(LIMITS.maxMediaMessageBytes + 17) }),
  fc.constant({
    kind: "text" as const,
    text: `{"type":"ping","x":"${"a".repeat(LIMITS.maxControlMessageBytes)}"}`,
  }),
);

const script = fc.record({
  messages: fc.array(fc.oneof(mediaMessage, controlMessage, hostile), { minLength: 1, maxLength: 12 }),
  flood: fc.boolean(),
});

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.dispose();
});

describe("WebSocket protocol fuzz", () => {
  it(
    `ends ${SESSIONS} fuzzed sessions in a defined state with a defined close code (seed ${SEED})`,
    async () => {
      const closes = new Map<number, number>();
      await fc.assert(
        fc.asyncProperty(script, async ({ messages, flood }) => {
          const { session, clientSecret } = await createSession(h);
          const client = await ScriptedClient.connect(h.platform.url, clientSecret.secret);
          await client.waitFor((m) => m.type === "ready");
          const sequence = flood
            ? [...messages, ...Array.from({ length: LIMITS.messageBurst * 3 }, () => messages[0])]
            : messages;
          for (const message of sequence) {
            if (!client.open || !message) break;
            client.sendRaw(message.kind === "binary" ? message.bytes : message.text);
          }
          // Whatever the server made of it, end the session from our side if it is still open.
          const closed = await Promise.race([
            client.closed,
            new Promise<null>((r) => setTimeout(() => r(null), 1500)),
          ]);
          if (closed === null) client.close();
          const final = closed ?? (await client.closed);
          closes.set(final.code, (closes.get(final.code) ?? 0) + 1);
          if (closed !== null && !DEFINED_CLOSES.has(final.code)) return false;
          const hook = await h.receiver.waitFor(
            (w) =>
              w.json.data.session.id === session.id &&
              (w.json.type === "session.incomplete" || w.json.type === "session.completed"),
            15_000,
          );
          return (
            hook.json.data.session.status === "incomplete" || hook.json.data.session.status === "complete"
          );
        }),
        { numRuns: SESSIONS, seed: SEED, endOnFailure: true },
      );
      console.log(`ws fuzz close codes (seed ${SEED}): ${JSON.stringify(Object.fromEntries(closes))}`);
      expect((await h.api("/healthz", { key: "" })).status).toBe(200);
      // every fuzzed session ended: none is left in progress
      const open = await h.platform.db
        .prepare("SELECT COUNT(*) AS n FROM sessions WHERE status IN ('created','in_progress')")
        .first<{ n: number }>();
      expect(open?.n).toBe(0);
    },
    60_000 + SESSIONS * 3_000,
  );
});
