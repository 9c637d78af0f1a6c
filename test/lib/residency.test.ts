/**
 * The production branch of Durable Object placement (lib/residency.ts), which local workerd
 * cannot run (it implements no jurisdictions): against a recording namespace shaped like
 * Cloudflare's, a session's object is always taken from `jurisdiction(zone)` — never from the
 * unrestricted namespace — and an object refuses a session whose zone is not its jurisdiction.
 * The workerd side (emulation, routing, report) is test/edge/residency.test.ts.
 */
import { describe, expect, it } from "vitest";
import { assertPlacement, observedPlacement, PlacementError, sessionStub } from "../../lib/residency.ts";

interface FakeId {
  name: string;
  jurisdiction?: string;
}

function recordingNamespace() {
  const calls: string[] = [];
  const make = (jurisdiction?: string) => ({
    idFromName(name: string): FakeId {
      calls.push(`${jurisdiction ?? "plain"}.idFromName(${name})`);
      return jurisdiction ? { name, jurisdiction } : { name };
    },
    get(id: FakeId) {
      calls.push(`${jurisdiction ?? "plain"}.get(${id.jurisdiction ?? "plain"}:${id.name})`);
      return { id };
    },
    jurisdiction(zone: string) {
      calls.push(`jurisdiction(${zone})`);
      return make(zone);
    },
  });
  return { calls, namespace: make() };
}

const asEnv = (namespace: unknown, emulate?: string) =>
  ({ SESSION: namespace, DEV_EMULATE_DO_JURISDICTION: emulate }) as Parameters<typeof sessionStub>[0];
const asId = (id: FakeId) => id as unknown as DurableObjectId;

describe("sessionStub in production", () => {
  for (const zone of ["eu", "us"] as const) {
    it(`takes a ${zone} session's object from jurisdiction("${zone}") only`, () => {
      const { calls, namespace } = recordingNamespace();
      for (const emulate of [undefined, "false"]) {
        calls.length = 0;
        const stub = sessionStub(asEnv(namespace, emulate), { id: "ses_abc", zone }) as unknown as {
          id: FakeId;
        };
        expect(stub.id).toEqual({ name: "ses_abc", jurisdiction: zone });
        expect(calls).toEqual([
          `jurisdiction(${zone})`,
          `${zone}.idFromName(ses_abc)`,
          `${zone}.get(${zone}:ses_abc)`,
        ]);
      }
    });
  }

  it("uses the zone-named object of the plain namespace only under the development emulation", () => {
    const { calls, namespace } = recordingNamespace();
    const stub = sessionStub(asEnv(namespace, "true"), { id: "ses_abc", zone: "us" }) as unknown as {
      id: FakeId;
    };
    expect(stub.id).toEqual({ name: "us/ses_abc" });
    expect(calls).toEqual(["plain.idFromName(us/ses_abc)", "plain.get(plain:us/ses_abc)"]);
  });
});

describe("assertPlacement", () => {
  const prod = {};
  const emulated = { DEV_EMULATE_DO_JURISDICTION: "true" };

  it("accepts an object in the session's jurisdiction", () => {
    expect(
      assertPlacement(asId({ name: "ses_1", jurisdiction: "eu" }), prod, { sessionId: "ses_1", zone: "eu" }),
    ).toBe("eu");
    expect(assertPlacement(asId({ name: "us/ses_1" }), emulated, { sessionId: "ses_1", zone: "us" })).toBe(
      "us",
    );
  });

  it("refuses an object of another or no jurisdiction", () => {
    const cases: [FakeId, object, "eu" | "us"][] = [
      [{ name: "ses_1", jurisdiction: "us" }, prod, "eu"],
      [{ name: "ses_1" }, prod, "eu"],
      [{ name: "ses_1", jurisdiction: "fedramp" }, prod, "us"],
      [{ name: "ses_1" }, emulated, "eu"],
      [{ name: "eu/ses_1" }, emulated, "us"],
      [{ name: "eu/ses_2" }, emulated, "eu"],
    ];
    for (const [id, env, zone] of cases) {
      expect(() => assertPlacement(asId(id), env, { sessionId: "ses_1", zone }), JSON.stringify(id)).toThrow(
        PlacementError,
      );
    }
  });

  it("reports no placement for an object outside any zone", () => {
    expect(observedPlacement(asId({ name: "ses_1" }), prod, "ses_1")).toBeNull();
  });
});
