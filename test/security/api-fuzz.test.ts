/**
 * Schema-driven fuzzing of the HTTP API. Requests are generated from the platform's own
 * `GET /openapi.json` — valid shapes, shapes with one thing wrong, and hostile bytes — and sent
 * to the real edge in workerd. Every answer must be a documented status: 2xx with JSON, or 4xx
 * as problem+json with an `ERR_…` code. No 5xx, and the platform keeps serving afterwards.
 *
 * `FUZZ_CASES` sets the number of generated requests (npm test: 600; npm run test:security:
 * 10 000). The seed is printed so a failure can be replayed with `FUZZ_SEED`.
 */
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSession, type Harness, startHarness } from "../support/harness.ts";

const CASES = Number(process.env.FUZZ_CASES ?? 600);
const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31);

type Schema = {
  $ref?: string;
  type?: string | string[];
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  enum?: unknown[];
  const?: unknown;
  anyOf?: Schema[];
  oneOf?: Schema[];
  allOf?: Schema[];
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  minItems?: number;
  maxItems?: number;
  additionalProperties?: boolean | Schema;
};

interface Operation {
  method: string;
  path: string;
  params: { name: string; in: string; schema?: Schema }[];
  body: Schema | null;
}

let h: Harness;
let doc: {
  paths: Record<
    string,
    Record<
      string,
      { parameters?: Operation["params"]; requestBody?: { content?: Record<string, { schema?: Schema }> } }
    >
  >;
  components: { schemas: Record<string, Schema> };
};
const knownIds: Record<string, string[]> = {};

beforeAll(async () => {
  h = await startHarness({ vars: { RATE_LIMIT_PER_MINUTE: "10000000" } });
  doc = (await (await h.api("/openapi.json", { key: "" })).json()) as typeof doc;
  const { session } = await createSession(h);
  const endpoints = (await (await h.api("/v1/webhook-endpoints")).json()) as { data: { id: string }[] };
  knownIds.ses = [session.id];
  knownIds.whe = endpoints.data.map((e) => e.id);
});
afterAll(async () => {
  await h?.dispose();
});

function resolve(schema: Schema): Schema {
  if (!schema.$ref) return schema;
  const name = schema.$ref.split("/").at(-1) ?? "";
  return resolve(doc.components.schemas[name] ?? {});
}

const hostileString = fc.oneof(
  fc.string(),
  fc.string({ unit: "grapheme", maxLength: 64 }),
  fc.constantFrom(
    "",
    " ",
    "\u0000",
    "../../etc/passwd",
    "%00",
    "<script>",
    "' OR 1=1 --",
    "\ud800",
    "💥".repeat(300),
    "a".repeat(70_000),
  ),
);

const anyJson: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: "small" },
    fc.constant(null),
    fc.boolean(),
    fc.double(),
    fc.integer(),
    hostileString,
    fc.array(tie("value"), { maxLength: 4 }),
    fc.dictionary(hostileString, tie("value"), { maxKeys: 4 }),
  ),
})).value;

/** Values that satisfy the schema (as far as a generator can), depth-bounded. */
function valid(schema: Schema, depth = 0): fc.Arbitrary<unknown> {
  const s = resolve(schema);
  if (depth > 6) return fc.constant(null);
  if (s.const !== undefined) return fc.constant(s.const);
  if (s.enum) return fc.constantFrom(...s.enum);
  const options = s.anyOf ?? s.oneOf;
  if (options && options.length > 0) return fc.oneof(...options.map((o) => valid(o, depth + 1)));
  if (s.allOf && s.allOf.length > 0) return valid(s.allOf[0] ?? {}, depth + 1);
  const type = Array.isArray(s.type) ? s.type[0] : s.type;
  switch (type) {
    case "string":
      return fc.string({ minLength: s.minLength ?? 0, maxLength: Math.min(s.maxLength ?? 40, 200) });
    case "integer":
      return fc.integer({ min: s.minimum ?? -1000, max: s.maximum ?? 100_000 });
    case "number":
      return fc.double({ min: s.minimum ?? -1e6, max: s.maximum ?? 1e6, noNaN: true });
    case "boolean":
      return fc.boolean();
    case "array":
      return fc.array(valid(s.items ?? {}, depth + 1), {
        minLength: s.minItems ?? 0,
        maxLength: Math.min(s.maxItems ?? 3, 4),
      });
    case "object": {
      const props = s.properties ?? {};
      const required = new Set(s.required ?? []);
      const record: Record<string, fc.Arbitrary<unknown>> = {};
      for (const [k, v] of Object.entries(props)) record[k] = valid(v, depth + 1);
      return fc.record(record, { requiredKeys: Object.keys(props).filter((k) => required.has(k)) });
    }
    default:
      return anyJson;
  }
}

