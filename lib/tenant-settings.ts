/**
 * Per-tenant settings (product-spec §3 `GET|PUT /v1/settings`): retention per data class,
 * decision thresholds, the widget's allowed origins and the default zone. Stored as JSON on the
 * tenant row and validated whenever it is read back (house-style 4). The same schema, strict,
 * validates `PUT /v1/settings`.
 *
 * Retention (product-spec §7, docs/data-protection.md): `retentionDays` is the tenant's policy for
 * live data; sandbox data (sessions created with an `sk_test_` key) is kept at most
 * `SANDBOX_RETENTION_DAYS` whatever the policy says.
 */
import { z } from "zod";

/** Sandbox data never outlives this many days, per class (product-spec §7). */
export const SANDBOX_RETENTION_DAYS = 7;

/** The documented default policy for live data (docs/data-protection.md, "Retention"). */
export const DEFAULT_LIVE_RETENTION_DAYS = {
  sessions: 30,
  reports: 30,
  transcripts: 30,
  fingerprints: 365,
  deliveries: 7,
} as const;

const Days = z.number().int().min(1).max(3650);

export const RetentionDaysSchema = z
  .object({
    /** sessions with their metadata, providedData, node outcomes and report */
    sessions: Days,
    /** the report (risk, device summary) and node outcomes; never longer than the session */
    reports: Days,
    /** conversation transcripts inside the report */
    transcripts: Days,
    /** recognition templates (no fingerprint table yet; the value is stored for when there is) */
    fingerprints: Days,
    /** webhook delivery log and the payloads not yet delivered */
    deliveries: Days,
  })
  .strict();
export type RetentionDays = z.infer<typeof RetentionDaysSchema>;

const Zone = z.enum(["eu", "us"]);

/** An origin as browsers send it: scheme, host and port only, no path, query or trailing slash. */
const Origin = z
  .string()
  .max(2048)
  .refine(
    (value) => {
      try {
        const url = new URL(value);
        return (url.protocol === "https:" || url.protocol === "http:") && url.origin === value;
      } catch {
        return false;
      }
    },
    { message: "must be an origin such as https://app.example.com (no path or trailing slash)" },
  );

const ThresholdValues = z.object({ review: z.number().min(0).max(100), reject: z.number().min(0).max(100) });
const ordered = (t: { review: number; reject: number }) => t.review <= t.reject;
const orderedMessage = { message: "review must not exceed reject" };
const Thresholds = ThresholdValues.refine(ordered, orderedMessage);

const fields = {
  /** residency (docs/data-protection.md "Residency"): the zone of a session created without one */
  defaultZone: Zone.default("eu").describe(
    "Zone of sessions created without `zone`: where their Durable Object and tokenizer run.",
  ),
  /** zones this tenant forbids: a session there is refused with ERR_ZONE_FORBIDDEN */
  forbiddenZones: z
    .array(Zone)
    .max(2)
    .default([])
    .describe("Zones this tenant forbids; creating a session there is refused with 403 ERR_ZONE_FORBIDDEN."),
  /** origins allowed to embed the widget and receive its postMessage events */
  allowedOrigins: z.array(z.string().url()).max(50).default([]),
  thresholds: Thresholds.optional(),
  /** days to keep each data class of live data; sandbox data at most 7 (product-spec §7) */
  retentionDays: RetentionDaysSchema.default({ ...DEFAULT_LIVE_RETENTION_DAYS }),
};

const zoneAllowed = (s: { defaultZone: "eu" | "us"; forbiddenZones: ("eu" | "us")[] }) =>
  !s.forbiddenZones.includes(s.defaultZone);
const zoneMessage = { message: "defaultZone must not be one of forbiddenZones", path: ["defaultZone"] };

/** Settings as stored: tolerant of keys written by older versions. */
export const TenantSettingsSchema = z.object(fields);
export type TenantSettings = z.infer<typeof TenantSettingsSchema>;

/**
 * `PUT /v1/settings`: the whole document (omitted fields take their defaults), unknown keys
 * refused, origins exact, zones consistent.
 */
export const TenantSettingsInputSchema = z
  .object({
    ...fields,
    allowedOrigins: z.array(Origin).max(50).default([]),
    thresholds: ThresholdValues.strict().refine(ordered, orderedMessage).optional(),
  })
  .strict()
  .refine(zoneAllowed, zoneMessage);

export function parseTenantSettings(json: string): TenantSettings {
  return TenantSettingsSchema.parse(JSON.parse(json));
}

/** The retention that applies to data created in `mode` (sandbox capped at 7 days per class). */
export function effectiveRetention(settings: TenantSettings, mode: "test" | "live"): RetentionDays {
  if (mode === "live") return settings.retentionDays;
  const cap = (days: number) => Math.min(days, SANDBOX_RETENTION_DAYS);
  const r = settings.retentionDays;
  return {
    sessions: cap(r.sessions),
    reports: cap(r.reports),
    transcripts: cap(r.transcripts),
    fingerprints: cap(r.fingerprints),
    deliveries: cap(r.deliveries),
  };
}
