/**
 * Flow schemas and graph rules (product-spec §2). Each rule has a flow that breaks exactly that
 * rule, and the assertion names both the rule and the node, because that is what the integrator
 * sees in the problem+json error. Valid flows cover the shapes the DO will run.
 */
import { describe, expect, it } from "vitest";
import { type FlowInput, outcomesOf, parseCondition, successors } from "../../lib/flow.ts";
import { type FlowValidation, validateFlow } from "../../lib/flow-validate.ts";

const start = (next: string) => ({ id: "s", type: "start", next });
const end = (id = "e") => ({ id, type: "end" });
const perms = (id: string, granted: string, denied: string, camera = true) => ({
  id,
  type: "permissions",
  camera,
  outcomes: { granted, denied },
});
const liveness = (id: string, live: string, other: string) => ({
  id,
  type: "liveness",
  outcomes: { live, spoof: other, no_face: other, inconclusive: other },
});
const convo = (id: string, outcomes: { when: string; next: string }[]) => ({
  id,
  type: "conversation",
  prompt: "Are you applying for this loan yourself?",
  outcomes,
});

/** The canonical valid flow: start → permissions → liveness → end. */
const basic = () => [start("p"), perms("p", "l", "e"), liveness("l", "e", "e"), end()];

function errorsOf(result: FlowValidation) {
  if (result.ok) throw new Error("expected the flow to be rejected");
  return result.errors;
}

function expectRule(nodes: unknown, rule: string, nodeId: string | null) {
  const errors = errorsOf(validateFlow(nodes));
  const hit = errors.find((e) => e.rule === rule && e.nodeId === nodeId);
  expect(hit, JSON.stringify(errors)).toBeDefined();
  expect(hit?.message).toContain(rule);
  if (nodeId) expect(hit?.message).toContain(`"${nodeId}"`);
  return errors;
}

describe("valid flows", () => {
  it("accepts start → permissions → liveness → end and fills defaults", () => {
    const result = validateFlow(basic());
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.warnings).toEqual([]);
    expect(result.flow[1]).toMatchObject({ camera: true, microphone: true });
    expect(result.flow[2]).toMatchObject({ challenges: 2, minSeconds: 3 });
  });

  it("accepts a passive liveness node (challenges: 0)", () => {
    const nodes = basic();
    const result = validateFlow([...nodes.slice(0, 2), { ...liveness("l", "e", "e"), challenges: 0 }, end()]);
    expect(result.ok).toBe(true);
  });

  it("accepts a conversation with conditions and a fallback", () => {
    const nodes = [
      start("p"),
      perms("p", "c", "review"),
      convo("c", [
        { when: "affirm", next: "ok" },
        { when: "deny", next: "review" },
        { when: "mentions:friend, brother,Boss", next: "review" },
        { when: "number_equals:metadata.amount", next: "ok" },
        { when: "", next: "review" },
      ]),
      end("ok"),
      end("review"),
    ];
    const result = validateFlow(nodes);
    expect(result).toMatchObject({ ok: true, warnings: [] });
  });

  it("accepts a data_validation branch", () => {
    const nodes = [
      start("dv"),
      {
        id: "dv",
        type: "data_validation",
        field: "metadata.amount",
        operator: "gt",
        value: 10_000,
        outcomes: { pass: "p", fail: "e" },
      },
      perms("p", "l", "e"),
      liveness("l", "e", "e"),
      end(),
    ];
    expect(validateFlow(nodes).ok).toBe(true);
  });

  it("allows a retry loop that has an exit", () => {
    const nodes = [start("p"), perms("p", "l", "e"), liveness("l", "e", "l"), end()];
    expect(validateFlow(nodes).ok).toBe(true);
  });
});

