/**
 * Request and response shapes of the integrator API (product-spec §3, §5). One zod schema per
 * shape: the same object validates the request, types the handler and generates
 * `GET /openapi.json` (OpenAPI 3.1) through @hono/zod-openapi (house-style 4).
 */
import { z } from "@hono/zod-openapi";
import { OUTBOX_EVENT_TYPES } from "./db/schema.ts";
import { RiskSchema } from "./fusion.ts";

const JsonObject = z.record(z.string(), z.unknown());

export const ZoneSchema = z.enum(["eu", "us"]).openapi("Zone");
export const SessionStatusSchema = z
  .enum(["created", "in_progress", "complete", "incomplete"])
  .openapi("SessionStatus");

/** Bounded so one request cannot fill a row: 16 KiB of metadata, 64 KiB of providedData. */
function boundedJson(maxBytes: number) {
  return JsonObject.refine((v) => new TextEncoder().encode(JSON.stringify(v)).byteLength <= maxBytes, {
    message: `must serialise to at most ${maxBytes} bytes`,
  });
}

export const CreateSessionSchema = z
  .object({
    clientReferenceId: z.string().min(1).max(128).openapi({ example: "user_8412" }),
    metadata: boundedJson(16 * 1024).default({}),
    /**
     * Checked by `validateFlow` (lib/flow-validate.ts) rather than here, so every error names
     * its node and rule as ERR_INVALID_FLOW; documented as an array of FlowNode.
     */
    flow: z.array(z.unknown()).openapi({
      type: "array",
      items: { $ref: "#/components/schemas/FlowNode" },
      minItems: 2,
      maxItems: 64,
    }),
    providedData: boundedJson(64 * 1024).optional(),
    locale: z
      .string()
      .regex(/^[a-z]{2,3}(-[A-Z]{2})?$/)
      .default("en"),
    zone: ZoneSchema.optional(),
    recognition: z
      .object({ enrol: z.boolean(), consentRef: z.string().min(1).max(256).optional() })
      .refine((r) => !r.enrol || r.consentRef !== undefined, {
        message: "enrolment needs a recorded consent reference (consentRef)",
      })
      .optional(),
  })
  .strict()
  .openapi("CreateSession");
export type CreateSession = z.infer<typeof CreateSessionSchema>;

export const ClientSecretSchema = z
  .object({
    secret: z.string().openapi({ example: "cs_…" }),
    url: z.string().url(),
    expiresAt: z.string().datetime(),
  })
  .openapi("ClientSecret");

export const NodeOutcomeSchema = z
  .object({
    id: z.string(),
    type: z.string(),
    outcome: z.string(),
    at: z.string().datetime(),
    /** `recognition` nodes: the matched subject's reference when `recognized` */
    matchedClientReferenceId: z.string().optional(),
    /** `recognition` nodes: whether `new_subject` was enrolled (only with recorded consent) */
    enrolled: z.boolean().optional(),
  })
  .openapi("NodeOutcome");

export const TranscriptSegmentSchema = z
  .object({
    nodeId: z.string(),
    speaker: z.enum(["prompt", "user"]),
    text: z.string(),
    atMs: z.number(),
    /**
     * why a reply was flagged (docs/conversation.md): `answer_repeated_across_sessions` — it
     * matches another subject's answer of the tenant (keyed digests only)
     */
    flags: z.array(z.string()).optional(),
  })
  .openapi("TranscriptSegment");

export const DegradationSchema = z
  .object({ component: z.string(), code: z.string(), detail: z.string() })
  .openapi("Degradation");
export type Degradation = z.infer<typeof DegradationSchema>;

/** Where the session was processed (data residency, docs/data-protection.md "Residency"). */
export const ResidencySchema = z
  .object({
    /** the session's zone: the request's `zone`, or the tenant's `defaultZone` */
    zone: ZoneSchema,
    /** the jurisdiction the session's Durable Object observed itself in; null if it never ran */
    durableObject: ZoneSchema.nullable(),
    /** regions whose tokenizer confirmed it tokenized windows of this session (empty: none did) */
    tokenizedIn: z.array(ZoneSchema),
  })
  .openapi("Residency");
export type Residency = z.infer<typeof ResidencySchema>;

export const ReportSchema = z
  .object({
    risk: RiskSchema,
    nodes: z.array(NodeOutcomeSchema),
    transcript: z.array(TranscriptSegmentSchema),
    device: JsonObject,
    /** what degraded during the session; empty when everything worked */
    degraded: z.array(DegradationSchema),
    /** null for reports written before residency was recorded */
    residency: ResidencySchema.nullable(),
  })
  .openapi("Report");
export type Report = z.infer<typeof ReportSchema>;

export const SessionViewSchema = z
  .object({
    id: z.string(),
    status: SessionStatusSchema,
    incompleteReason: z.string().nullable(),
    clientReferenceId: z.string(),
    zone: ZoneSchema,
    createdAt: z.string().datetime(),
    startedAt: z.string().datetime().nullable(),
    finishedAt: z.string().datetime().nullable(),
    expiresAt: z.string().datetime(),
    report: ReportSchema.nullable(),
  })
  .openapi("Session");
export type SessionView = z.infer<typeof SessionViewSchema>;

export const CreateSessionResponseSchema = z
  .object({
    session: SessionViewSchema,
    clientSecret: ClientSecretSchema,
    /** advisory findings about the flow (e.g. a liveness node without a microphone permission) */
    warnings: z.array(z.object({ rule: z.string(), nodeId: z.string().nullable(), message: z.string() })),
  })
  .openapi("CreateSessionResponse");

