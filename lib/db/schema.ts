/**
 * D1 schema, the single source of truth for the database (house-style 8). drizzle-kit turns it
 * into SQL under migrations/, wrangler applies those files, and the tests apply the same files.
 *
 * What may be stored is fixed by product-spec §7: metadata, outcomes, scores, transcripts and
 * the keyed fingerprint — never raw frames or audio. docs/storage.md gives every column its
 * data class. Timestamps are integer milliseconds since the Unix epoch (UTC).
 */
import { index, integer, primaryKey, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

export const tenants = sqliteTable("tenants", {
  id: text("id").primaryKey(),
  name: text("name").notNull(),
  /** JSON `TenantSettings`: retention, thresholds, allowed origins, default zone */
  settings: text("settings").notNull(),
  createdAt: integer("created_at").notNull(),
});

export const apiKeys = sqliteTable(
  "api_keys",
  {
    id: text("id").primaryKey(),
    tenantId: text("tenant_id")
      .notNull()
      .references(() => tenants.id),
    /** `test` (sk_test_) or `live` (sk_live_) */
    mode: text("mode", { enum: ["test", "live"] }).notNull(),
    /** SHA-256 of the whole key, hex; the key itself is shown once and never stored */
    keyHash: text("key_hash").notNull(),
    /** last four characters, so people can tell keys apart */
    last4: text("last4").notNull(),
    label: text("label").notNull(),
    createdAt: integer("created_at").notNull(),
    revokedAt: integer("revoked_at"),
  },
  (t) => [uniqueIndex("api_keys_hash").on(t.keyHash), index("api_keys_tenant").on(t.tenantId)],
);

export const sessions = sqliteTable(
  "sessions",
  {
    id: text("id").primaryKey(),
    tenantId: text("tenant_id")
      .notNull()
      .references(() => tenants.id),
    /** AES-256-GCM field ciphertext of the integrator's reference (lib/crypto/field-encryption.ts) */
    clientReferenceId: text("client_reference_id").notNull(),
    /**
     * keyed hash of the reference (HMAC-SHA256 under the tenant's index key, lib/crypto/tenant-keys.ts):
     * the equality lookup for list filters and subject export / erasure
     */
    clientReferenceHash: text("client_reference_hash").notNull().default(""),
    status: text("status", { enum: ["created", "in_progress", "complete", "incomplete"] }).notNull(),
    /**
     * the mode of the API key that created it: sandbox (`test`) data is kept at most 7 days,
     * whatever the tenant's policy (docs/data-protection.md)
     */
    mode: text("mode", { enum: ["test", "live"] })
      .notNull()
      .default("live"),
    /** why a session ended incomplete: expired, cancelled, timeout, protocol_error, disconnected, interrupted, error */
    incompleteReason: text("incomplete_reason"),
    zone: text("zone", { enum: ["eu", "us"] }).notNull(),
    locale: text("locale").notNull(),
    /** JSON flow as validated at creation (integrator configuration, stored in clear) */
    flow: text("flow").notNull(),
    /** field ciphertext of the JSON metadata sent by the integrator */
    metadata: text("metadata").notNull(),
    /** field ciphertext of the JSON providedData sent by the integrator (images are refused at creation) */
    providedData: text("provided_data"),
    /** SHA-256 of the current client secret; the secret itself is shown once */
    clientSecretHash: text("client_secret_hash"),
    clientSecretExpiresAt: integer("client_secret_expires_at"),
    clientSecretUsedAt: integer("client_secret_used_at"),
    createdAt: integer("created_at").notNull(),
    startedAt: integer("started_at"),
    finishedAt: integer("finished_at"),
    /** a session not finished by then ends incomplete/expired */
    expiresAt: integer("expires_at").notNull(),
  },
  (t) => [
    index("sessions_tenant_created").on(t.tenantId, t.createdAt, t.id),
    index("sessions_tenant_reference_hash").on(t.tenantId, t.clientReferenceHash),
    uniqueIndex("sessions_client_secret").on(t.clientSecretHash),
    index("sessions_status_expires").on(t.status, t.expiresAt),
  ],
);

export const idempotencyKeys = sqliteTable(
  "idempotency_keys",
  {
    tenantId: text("tenant_id")
      .notNull()
      .references(() => tenants.id),
    key: text("key").notNull(),
    /** SHA-256 of the request body; a different body under the same key is a conflict */
    requestHash: text("request_hash").notNull(),
    sessionId: text("session_id").notNull(),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.key] })],
);

