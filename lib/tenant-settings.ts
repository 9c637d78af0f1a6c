/**
 * Per-tenant settings (product-spec §3 `GET|PUT /v1/settings`): retention per data class,
 * decision thresholds, the widget's allowed origins and the default zone. Stored as JSON on the
 * tenant row and validated whenever it is read back (house-style 4).
 */
import { z } from "zod";

export const TenantSettingsSchema = z.object({
  defaultZone: z.enum(["eu", "us"]).default("eu"),
  /** zones this tenant forbids (data residency, issue "data lifecycle") */
  forbiddenZones: z.array(z.enum(["eu", "us"])).default([]),
  /** origins allowed to embed the widget and receive its postMessage events */
  allowedOrigins: z.array(z.string().url()).max(50).default([]),
  thresholds: z
    .object({ review: z.number().min(0).max(100), reject: z.number().min(0).max(100) })
    .refine((t) => t.review <= t.reject, { message: "review must not exceed reject" })
    .optional(),
  /** days to keep each data class; sandbox default 7 (product-spec §7) */
  retentionDays: z
    .object({
      sessions: z.number().int().min(1).max(3650),
      reports: z.number().int().min(1).max(3650),
      transcripts: z.number().int().min(1).max(3650),
      fingerprints: z.number().int().min(1).max(3650),
      deliveries: z.number().int().min(1).max(3650),
    })
    .default({ sessions: 7, reports: 7, transcripts: 7, fingerprints: 7, deliveries: 7 }),
});
export type TenantSettings = z.infer<typeof TenantSettingsSchema>;

export function parseTenantSettings(json: string): TenantSettings {
  return TenantSettingsSchema.parse(JSON.parse(json));
}