export const SessionEnvelopeSchema = z.object({ session: SessionViewSchema }).openapi("SessionEnvelope");

export const ListSessionsQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().max(200).optional(),
  status: SessionStatusSchema.optional(),
  clientReferenceId: z.string().max(128).optional(),
  createdAfter: z.string().datetime().optional(),
  createdBefore: z.string().datetime().optional(),
});

export const SessionListSchema = z
  .object({ data: z.array(SessionViewSchema), nextCursor: z.string().nullable() })
  .openapi("SessionList");

export const SessionIdParamSchema = z.object({
  id: z
    .string()
    .regex(/^ses_[A-Za-z0-9_-]{10,40}$/)
    .openapi({ param: { name: "id", in: "path" } }),
});

export const ProblemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    code: z.string().openapi({ example: "ERR_VALIDATION" }),
    detail: z.string().optional(),
  })
  .passthrough()
  .openapi("Problem");

export const WebhookEventTypeSchema = z
  // the outbox's events and the synchronous test ping, which announces no state change
  .enum([...OUTBOX_EVENT_TYPES, "webhook.test"])
  .openapi("WebhookEventType");
export type WebhookEventType = z.infer<typeof WebhookEventTypeSchema>;

export const CreateWebhookEndpointSchema = z
  .object({
    url: z.string().url().max(2048),
    events: z
      .array(z.union([WebhookEventTypeSchema, z.literal("*")]))
      .min(1)
      .default(["*"]),
  })
  .strict()
  .openapi("CreateWebhookEndpoint");

export const WebhookEndpointSchema = z
  .object({
    id: z.string(),
    url: z.string(),
    events: z.array(z.string()),
    enabled: z.boolean(),
    /** why Facet disabled it (it kept failing); null while enabled or when disabled by the integrator */
    disabledReason: z.string().nullable(),
    disabledAt: z.string().datetime().nullable(),
    createdAt: z.string().datetime(),
  })
  .openapi("WebhookEndpoint");

export const UpdateWebhookEndpointSchema = z
  .object({
    events: z
      .array(z.union([WebhookEventTypeSchema, z.literal("*")]))
      .min(1)
      .optional(),
    /** `true` re-enables an endpoint Facet disabled; `false` pauses it */
    enabled: z.boolean().optional(),
  })
  .strict()
  .refine((b) => b.events !== undefined || b.enabled !== undefined, { message: "nothing to update" })
  .openapi("UpdateWebhookEndpoint");

export const DeliveryStatusSchema = z
  .enum(["pending", "delivered", "failed", "dead", "cancelled"])
  .openapi("DeliveryStatus");

export const DeliverySchema = z
  .object({
    /** also the `webhook-id` header, stable across every attempt */
    id: z.string(),
    endpointId: z.string(),
    eventType: z.string(),
    sessionId: z.string().nullable(),
    status: DeliveryStatusSchema,
    attempts: z.number().int(),
    lastStatusCode: z.number().int().nullable(),
    lastError: z.string().nullable(),
    createdAt: z.string().datetime(),
    lastAttemptAt: z.string().datetime().nullable(),
    deliveredAt: z.string().datetime().nullable(),
  })
  .openapi("Delivery");
export type Delivery = z.infer<typeof DeliverySchema>;

export const DeliveryEnvelopeSchema = z.object({ delivery: DeliverySchema }).openapi("DeliveryEnvelope");

export const ListDeliveriesQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().max(200).optional(),
  status: DeliveryStatusSchema.optional(),
});

export const DeliveryListSchema = z
  .object({ data: z.array(DeliverySchema), nextCursor: z.string().nullable() })
  .openapi("DeliveryList");

export const SubjectRefParamSchema = z.object({
  ref: z
    .string()
    .min(1)
    .max(128)
    .openapi({ param: { name: "ref", in: "path" }, example: "user_8412" }),
});

export const AuditEntrySchema = z
  .object({ action: z.string(), actor: z.string(), target: z.string(), at: z.string().datetime() })
  .openapi("AuditEntry");

/** A session as the data-subject export shows it: the API view plus what the integrator supplied. */
export const SubjectSessionSchema = SessionViewSchema.extend({
  locale: z.string(),
  metadata: JsonObject,
  providedData: JsonObject.nullable(),
}).openapi("SubjectSession");

/** An enrolled fingerprint as the access export lists it: never the template bits. */
export const EnrolmentSchema = z
  .object({
    id: z.string(),
    sessionId: z.string(),
    consentRef: z.string(),
    keyVersion: z.number().int(),
    enrolledAt: z.string().datetime(),
  })
  .openapi("Enrolment");

export const SubjectExportSchema = z
  .object({
    subject: z.object({
      clientReferenceId: z.string(),
      sessions: z.array(SubjectSessionSchema),
      /** recognition enrolments (product-spec §2 `recognition`), with the consent reference recorded */
      enrolments: z.array(EnrolmentSchema),
      /** delivery metadata for those sessions; payloads are never exported (they repeat the sessions) */
      deliveries: z.array(DeliverySchema),
      /** who read, changed or erased this subject's data, and when */
      audit: z.array(AuditEntrySchema),
    }),
    exportedAt: z.string().datetime(),
  })
  .openapi("SubjectExport");

export const SubjectErasureSchema = z
  .object({
    clientReferenceId: z.string(),
    sessionIds: z.array(z.string()),
    /** fingerprints made unrecoverable by destroying the subject's key (crypto-shredding) */
    fingerprintsErased: z.number().int(),
    erasedAt: z.string().datetime(),
  })
  .openapi("SubjectErasure");
