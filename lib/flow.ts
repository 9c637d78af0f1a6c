/**
 * The flow wire shape: the session's graph as a flat array of nodes, each naming its
 * successor(s) by node id (product-spec §1 "flow", §2 "Node types").
 *
 * These zod schemas check the shape of one node at a time — field types, bounds, defaults and,
 * for nodes with fixed outcomes, that the `outcomes` map holds every outcome and nothing else
 * (§2 "a missing outcome is an error, never silently filled"). Graph rules that need the whole
 * array (one start, reachability, cycles, condition syntax …) live in `lib/flow-validate.ts`, so
 * the same schemas can feed request validation and OpenAPI (house-style 4) while the graph
 * errors still name the node and the rule. The conversation condition language is parsed here
 * (`parseCondition`) because both the validator and the session DO that evaluates it need it.
 */
import { z } from "@hono/zod-openapi";
import { CHALLENGE_ACTIONS } from "./widget-protocol.ts";

/** §2: at most this many nodes in one flow (keeps validation and the DO's state small). */
export const MAX_NODES = 64;
export const MAX_PROMPT_CHARS = 500;
export const MAX_CONDITIONS = 16;

export const NodeIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,64}$/, "node ids are 1–64 characters of A-Z a-z 0-9 _ -")
  .openapi("FlowNodeId");

/** Outcomes of the node types whose outcomes are fixed (§2 table), in display order. */
export const FIXED_OUTCOMES = {
  permissions: ["granted", "denied"],
  liveness: ["live", "spoof", "no_face", "inconclusive"],
  recognition: ["recognized", "new_subject", "no_face"],
  face_compare: ["match", "no_match", "unavailable"],
  data_validation: ["pass", "fail"],
  enter_email: ["entered", "cancelled"],
} as const;
export type FixedOutcomeType = keyof typeof FIXED_OUTCOMES;

/** A strict map with exactly one node id per outcome: missing and extra keys are both errors. */
function outcomeMap<const K extends readonly string[]>(keys: K) {
  const shape = {} as { [P in K[number]]: typeof NodeIdSchema };
  for (const key of keys as readonly K[number][]) shape[key] = NodeIdSchema;
  return z.strictObject(shape);
}

const id = NodeIdSchema;
const prompt = z.string().min(1).max(MAX_PROMPT_CHARS);

export const StartNodeSchema = z
  .strictObject({ id, type: z.literal("start"), next: NodeIdSchema })
  .openapi("FlowStartNode");

export const EndNodeSchema = z.strictObject({ id, type: z.literal("end") }).openapi("FlowEndNode");

export const PermissionsNodeSchema = z
  .strictObject({
    id,
    type: z.literal("permissions"),
    camera: z.boolean().default(true),
    microphone: z.boolean().default(true),
    outcomes: outcomeMap(FIXED_OUTCOMES.permissions),
  })
  .openapi("FlowPermissionsNode");

export const LivenessNodeSchema = z
  .strictObject({
    id,
    type: z.literal("liveness"),
    /** §2: 0 decides passively (no prompts), what automated tests with recorded media use */
    challenges: z.number().int().min(0).max(3).default(2),
    /**
     * The actions the challenges are drawn from (default: all four). An integrator whose users
     * cannot perform one — a neck brace, a camera mounted above the screen — leaves it out;
     * fewer actions mean a replay needs fewer recorded answers, so at least as many as
     * `challenges` are required, without repeats (flow-validate.ts `challenge_actions`).
     */
    actions: z.array(z.enum(CHALLENGE_ACTIONS)).min(1).max(CHALLENGE_ACTIONS.length).optional(),
    /** seconds of usable video to collect */
    minSeconds: z.number().min(1).max(30).default(3),
    outcomes: outcomeMap(FIXED_OUTCOMES.liveness),
  })
  .openapi("FlowLivenessNode");

export const RecognitionNodeSchema = z
  .strictObject({ id, type: z.literal("recognition"), outcomes: outcomeMap(FIXED_OUTCOMES.recognition) })
  .openapi("FlowRecognitionNode");

export const FaceCompareNodeSchema = z
  .strictObject({ id, type: z.literal("face_compare"), outcomes: outcomeMap(FIXED_OUTCOMES.face_compare) })
  .openapi("FlowFaceCompareNode");