export const nodeOutcomes = sqliteTable(
  "node_outcomes",
  {
    sessionId: text("session_id")
      .notNull()
      .references(() => sessions.id),
    /** position in visiting order */
    seq: integer("seq").notNull(),
    nodeId: text("node_id").notNull(),
    nodeType: text("node_type").notNull(),
    outcome: text("outcome").notNull(),
    at: integer("at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.sessionId, t.seq] })],
);

export const reports = sqliteTable(
  "reports",
  {
    sessionId: text("session_id")
      .primaryKey()
      .references(() => sessions.id),
    tenantId: text("tenant_id")
      .notNull()
      .references(() => tenants.id),
    /** JSON `Risk` (product-spec §5) */
    risk: text("risk").notNull(),
    /** JSON transcript segments */
    transcript: text("transcript").notNull(),
    /** JSON device and location summary */
    device: text("device").notNull(),
    /** JSON list of what degraded during the session (tokenizer windows lost, analyzers missing) */
    degraded: text("degraded").notNull(),
    // --- data residency (issue 6 item 6) ---
    /**
     * JSON `Residency` (lib/api-schemas.ts): zone, the Durable Object's jurisdiction and the
     * regions that tokenized. Zone names only, so not field-encrypted; null on older reports.
     */
    residency: text("residency"),
    // --- end data residency ---
    createdAt: integer("created_at").notNull(),
  },
  (t) => [index("reports_tenant_created").on(t.tenantId, t.createdAt)],
);

export const webhookEndpoints = sqliteTable(
  "webhook_endpoints",
  {
    id: text("id").primaryKey(),
    tenantId: text("tenant_id")
      .notNull()
      .references(() => tenants.id),
    url: text("url").notNull(),
    /** whsec_… signing secret (needed to sign, so it cannot be a hash) */
    secret: text("secret").notNull(),
    /** JSON array of event types, or ["*"] */
    events: text("events").notNull(),
    enabled: integer("enabled", { mode: "boolean" }).notNull(),
    /** why the endpoint stopped receiving events (set by Facet when it kept failing, product-spec §6) */
    disabledReason: text("disabled_reason"),
    disabledAt: integer("disabled_at"),
    /** set by DELETE; a deleted endpoint is gone from the API, its row stays for the delivery log */
    deletedAt: integer("deleted_at"),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [index("webhook_endpoints_tenant").on(t.tenantId)],
);

export const deliveries = sqliteTable(
  "deliveries",
  {
    /** the Standard Webhooks `webhook-id`, stable across retries */
    id: text("id").primaryKey(),
    tenantId: text("tenant_id")
      .notNull()
      .references(() => tenants.id),
    endpointId: text("endpoint_id")
      .notNull()
      .references(() => webhookEndpoints.id),
    eventType: text("event_type").notNull(),
    sessionId: text("session_id"),
    /**
     * pending → delivered | failed (retrying) → dead (schedule exhausted or target refused);
     * cancelled: never sent because the payload was erased or the endpoint disabled or deleted
     */
    status: text("status", { enum: ["pending", "delivered", "failed", "dead", "cancelled"] }).notNull(),
    /** attempts so far, over every schedule (a manual retry starts a new one) */
    attempts: integer("attempts").notNull(),
    /**
     * bumped by a manual retry; queue messages of an older generation are dropped, so one
     * delivery never runs two schedules at once
     */
    generation: integer("generation").notNull().default(0),
    /**
     * the exact JSON body that is signed and sent (no raw media, product-spec §7); kept until
     * delivered, erased with its session or subject. Field-encrypted later (docs/storage.md).
     */
    payload: text("payload"),
    lastStatusCode: integer("last_status_code"),
    lastError: text("last_error"),
    createdAt: integer("created_at").notNull(),
    lastAttemptAt: integer("last_attempt_at"),
    deliveredAt: integer("delivered_at"),
  },
  (t) => [
    index("deliveries_endpoint_created").on(t.endpointId, t.createdAt),
    index("deliveries_tenant_created").on(t.tenantId, t.createdAt),
    index("deliveries_session").on(t.sessionId),
  ],
);

export const auditLog = sqliteTable(
  "audit_log",
  {
    id: text("id").primaryKey(),
    tenantId: text("tenant_id").notNull(),
    /** api key id, or `system` for the platform's own actions */
    actor: text("actor").notNull(),
    /** e.g. session.create, session.cancel, session.read */
    action: text("action").notNull(),
    /** the object acted on, e.g. a session id */
    target: text("target").notNull(),
    at: integer("at").notNull(),
  },
  (t) => [
    index("audit_log_tenant_at").on(t.tenantId, t.at),
    index("audit_log_tenant_target").on(t.tenantId, t.target),
  ],
);

/**
 * Per-tenant data keys (product-spec §7, docs/storage.md "Encryption at rest"): AES-256 keys made
 * by the regional tokenizer's HSM and stored here only wrapped (RFC 5649 KWP) under the tenant's
 * KEK, which never leaves the HSM. The highest generation encrypts new writes; every generation
 * stays readable by its key id. Generation 1 also keys the reference hash (`sessions.client_reference_hash`).
 */
export const tenantDataKeys = sqliteTable(
  "tenant_data_keys",
  {
    /** `dk_…`, written in front of every field ciphertext it made */
    keyId: text("key_id").primaryKey(),
    tenantId: text("tenant_id")
      .notNull()
      .references(() => tenants.id),
    /** 1, 2, …: one insert per generation wins (unique), so concurrent first uses agree on one key */
    generation: integer("generation").notNull(),
    /** the region whose HSM holds the KEK that wraps it */
    zone: text("zone", { enum: ["eu", "us"] }).notNull(),
    kekVersion: integer("kek_version").notNull(),
    /** standard base64 of the 40-byte KWP-wrapped key */
    wrapped: text("wrapped").notNull(),
    createdAt: integer("created_at").notNull(),
    /** set when a newer generation took over new writes; the key still decrypts old rows */
    retiredAt: integer("retired_at"),
  },
  (t) => [uniqueIndex("tenant_data_keys_generation").on(t.tenantId, t.generation)],
);

// ─── Recognition (issue 6 §5): consent, per-subject keys, fingerprints ─────────────────────────
// docs/storage.md "Recognition" and docs/data-protection.md "Recognition and crypto-shredding".

/**
 * What `POST /v1/sessions` asked for in `recognition` (product-spec §3): whether this session may
 * enrol, and the integrator's consent reference, sealed under the tenant key (row = session id).
 * No foreign key: erasure and the purge delete it with the session (workers/edge/erasure.ts).
 */
export const recognitionRequests = sqliteTable("recognition_requests", {
  sessionId: text("session_id").primaryKey(),
  tenantId: text("tenant_id").notNull(),
  enrol: integer("enrol", { mode: "boolean" }).notNull(),
  /** GCM (tenant key) of the consent reference; null when `enrol` is false */
  consentRef: text("consent_ref"),
  createdAt: integer("created_at").notNull(),
});

/**
 * What a `recognition` node decided (product-spec §2): the matched subject's reference for
 * `recognized` (GCM, tenant key, row `<session id>/<node id>`), and whether `new_subject` enrolled.
 * Shown in the report's node list; deleted with the session's report (erasure, purge).
 */
export const recognitionResults = sqliteTable(
  "recognition_results",
  {
    sessionId: text("session_id").notNull(),
    tenantId: text("tenant_id").notNull(),
    nodeId: text("node_id").notNull(),
    /** GCM (tenant key) of the matched `clientReferenceId`; null unless `recognized` */
    matchedReference: text("matched_reference"),
    enrolled: integer("enrolled", { mode: "boolean" }).notNull(),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.sessionId, t.nodeId] })],
);

