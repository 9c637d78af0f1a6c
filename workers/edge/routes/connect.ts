/**
 * `GET /v1/connect`: the widget's WebSocket. The client secret arrives as a subprotocol
 * (`Sec-WebSocket-Protocol: facet.v1, cs_…`), is consumed by one conditional UPDATE (single
 * use, unexpired, session not started: a replay finds no row and is refused before any upgrade),
 * and the upgrade is handed to the session's Durable Object, placed in the session's zone
 * (`sessionStub`, lib/residency.ts). The `session.started` outbox row is written in the same D1
 * batch as that UPDATE (lib/outbox.ts), so a started session always has its event owed.
 */
import { and, eq, gt, isNull } from "drizzle-orm";
import { Hono } from "hono";
import { CLIENT_SECRET_PATTERN } from "../../../lib/client-secret.ts";
import { sha256Hex } from "../../../lib/crypto/hash.ts";
import { tenantKeys } from "../../../lib/crypto/tenant-keys.ts";
import { sessions, tenants } from "../../../lib/db/schema.ts";
import { FacetError } from "../../../lib/errors.ts";
import type { NetworkSignals } from "../../../lib/features.ts";
import { FlowSchema } from "../../../lib/flow.ts";
import { dispatchLifecycleEvent, recordStartedEvent, startedOutboxId } from "../../../lib/outbox.ts";
import { sessionStub } from "../../../lib/residency.ts";
import { openSessionData } from "../../../lib/sessions/view.ts";
import { parseTenantSettings } from "../../../lib/tenant-settings.ts";
import { PROTOCOL } from "../../../lib/widget-protocol.ts";
import type { EdgeEnv } from "../env.ts";

export const connectRoutes = new Hono<EdgeEnv>();

/** Hosting and cloud ASNs seen in automated attacks; a short seed list (docs/signals.md). */
const DATACENTER_ASNS = new Set([
  16509, 14618, 15169, 396982, 8075, 14061, 63949, 24940, 16276, 20473, 45102, 13335,
]);

function networkSignals(request: Request, now: number): NetworkSignals {
  const cf = request.cf as IncomingRequestCfProperties | undefined;
  const country = typeof cf?.country === "string" ? cf.country : null;
  const asn = typeof cf?.asn === "number" ? cf.asn : null;
  const timezone = typeof cf?.timezone === "string" ? cf.timezone : null;
  let ipTimezoneOffsetMin: number | null = null;
  let localHour = new Date(now).getUTCHours();
  if (timezone) {
    try {
      const parts = new Intl.DateTimeFormat("en-US", {
        timeZone: timezone,
        hour: "numeric",
        hourCycle: "h23",
        timeZoneName: "longOffset",
      }).formatToParts(new Date(now));
      localHour = Number(parts.find((p) => p.type === "hour")?.value ?? localHour) % 24;
      const offset = /GMT([+-])(\d{2}):(\d{2})/.exec(
        parts.find((p) => p.type === "timeZoneName")?.value ?? "",
      );
      ipTimezoneOffsetMin = offset
        ? (offset[1] === "-" ? -1 : 1) * (Number(offset[2]) * 60 + Number(offset[3]))
        : 0;
    } catch {
      ipTimezoneOffsetMin = null;
    }
  }
  return {
    country,
    asn,
    datacenterAsn: asn !== null && DATACENTER_ASNS.has(asn),
    ipTimezoneOffsetMin,
    localHour,
  };
}

connectRoutes.get("/", async (c) => {
  if (c.req.header("upgrade")?.toLowerCase() !== "websocket") {
    throw new FacetError("ERR_UPGRADE_REQUIRED", "Connect with a WebSocket.");
  }
  const offered = (c.req.header("sec-websocket-protocol") ?? "").split(",").map((p) => p.trim());
  const secret = offered.find((p) => CLIENT_SECRET_PATTERN.test(p));
  if (!offered.includes(PROTOCOL) || !secret) {
    throw new FacetError(
      "ERR_CLIENT_SECRET_INVALID",
      `Offer the subprotocols "${PROTOCOL}" and the client secret.`,
    );
  }
  const now = Date.now();
  const { db } = c.var;
  const clientSecretHash = await sha256Hex(secret);
  const [[row]] = await db.batch([
    db
      .update(sessions)
      .set({ clientSecretUsedAt: now, status: "in_progress", startedAt: now })
      .where(
        and(
          eq(sessions.clientSecretHash, clientSecretHash),
          isNull(sessions.clientSecretUsedAt),
          gt(sessions.clientSecretExpiresAt, now),
          gt(sessions.expiresAt, now),
          eq(sessions.status, "created"),
        ),
      )
      .returning(),
    recordStartedEvent(db, { clientSecretHash, startedAt: now }),
  ]);
  if (!row) throw new FacetError("ERR_CLIENT_SECRET_INVALID");

  const [tenant] = await db
    .select({ settings: tenants.settings })
    .from(tenants)
    .where(eq(tenants.id, row.tenantId));
  const settings = tenant ? parseTenantSettings(tenant.settings) : null;
  const keys = tenantKeys(c.env, db, row.tenantId);
  const data = await openSessionData(keys, row);
  const stub = sessionStub(c.env, row);
  await stub.begin({
    sessionId: row.id,
    tenantId: row.tenantId,
    zone: row.zone,
    locale: row.locale,
    flow: FlowSchema.parse(JSON.parse(row.flow)),
    metadata: JSON.parse(data.metadata) as Record<string, unknown>,
    providedData: data.providedData ? (JSON.parse(data.providedData) as Record<string, unknown>) : {},
    expiresAt: row.expiresAt,
    network: networkSignals(c.req.raw, now),
    thresholds: settings?.thresholds ?? null,
  });
  c.executionCtx.waitUntil(dispatchLifecycleEvent(c.env, db, startedOutboxId(row.id)));
  return stub.fetch(c.req.raw);
});