export const DATA_OPERATORS = ["eq", "neq", "gt", "gte", "lt", "lte", "in", "matches", "exists"] as const;
export type DataOperator = (typeof DATA_OPERATORS)[number];

const scalar = z.union([z.string().max(1000), z.number(), z.boolean(), z.null()]);

export const DataValidationNodeSchema = z
  .strictObject({
    id,
    type: z.literal("data_validation"),
    /** a path into the session: `metadata.amount`, `providedData.country` (checked by the validator) */
    field: z.string().min(1).max(200),
    operator: z.enum(DATA_OPERATORS),
    /** required by every operator but `exists`; its type per operator is checked by the validator */
    value: z.union([scalar, z.array(z.union([z.string().max(1000), z.number()])).max(64)]).optional(),
    outcomes: outcomeMap(FIXED_OUTCOMES.data_validation),
  })
  .openapi("FlowDataValidationNode");

export const EnterEmailNodeSchema = z
  .strictObject({
    id,
    type: z.literal("enter_email"),
    prompt,
    outcomes: outcomeMap(FIXED_OUTCOMES.enter_email),
  })
  .openapi("FlowEnterEmailNode");

export const ConversationOutcomeSchema = z
  .strictObject({
    /** a condition (see `parseCondition`); "" is the fallback and must come last */
    when: z.string().max(300),
    next: NodeIdSchema,
  })
  .openapi("FlowConversationOutcome");

export const ConversationNodeSchema = z
  .strictObject({
    id,
    type: z.literal("conversation"),
    prompt,
    /** the prompt is informational: the flow moves on without waiting for speech */
    noReplyNeeded: z.boolean().optional(),
    /**
     * Asked once when the reply is `evasive` (no reply, a refusal, or speech without intent or
     * content) or `inconsistent` (speech that matched none of the conditions but the fallback);
     * the conditions are then decided on the follow-up reply. Prompts may use `{{metadata.x}}`.
     * `repeated`: the reply matches another subject's answer of the tenant (docs/conversation.md).
     */
    followUp: z
      .strictObject({ prompt, when: z.enum(["evasive", "inconsistent", "repeated"]) })
      .optional()
      .openapi("FlowConversationFollowUp"),
    /** evaluated in order; the first matching condition wins (§2) */
    outcomes: z.array(ConversationOutcomeSchema).min(1).max(MAX_CONDITIONS),
  })
  .openapi("FlowConversationNode");

export const FlowNodeSchema = z
  .discriminatedUnion("type", [
    StartNodeSchema,
    EndNodeSchema,
    PermissionsNodeSchema,
    LivenessNodeSchema,
    RecognitionNodeSchema,
    FaceCompareNodeSchema,
    DataValidationNodeSchema,
    EnterEmailNodeSchema,
    ConversationNodeSchema,
  ])
  .openapi("FlowNode");

/** Shape only; `validateFlow` (lib/flow-validate.ts) adds the graph rules of §2. */
export const FlowSchema = z.array(FlowNodeSchema).max(MAX_NODES).openapi("Flow");

export type FlowNode = z.output<typeof FlowNodeSchema>;
export type FlowNodeInput = z.input<typeof FlowNodeSchema>;
export type Flow = FlowNode[];
export type FlowInput = FlowNodeInput[];
export type NodeType = FlowNode["type"];
export type NodeOfType<T extends NodeType> = Extract<FlowNode, { type: T }>;
export type StartNode = NodeOfType<"start">;
export type EndNode = NodeOfType<"end">;
export type PermissionsNode = NodeOfType<"permissions">;
export type LivenessNode = NodeOfType<"liveness">;
export type RecognitionNode = NodeOfType<"recognition">;
export type FaceCompareNode = NodeOfType<"face_compare">;
export type DataValidationNode = NodeOfType<"data_validation">;
export type EnterEmailNode = NodeOfType<"enter_email">;
export type ConversationNode = NodeOfType<"conversation">;
export type ConversationOutcome = z.output<typeof ConversationOutcomeSchema>;

/**
 * One edge out of a node. `outcome` is the fixed outcome name, `"next"` for `start`, and for a
 * conversation the condition text (`"fallback"` for the empty condition — not a keyword of the
 * condition language, so it cannot collide).
 */
export interface OutcomeEdge {
  outcome: string;
  next: string;
}