/**
 * One data key per subject (product-spec §7 "per-subject data key wrapped by an HSM key"). The key
 * is wrapped by the subject's own KEK in the HSM (KMS key owner `subj_…`, lib/recognition/subject-keys.ts);
 * the wrapped blob is itself sealed under the tenant key. Destroying the subject's KEK in the HSM
 * (crypto-shredding) leaves every copy of this row, backups included, unopenable.
 */
export const subjectKeys = sqliteTable(
  "subject_keys",
  {
    /** `dk_…`, named in front of every ciphertext it made */
    keyId: text("key_id").primaryKey(),
    tenantId: text("tenant_id")
      .notNull()
      .references(() => tenants.id),
    /** the subject: `sessions.client_reference_hash` of its reference (keyed hash) */
    subjectHash: text("subject_hash").notNull(),
    /** region whose HSM holds the subject's KEK */
    zone: text("zone", { enum: ["eu", "us"] }).notNull(),
    kekVersion: integer("kek_version").notNull(),
    /** GCM (tenant key) of the standard-base64 40-byte KWP-wrapped key */
    wrapped: text("wrapped").notNull(),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [uniqueIndex("subject_keys_subject").on(t.tenantId, t.subjectHash)],
);

/** Enrolled fingerprints (keyed BioHash templates), each sealed under its subject's key. */
export const fingerprints = sqliteTable(
  "fingerprints",
  {
    /** `fp_…` */
    id: text("id").primaryKey(),
    tenantId: text("tenant_id")
      .notNull()
      .references(() => tenants.id),
    subjectKeyId: text("subject_key_id")
      .notNull()
      .references(() => subjectKeys.keyId),
    /** tokenization key version the template was made under: only equal versions are comparable */
    keyVersion: integer("key_version").notNull(),
    /** GCM (subject key) of the base64 template bits */
    template: text("template").notNull(),
    /** GCM (subject key) of the integrator's reference: what `recognized` names */
    clientReferenceId: text("client_reference_id").notNull(),
    /** GCM (subject key) of the consent reference recorded at enrolment */
    consentRef: text("consent_ref").notNull(),
    /** the session that enrolled it (may since have been erased or purged) */
    sessionId: text("session_id").notNull(),
    /** mode of the key that created the session: sandbox fingerprints live at most 7 days */
    mode: text("mode", { enum: ["test", "live"] }).notNull(),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [
    index("fingerprints_tenant_version").on(t.tenantId, t.keyVersion),
    index("fingerprints_subject_key").on(t.subjectKeyId),
  ],
);

// ---- Conversation: repetition of an answer across sessions (issue 7) ---------------------------

/**
 * Keyed digests of one recognised conversation reply's word shingles (docs/conversation.md
 * "Repetition across sessions"): HMAC-SHA256 in the tokenizer's HSM under the tenant's
 * tokenization key with the answer-shingle domain label, never the words. Compared with later
 * replies of the same tenant to flag a recited script. Field-encrypted (`digests`), retention
 * class `transcripts`, deleted with the session (erasure, `sessions` class).
 */
export const answerDigests = sqliteTable(
  "answer_digests",
  {
    sessionId: text("session_id")
      .notNull()
      .references(() => sessions.id),
    /** the reply's position among the session's compared replies */
    seq: integer("seq").notNull(),
    tenantId: text("tenant_id")
      .notNull()
      .references(() => tenants.id),
    /** version of the tenant's tokenization key the digests were made with (only equal versions compare) */
    keyVersion: integer("key_version").notNull(),
    /** field ciphertext of the JSON array of base64url digests (row id `<session_id>/<seq>`) */
    digests: text("digests").notNull(),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.sessionId, t.seq] }),
    index("answer_digests_tenant_created").on(t.tenantId, t.createdAt),
  ],
);

