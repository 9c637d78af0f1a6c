/**
 * Flow validation: the graph rules of product-spec §2 on top of the per-node schemas of
 * `lib/flow.ts`. A flow is rejected at session creation with a problem+json error "naming the node
 * and rule" (§2), so every finding here carries a stable `rule`, the offending `nodeId` (null when
 * the finding is about the flow as a whole) and a message that repeats both. All rules run and
 * all findings are returned at once — an integrator fixing a flow should not have to resubmit it
 * once per mistake. The only short-circuit is a shape error: graph rules need well-typed nodes.
 * Findings that make a flow odd but not broken are returned as `warnings` and do not fail it.
 */
import {
  type ConversationNode,
  type DataValidationNode,
  FIELD_PATH,
  type Flow,
  type FlowNode,
  FlowSchema,
  MAX_NODES,
  outcomesOf,
  parseCondition,
  successors,
} from "./flow.ts";

export const FLOW_RULES = [
  "too_many_nodes",
  "invalid_node",
  "exactly_one_start",
  "at_least_one_end",
  "unique_ids",
  "dangling_reference",
  "unreachable_node",
  "no_exit_cycle",
  "condition_syntax",
  "last_condition_fallback",
  "data_validation_field",
  "data_validation_value",
  "permissions_needed",
  "challenge_actions",
] as const;
export type FlowRule = (typeof FLOW_RULES)[number];

export const FLOW_WARNINGS = ["microphone_needed", "duplicate_condition"] as const;
export type FlowWarningRule = (typeof FLOW_WARNINGS)[number];

export interface FlowIssue<R extends string = FlowRule> {
  rule: R;
  nodeId: string | null;
  message: string;
}
export type FlowWarning = FlowIssue<FlowWarningRule>;

export type FlowValidation =
  | { ok: true; flow: Flow; warnings: FlowWarning[] }
  | { ok: false; errors: FlowIssue[]; warnings: FlowWarning[] };

/** Node types that need the camera (they analyse video of the face). */
const CAMERA_TYPES: ReadonlySet<FlowNode["type"]> = new Set(["liveness", "recognition", "face_compare"]);

const label = (n: FlowNode) => `node "${n.id}" (${n.type})`;

export function validateFlow(nodes: unknown): FlowValidation {
  if (Array.isArray(nodes) && nodes.length > MAX_NODES) {
    const message = `too_many_nodes: the flow has ${nodes.length} nodes; at most ${MAX_NODES} are allowed`;
    return { ok: false, errors: [{ rule: "too_many_nodes", nodeId: null, message }], warnings: [] };
  }
  const parsed = FlowSchema.safeParse(nodes);
  if (!parsed.success) return { ok: false, errors: shapeErrors(nodes, parsed.error.issues), warnings: [] };
  const flow = parsed.data;
  const errors: FlowIssue[] = [];
  const warnings: FlowWarning[] = [];
  const err = (rule: FlowRule, node: FlowNode | null, text: string) =>
    errors.push({
      rule,
      nodeId: node?.id ?? null,
      message: `${rule}: ${node ? `${label(node)} ` : ""}${text}`,
    });
  const warn = (rule: FlowWarningRule, node: FlowNode, text: string) =>
    warnings.push({ rule, nodeId: node.id, message: `${rule}: ${label(node)} ${text}` });

  const byId = new Map<string, FlowNode>();
  const seen = new Set<string>();
  for (const node of flow) {
    if (!byId.has(node.id)) byId.set(node.id, node);
    else if (!seen.has(node.id)) {
      seen.add(node.id);
      const count = flow.filter((n) => n.id === node.id).length;
      err("unique_ids", node, `shares its id with ${count - 1} other node(s); ids must be unique`);
    }
  }

  const starts = flow.filter((n) => n.type === "start");
  const ends = flow.filter((n) => n.type === "end");
  if (starts.length === 0) err("exactly_one_start", null, "the flow has no start node");
  if (starts.length > 1) {
    const ids = starts.map((s) => `"${s.id}"`).join(", ");
    for (const s of starts) err("exactly_one_start", s, `is one of ${starts.length} start nodes (${ids})`);
  }
  if (ends.length === 0) err("at_least_one_end", null, "the flow has no end node");

  for (const node of flow) {
    for (const edge of outcomesOf(node)) {
      if (!byId.has(edge.next))
        err("dangling_reference", node, `outcome "${edge.outcome}" points at missing node "${edge.next}"`);
    }
  }

  // §2 "no unreachable nodes": forward reachability from the start node(s).
  if (starts.length > 0) {
    const reached = reach(starts, (n) => successors(n), byId);
    for (const node of flow) {
      if (!reached.has(node.id) && node.type !== "start")
        err("unreachable_node", node, "cannot be reached from start");
    }
  }

  // §2 "no cycles without an exit": every node must be able to reach some end node.
  if (ends.length > 0) {
    const preds = new Map<string, FlowNode[]>();
    for (const node of flow) {
      for (const next of successors(node)) preds.set(next, [...(preds.get(next) ?? []), node]);
    }
    const exits = reach(ends, (n) => (preds.get(n.id) ?? []).map((p) => p.id), byId);
    for (const node of flow) {
      if (!exits.has(node.id))
        err("no_exit_cycle", node, "has no path to an end node (a cycle without an exit?)");
    }
  }

  for (const node of flow) {
    if (node.type === "conversation") checkConditions(node, err, warn);
    if (node.type === "data_validation") checkDataValidation(node, err);
    if (node.type === "liveness" && node.actions) {
      const distinct = new Set(node.actions).size;
      if (distinct !== node.actions.length) err("challenge_actions", node, "lists an action more than once");
      else if (distinct < node.challenges)
        err(
          "challenge_actions",
          node,
          `draws ${node.challenges} challenge(s) without repeats from ${distinct} action(s); list at least ${node.challenges}`,
        );
    }
  }

  // Camera nodes need a granted camera permission on every path from start; conversations that
  // wait for a reply need the microphone (warning only: the DO also takes typed replies).
  if (starts.length > 0) {
    const withoutCamera = reachWithout(starts, byId, "camera");
    for (const node of flow) {
      if (CAMERA_TYPES.has(node.type) && withoutCamera.has(node.id)) {
        err(
          "permissions_needed",
          node,
          'can be reached without passing the "granted" outcome of a permissions node with camera: true',
        );
      }
    }
    const withoutMic = reachWithout(starts, byId, "microphone");
    for (const node of flow) {
      if (node.type === "conversation" && !node.noReplyNeeded && withoutMic.has(node.id)) {
        warn(
          "microphone_needed",
          node,
          "waits for a spoken reply but can be reached without a microphone grant",
        );
      }
    }
  }

  return errors.length > 0 ? { ok: false, errors, warnings } : { ok: true, flow, warnings };
}