describe("shape errors (invalid_node)", () => {
  it("rejects a fixed-outcome map with a missing outcome, never filling it", () => {
    const nodes = basic();
    nodes[2] = { id: "l", type: "liveness", outcomes: { live: "e", spoof: "e", no_face: "e" } } as never;
    const errors = expectRule(nodes, "invalid_node", "l");
    expect(errors[0]?.message).toContain("inconclusive");
  });

  it("rejects an extra outcome key", () => {
    const nodes = basic();
    nodes[1] = { ...perms("p", "l", "e"), outcomes: { granted: "l", denied: "e", maybe: "e" } } as never;
    expectRule(nodes, "invalid_node", "p");
  });

  it("rejects bad ids, unknown types, out-of-range config and over-long prompts", () => {
    expectRule([{ id: "bad id!", type: "end" }], "invalid_node", "bad id!");
    expectRule([start("e"), { id: "x", type: "selfie" }, end()], "invalid_node", "x");
    expectRule([start("l"), { ...liveness("l", "e", "e"), challenges: 4 }, end()], "invalid_node", "l");
    expectRule(
      [start("c"), { ...convo("c", [{ when: "", next: "e" }]), prompt: "x".repeat(501) }, end()],
      "invalid_node",
      "c",
    );
    expectRule([start("c"), convo("c", []), end()], "invalid_node", "c");
  });

  it("rejects more than 64 nodes and non-arrays", () => {
    const many = [start("e"), ...Array.from({ length: 64 }, (_, i) => end(`e${i}`))];
    expectRule(many, "too_many_nodes", null);
    expectRule({ nodes: [] }, "invalid_node", null);
  });
});

describe("graph rules", () => {
  it("exactly_one_start: none", () => {
    expectRule([end()], "exactly_one_start", null);
  });

  it("exactly_one_start: two", () => {
    expectRule([start("e"), { id: "s2", type: "start", next: "e" }, end()], "exactly_one_start", "s2");
  });

  it("at_least_one_end", () => {
    expectRule([start("p"), perms("p", "p", "p", false)], "at_least_one_end", null);
  });

  it("unique_ids", () => {
    expectRule([start("e"), end(), end()], "unique_ids", "e");
  });

  it("dangling_reference", () => {
    const errors = expectRule([start("p"), perms("p", "nowhere", "e"), end()], "dangling_reference", "p");
    expect(errors.find((e) => e.rule === "dangling_reference")?.message).toContain('"nowhere"');
  });

  it("unreachable_node", () => {
    expectRule([...basic(), end("orphan")], "unreachable_node", "orphan");
  });

  it("no_exit_cycle", () => {
    const nodes = [
      start("p"),
      perms("p", "l", "e"),
      liveness("l", "l2", "e"),
      liveness("l2", "l3", "l3"),
      liveness("l3", "l2", "l2"),
      end(),
    ];
    const errors = expectRule(nodes, "no_exit_cycle", "l2");
    expectRule(nodes, "no_exit_cycle", "l3");
    expect(errors.some((e) => e.rule === "no_exit_cycle" && e.nodeId === "l")).toBe(false);
  });

  it("condition_syntax: unknown condition", () => {
    const nodes = [
      start("c"),
      convo("c", [
        { when: "maybe", next: "e" },
        { when: "", next: "e" },
      ]),
      end(),
    ];
    expectRule(nodes, "condition_syntax", "c");
  });

  it("condition_syntax: fallback not last", () => {
    const nodes = [
      start("c"),
      convo("c", [
        { when: "", next: "e" },
        { when: "affirm", next: "e" },
      ]),
      end(),
    ];
    expectRule(nodes, "condition_syntax", "c");
  });

  it("last_condition_fallback", () => {
    const nodes = [
      start("c"),
      convo("c", [
        { when: "affirm", next: "e" },
        { when: "deny", next: "e" },
      ]),
      end(),
    ];
    expectRule(nodes, "last_condition_fallback", "c");
  });

  it("data_validation_field", () => {
    const dv = {
      id: "dv",
      type: "data_validation",
      field: "amount",
      operator: "exists",
      outcomes: { pass: "e", fail: "e" },
    };
    expectRule([start("dv"), dv, end()], "data_validation_field", "dv");
  });

  it("data_validation_value", () => {
    const dv = (operator: string, value?: unknown) => ({
      id: "dv",
      type: "data_validation",
      field: "providedData.country",
      operator,
      value,
      outcomes: { pass: "e", fail: "e" },
    });
    expectRule([start("dv"), dv("gt", "10"), end()], "data_validation_value", "dv");
    expectRule([start("dv"), dv("in", []), end()], "data_validation_value", "dv");
    expectRule([start("dv"), dv("matches", "(unclosed"), end()], "data_validation_value", "dv");
    expectRule([start("dv"), dv("exists", 1), end()], "data_validation_value", "dv");
    expect(validateFlow([start("dv"), dv("in", ["DE", "FR"]), end()]).ok).toBe(true);
  });

  it("permissions_needed: liveness without any permissions node", () => {
    expectRule([start("l"), liveness("l", "e", "e"), end()], "permissions_needed", "l");
  });

  it("permissions_needed: reachable through the denied outcome or a camera-less grant", () => {
    expectRule([start("p"), perms("p", "l", "l"), liveness("l", "e", "e"), end()], "permissions_needed", "l");
    expectRule(
      [start("p"), perms("p", "l", "e", false), liveness("l", "e", "e"), end()],
      "permissions_needed",
      "l",
    );
  });

  it("reports every finding at once", () => {
    const nodes = [start("p"), perms("p", "x", "l"), liveness("l", "e", "e"), end(), end(), end("orphan")];
    const errors = errorsOf(validateFlow(nodes));
    const rules = new Set(errors.map((e) => e.rule));
    for (const rule of ["dangling_reference", "unreachable_node", "unique_ids", "permissions_needed"]) {
      expect(rules.has(rule as never), rule).toBe(true);
    }
  });
});

