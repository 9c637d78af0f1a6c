/**
 * The session's persisted state: the only thing the DO writes to its SQLite storage, under the
 * one key `state`. It is non-biometric by construction (config, phase, node position, outcomes,
 * timings), so an alarm after an eviction can still end the session (product-spec §7); media
 * and features live only in memory. Read back through zod: storage is a trust boundary too.
 */
import { z } from "zod";
import { NetworkSignalsSchema } from "../../lib/features.ts";
import { FlowSchema } from "../../lib/flow.ts";

export const SessionConfigSchema = z.object({
  sessionId: z.string(),
  tenantId: z.string(),
  zone: z.enum(["eu", "us"]),
  locale: z.string(),
  flow: FlowSchema,
  metadata: z.record(z.string(), z.unknown()),
  providedData: z.record(z.string(), z.unknown()),
  expiresAt: z.number(),
  network: NetworkSignalsSchema,
  /** the tenant's decision thresholds (GET|PUT /v1/settings); the policy's defaults otherwise */
  thresholds: z.object({ review: z.number(), reject: z.number() }).nullable(),
});
export type SessionConfig = z.infer<typeof SessionConfigSchema>;

const VisitSchema = z.object({ id: z.string(), type: z.string(), outcome: z.string(), at: z.number() });
export type Visit = z.infer<typeof VisitSchema>;

const PersistedSchema = z.object({
  config: SessionConfigSchema,
  phase: z.enum(["waiting", "running", "finishing", "done"]),
  currentNodeId: z.string().nullable(),
  visits: z.array(VisitSchema),
  startedAt: z.number(),
});
export type Persisted = z.infer<typeof PersistedSchema>;

const STATE_KEY = "state";

/** The persisted state, cached in memory once loaded (the DO is single-threaded). */
export class SessionStore {
  readonly #storage: DurableObjectStorage;
  #state: Persisted | null = null;

  constructor(storage: DurableObjectStorage) {
    this.#storage = storage;
  }

  /** The cached state, without touching storage (null before `load` or `begin`). */
  get current(): Persisted | null {
    return this.#state;
  }

  set current(state: Persisted | null) {
    this.#state = state;
  }

  async load(): Promise<Persisted | null> {
    if (this.#state) return this.#state;
    const raw = await this.#storage.get(STATE_KEY);
    this.#state = raw === undefined ? null : PersistedSchema.parse(raw);
    return this.#state;
  }

  async save(): Promise<void> {
    if (this.#state) await this.#storage.put(STATE_KEY, this.#state);
  }
}