/** Ids reachable from `from` following `next`, over existing nodes only. */
function reach(from: FlowNode[], next: (n: FlowNode) => string[], byId: Map<string, FlowNode>): Set<string> {
  const seen = new Set(from.map((n) => n.id));
  const queue = [...from];
  for (let node = queue.shift(); node; node = queue.shift()) {
    for (const id of next(node)) {
      const target = byId.get(id);
      if (target && !seen.has(id)) {
        seen.add(id);
        queue.push(target);
      }
    }
  }
  return seen;
}

/** Ids reachable from start without taking the `granted` edge of a permissions node asking for `device`. */
function reachWithout(starts: FlowNode[], byId: Map<string, FlowNode>, device: "camera" | "microphone") {
  return reach(
    starts,
    (n) =>
      outcomesOf(n)
        .filter((e) => !(n.type === "permissions" && n[device] && e.outcome === "granted"))
        .map((e) => e.next),
    byId,
  );
}

type Report = (rule: FlowRule, node: FlowNode | null, text: string) => void;
type Warn = (rule: FlowWarningRule, node: FlowNode, text: string) => void;

function checkConditions(node: ConversationNode, err: Report, warn: Warn): void {
  const last = node.outcomes.length - 1;
  const seen = new Set<string>();
  node.outcomes.forEach((o, i) => {
    const parsed = parseCondition(o.when);
    if (!parsed.ok) err("condition_syntax", node, `condition #${i + 1} "${o.when}": ${parsed.message}`);
    else if (parsed.condition.kind === "fallback" && i !== last) {
      err(
        "condition_syntax",
        node,
        `condition #${i + 1} is the fallback ("") but is not last; later conditions would never match`,
      );
    }
    if (seen.has(o.when))
      warn("duplicate_condition", node, `repeats condition "${o.when}"; only the first can match`);
    seen.add(o.when);
  });
  // Decision: require an explicit fallback rather than proving a set of intents exhaustive — a
  // reply can always be unclear, and the DO must never stall with no outcome to take.
  if (node.outcomes[last]?.when !== "") {
    err(
      "last_condition_fallback",
      node,
      'must end with a fallback condition ("when": "") so every reply has an outcome',
    );
  }
}

function checkDataValidation(node: DataValidationNode, err: Report): void {
  if (!FIELD_PATH.test(node.field)) {
    err(
      "data_validation_field",
      node,
      `field "${node.field}" must be a path starting with "metadata." or "providedData."`,
    );
  }
  const { operator, value } = node;
  const problem = (() => {
    switch (operator) {
      case "exists":
        return value === undefined ? null : "takes no value";
      case "eq":
      case "neq":
        return value === undefined || Array.isArray(value)
          ? "needs a single value (string, number, boolean or null)"
          : null;
      case "gt":
      case "gte":
      case "lt":
      case "lte":
        return typeof value === "number" && Number.isFinite(value) ? null : "needs a finite number value";
      case "in":
        return Array.isArray(value) && value.length > 0 ? null : "needs a non-empty array value";
      case "matches":
        return typeof value === "string" && value.length <= 200 && compiles(value)
          ? null
          : "needs a value that is a valid regular expression (at most 200 characters, Unicode mode)";
    }
  })();
  if (problem) err("data_validation_value", node, `operator "${operator}" ${problem}`);
}

/** The DO compiles `matches` patterns with the `u` flag; reject here what it could not compile. */
function compiles(pattern: string): boolean {
  try {
    new RegExp(pattern, "u");
    return true;
  } catch {
    return false;
  }
}

function shapeErrors(
  input: unknown,
  issues: readonly { path: PropertyKey[]; message: string }[],
): FlowIssue[] {
  if (!Array.isArray(input)) {
    return [
      { rule: "invalid_node", nodeId: null, message: "invalid_node: the flow must be an array of nodes" },
    ];
  }
  return issues.map((issue) => {
    const [index, ...rest] = issue.path;
    const raw: unknown = typeof index === "number" ? input[index] : undefined;
    const rawId = raw && typeof raw === "object" && "id" in raw && typeof raw.id === "string" ? raw.id : null;
    const rawType =
      raw && typeof raw === "object" && "type" in raw && typeof raw.type === "string" ? raw.type : "?";
    const where =
      typeof index === "number" ? `node ${rawId ? `"${rawId}"` : `#${index + 1}`} (${rawType})` : "the flow";
    const at = rest.length > 0 ? ` at ${rest.map(String).join(".")}` : "";
    return { rule: "invalid_node", nodeId: rawId, message: `invalid_node: ${where}${at}: ${issue.message}` };
  });
}