export function outcomesOf(node: FlowNode): OutcomeEdge[] {
  switch (node.type) {
    case "start":
      return [{ outcome: "next", next: node.next }];
    case "end":
      return [];
    case "conversation":
      return node.outcomes.map((o) => ({ outcome: o.when === "" ? "fallback" : o.when, next: o.next }));
    default: {
      const map: Readonly<Record<string, string>> = node.outcomes;
      return FIXED_OUTCOMES[node.type].flatMap((outcome) => {
        const next = map[outcome];
        return next === undefined ? [] : [{ outcome, next }];
      });
    }
  }
}

/** Distinct successor ids of a node, in outcome order. */
export function successors(node: FlowNode): string[] {
  return [...new Set(outcomesOf(node).map((e) => e.next))];
}

// ---------------------------------------------------------------------------------------------
// Conversation conditions (§2: "must work offline: structured intents …").
//
//   ""                        fallback: always matches; must be the last condition
//   affirm | deny | refuse    the reply's intent (yes / no / declines to answer)
//   no_reply | unclear        silence until the timeout / speech that matched no intent
//   mentions:<t1>,<t2>,…      the reply contains any of the terms (case-insensitive, NFKC)
//   number_equals:<field>     a number in the reply equals the metadata/providedData field
//   number_near:<field>       … is within the DO's tolerance of it
//
// `<field>` is a path like `metadata.amount` / `providedData.x`; a bare key (`amount`) is taken as
// `metadata.amount`, which is what §2's "number_equals:<metadata field>" reads as. A free-text
// condition evaluated by a language model is deliberately absent: §2 says it is never required,
// and every condition here must be decidable offline.
// ---------------------------------------------------------------------------------------------

export const CONDITION_INTENTS = ["affirm", "deny", "refuse", "no_reply", "unclear"] as const;
export type ConditionIntent = (typeof CONDITION_INTENTS)[number];

export type Condition =
  | { kind: "fallback" }
  | { kind: ConditionIntent }
  | { kind: "mentions"; terms: string[] }
  | { kind: "number_equals" | "number_near"; field: string };

export type ConditionParse = { ok: true; condition: Condition } | { ok: false; message: string };

/** `metadata.a.b` / `providedData.x`: one of the two roots, then dot-separated keys. */
export const FIELD_PATH = /^(metadata|providedData)(\.[A-Za-z0-9_-]{1,64}){1,8}$/;
const BARE_KEY = /^[A-Za-z0-9_-]{1,64}$/;
const MAX_TERMS = 32;
const MAX_TERM_CHARS = 64;

function isIntent(s: string): s is ConditionIntent {
  return (CONDITION_INTENTS as readonly string[]).includes(s);
}

export function parseCondition(s: string): ConditionParse {
  if (s === "") return { ok: true, condition: { kind: "fallback" } };
  if (isIntent(s)) return { ok: true, condition: { kind: s } };
  const colon = s.indexOf(":");
  if (colon < 0) {
    return { ok: false, message: `unknown condition "${s}" (expected ${CONDITION_INTENTS.join(", ")}, …)` };
  }
  const head = s.slice(0, colon);
  const arg = s.slice(colon + 1);
  if (head === "mentions") {
    const terms = arg.split(",").map((t) => t.trim().normalize("NFKC").toLowerCase());
    if (terms.some((t) => t === ""))
      return { ok: false, message: "mentions: needs non-empty, comma-separated terms" };
    if (terms.length > MAX_TERMS) return { ok: false, message: `mentions: at most ${MAX_TERMS} terms` };
    if (terms.some((t) => t.length > MAX_TERM_CHARS)) {
      return { ok: false, message: `mentions: terms are at most ${MAX_TERM_CHARS} characters` };
    }
    return { ok: true, condition: { kind: "mentions", terms } };
  }
  if (head === "number_equals" || head === "number_near") {
    const field = FIELD_PATH.test(arg) ? arg : BARE_KEY.test(arg) ? `metadata.${arg}` : null;
    if (field === null) {
      return {
        ok: false,
        message: `${head}: "${arg}" is not a field (metadata.<key> or providedData.<key>)`,
      };
    }
    return { ok: true, condition: { kind: head, field } };
  }
  return { ok: false, message: `unknown condition "${head}:"` };
}