/** A valid value with one thing broken: a dropped required key, a wrong type, an extra key. */
function mutated(schema: Schema): fc.Arbitrary<unknown> {
  return fc.tuple(valid(schema), fc.nat(), anyJson, hostileString).map(([value, pick, junk, key]) => {
    if (value === null || typeof value !== "object" || Array.isArray(value)) return junk;
    const copy: Record<string, unknown> = { ...(value as Record<string, unknown>) };
    const keys = Object.keys(copy);
    const target = keys[pick % Math.max(1, keys.length)];
    switch (pick % 3) {
      case 0:
        if (target) delete copy[target];
        break;
      case 1:
        if (target) copy[target] = junk;
        break;
      default:
        copy[key] = junk;
    }
    return copy;
  });
}

function operations(): Operation[] {
  const ops: Operation[] = [];
  for (const [path, methods] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(methods)) {
      const body = op.requestBody?.content?.["application/json"]?.schema ?? null;
      ops.push({ method: method.toUpperCase(), path, params: op.parameters ?? [], body });
    }
  }
  return ops;
}

/** Lone surrogates cannot be percent-encoded; replace them as String#toWellFormed does (ES2024). */
const wellFormed = (s: string) =>
  s.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, "\ufffd");

const pathValue = fc.oneof(
  fc.constantFrom(
    "ses_aaaaaaaaaaaaaaaaaaaaaa",
    "whe_aaaaaaaaaaaaaaaaaaaaaa",
    "msg_aaaaaaaaaaaaaaaaaaaaaa",
    "user-1",
  ),
  hostileString.filter((s) => s.length > 0 && s.length < 300),
);

describe("HTTP API fuzz", () => {
  it(
    `answers ${CASES} generated requests with documented statuses only (seed ${SEED})`,
    async () => {
      const ops = operations();
      expect(ops.length).toBeGreaterThanOrEqual(6);
      const request = fc.record({
        op: fc.constantFrom(...ops),
        ids: fc.array(
          fc.oneof(pathValue, fc.constantFrom(...(knownIds.ses ?? []), ...(knownIds.whe ?? []))),
          { minLength: 3, maxLength: 3 },
        ),
        bodyKind: fc.constantFrom("valid", "mutated", "junk", "text", "none"),
        query: fc.dictionary(
          fc.constantFrom("limit", "cursor", "status", "clientReferenceId", "createdAfter", "x"),
          hostileString,
          { maxKeys: 3 },
        ),
        seed: fc.nat(),
      });
      const statuses = new Map<number, number>();
      await fc.assert(
        fc.asyncProperty(request, fc.context(), async ({ op, ids, bodyKind, query }, ctx) => {
          let i = 0;
          const path = op.path.replace(/\{[^}]+\}/g, () =>
            encodeURIComponent(wellFormed(ids[i++ % ids.length] ?? "x")),
          );
          const url = new URL(path, h.platform.url);
          for (const [k, v] of Object.entries(query)) url.searchParams.set(k, wellFormed(v.slice(0, 500)));
          let body: string | undefined;
          if (op.method !== "GET" && op.method !== "DELETE") {
            if (bodyKind === "valid" && op.body) body = JSON.stringify(fc.sample(valid(op.body), 1)[0]);
            else if (bodyKind === "mutated" && op.body)
              body = JSON.stringify(fc.sample(mutated(op.body), 1)[0]);
            else if (bodyKind === "junk") body = JSON.stringify(fc.sample(anyJson, 1)[0]);
            else if (bodyKind === "text") body = fc.sample(hostileString, 1)[0];
          }
          ctx.log(`${op.method} ${url.pathname}${url.search} ${body?.slice(0, 200) ?? ""}`);
          const res = await h.api(url.pathname + url.search, {
            method: op.method,
            ...(body !== undefined ? { body } : {}),
          });
          statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
          const text = await res.text();
          if (res.status >= 500) return false;
          if (res.status >= 400) {
            if (!res.headers.get("content-type")?.includes("application/problem+json")) return false;
            const problem = JSON.parse(text) as { code?: string; status?: number };
            return /^ERR_[A-Z_]+$/.test(problem.code ?? "") && problem.status === res.status;
          }
          if (res.status !== 204) JSON.parse(text);
          return true;
        }),
        { numRuns: CASES, seed: SEED, endOnFailure: true },
      );
      console.log(`fuzz statuses (seed ${SEED}): ${JSON.stringify(Object.fromEntries(statuses))}`);
      const health = await h.api("/healthz", { key: "" });
      expect(health.status).toBe(200);
      expect((await h.api("/v1/sessions?limit=1")).status).toBe(200);
    },
    60_000 + CASES * 60,
  );
});