describe("warnings", () => {
  it("microphone_needed for a conversation reached without a microphone grant", () => {
    const nodes = [
      start("p"),
      { ...perms("p", "c", "e"), microphone: false },
      convo("c", [{ when: "", next: "e" }]),
      end(),
    ];
    const result = validateFlow(nodes);
    expect(result.ok).toBe(true);
    expect(result.warnings).toEqual([expect.objectContaining({ rule: "microphone_needed", nodeId: "c" })]);
  });

  it("duplicate_condition", () => {
    const nodes = [
      start("p"),
      perms("p", "c", "e"),
      convo("c", [
        { when: "affirm", next: "e" },
        { when: "affirm", next: "e" },
        { when: "", next: "e" },
      ]),
      end(),
    ];
    expect(validateFlow(nodes).warnings).toEqual([
      expect.objectContaining({ rule: "duplicate_condition", nodeId: "c" }),
    ]);
  });
});

describe("parseCondition", () => {
  it.each([
    ["", { kind: "fallback" }],
    ["affirm", { kind: "affirm" }],
    ["deny", { kind: "deny" }],
    ["refuse", { kind: "refuse" }],
    ["no_reply", { kind: "no_reply" }],
    ["unclear", { kind: "unclear" }],
    ["mentions:Friend, boss ,ｂｒｏｔｈｅｒ", { kind: "mentions", terms: ["friend", "boss", "brother"] }],
    ["number_equals:metadata.amount", { kind: "number_equals", field: "metadata.amount" }],
    ["number_near:providedData.income", { kind: "number_near", field: "providedData.income" }],
    ["number_equals:amount", { kind: "number_equals", field: "metadata.amount" }],
  ])("parses %j", (input, condition) => {
    expect(parseCondition(input)).toEqual({ ok: true, condition });
  });

  it.each([
    "Affirm",
    " affirm",
    "maybe",
    "mentions:",
    "mentions:a,,b",
    "number_equals:",
    "number_equals:other.amount",
    "number_near:metadata.",
    "llm:is the user sure?",
  ])("rejects %j", (input) => {
    expect(parseCondition(input).ok).toBe(false);
  });
});

describe("helpers", () => {
  it("outcomesOf and successors follow the wire order", () => {
    const [s, p, l] = (validateFlow(basic()) as Extract<FlowValidation, { ok: true }>).flow;
    if (!s || !p || !l) throw new Error("flow too short");
    expect(outcomesOf(s)).toEqual([{ outcome: "next", next: "p" }]);
    expect(outcomesOf(p)).toEqual([
      { outcome: "granted", next: "l" },
      { outcome: "denied", next: "e" },
    ]);
    expect(successors(l)).toEqual(["e"]);
    const c: FlowInput[number] = convo("c", [
      { when: "affirm", next: "a" },
      { when: "", next: "b" },
    ]) as never;
    const parsed = validateFlow([start("c"), c, end("a"), end("b")]);
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
    const node = parsed.flow[1];
    if (!node) throw new Error("missing node");
    expect(outcomesOf(node)).toEqual([
      { outcome: "affirm", next: "a" },
      { outcome: "fallback", next: "b" },
    ]);
  });
});