// ---------------------------------------------------------------------------------------------
// Transactional outbox (docs/reliability.md "Outbox"). Written in the same D1 batch as the state
// change it announces (session insert or status change, erasure, endpoint disable), so "state
// written, event lost" cannot happen; lib/outbox.ts turns a row into deliveries and queue messages
// and marks it sent. Holds identifiers only, never payloads.

/** Every webhook event that announces a state change; each goes through `event_outbox`. */
export const OUTBOX_EVENT_TYPES = [
  "session.created",
  "session.started",
  "session.completed",
  "session.incomplete",
  "session.erased",
  "subject.erased",
  "endpoint.disabled",
] as const;

export const eventOutbox = sqliteTable(
  "event_outbox",
  {
    /**
     * `created:` / `started:` / `terminal:` / `erased:<session id>`: one event of each per session
     * (one terminal event, whoever ends it); `subject-erased:<random>` per subject erasure;
     * `disabled:<endpoint id>:<disabled_at>` per disable
     */
    id: text("id").primaryKey(),
    tenantId: text("tenant_id").notNull(),
    /** the session the event is about; null for `subject.erased` and `endpoint.disabled` */
    sessionId: text("session_id"),
    eventType: text("event_type", { enum: OUTBOX_EVENT_TYPES }).notNull(),
    /** also the event's `timestamp`, so every dispatch attempt builds the same body */
    createdAt: integer("created_at").notNull(),
    /**
     * JSON array of its queue messages (delivery, endpoint and tenant ids), fixed once the
     * deliveries are recorded, so a resend reuses the same `webhook-id`s; null until recorded
     */
    messages: text("messages"),
    /** set once its queue messages were accepted; null = pending. Retention: class `deliveries` */
    sentAt: integer("sent_at"),
    attempts: integer("attempts").notNull().default(0),
    /**
     * What an event needs that cannot be read at send time (lib/outbox-records.ts): JSON of
     * identifiers only. For erasures the subject's reference, sealed (GCM, row id = outbox id);
     * for `endpoint.disabled` the endpoint's id, URL and reason. Null for session events (built
     * from the session) and once the deliveries are recorded (they hold the body from then).
     */
    data: text("data"),
  },
  (t) => [index("event_outbox_pending").on(t.sentAt, t.createdAt)],
);
