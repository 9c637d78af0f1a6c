/**
 * Data residency (issue 6 item 6, product-spec §3 `zone?: "eu"|"us"`): a session's zone decides
 * where its Durable Object lives and which regional tokenizer sees its frames. This module is
 * the one place that turns a zone into a Durable Object placement, so the edge's lookups
 * (connect, cancel, erasure) can never disagree about which object owns a session.
 *
 * Placement: `env.SESSION.jurisdiction(zone).idFromName(sessionId)` (Cloudflare "Data location":
 * a jurisdictional subnamespace runs and stores the object only inside that jurisdiction; the
 * `us` jurisdiction exists since 2026-06-26). The id is derived, not stored: the session id and
 * zone are immutable columns of `sessions`, and the same name gives a different id in each
 * jurisdiction, so a lookup through the wrong zone or the plain namespace reaches an empty object
 * rather than the session. Inside the object, `ctx.id.jurisdiction` names the jurisdiction it was
 * created in, and `begin` refuses to run a session placed elsewhere (`assertPlacement`).
 *
 * Local workerd does not implement jurisdictions: every `jurisdiction()` call throws "Jurisdiction
 * restrictions are not implemented in workerd." (measured with workerd 1.20261117 under Miniflare
 * 5). `DEV_EMULATE_DO_JURISDICTION = "true"` (set only by scripts/lib/platform.ts, like
 * DEV_ALLOW_LOOPBACK_WEBHOOKS) swaps in an emulation: the object is named `<zone>/<sessionId>`
 * in the plain namespace, so ids still differ per zone and the object can still check where it
 * was put. Without the flag the production path runs and local workerd fails loudly — there is
 * no silent fallback to an unrestricted namespace.
 */
import { z } from "zod";

export const ZONES = ["eu", "us"] as const;
export const ZoneEnum = z.enum(ZONES);
export type Zone = z.infer<typeof ZoneEnum>;

/** The bindings placement needs (a subset of the edge's generated `Env`). */
export interface PlacementEnv {
  SESSION: Env["SESSION"];
  DEV_EMULATE_DO_JURISDICTION?: string;
}

const emulating = (env: { DEV_EMULATE_DO_JURISDICTION?: string }) =>
  env.DEV_EMULATE_DO_JURISDICTION === "true";

/** The development emulation's object name: distinct per zone, like a real jurisdiction. */
export function emulatedName(zone: Zone, sessionId: string): string {
  return `${zone}/${sessionId}`;
}

/** The id of the session's Durable Object, inside its zone's jurisdiction. */
export function sessionObjectId(env: PlacementEnv, session: { id: string; zone: Zone }): DurableObjectId {
  if (emulating(env)) return env.SESSION.idFromName(emulatedName(session.zone, session.id));
  return env.SESSION.jurisdiction(session.zone).idFromName(session.id);
}

/** The stub of the session's Durable Object. Every edge lookup of a session's object goes here. */
export function sessionStub(env: PlacementEnv, session: { id: string; zone: Zone }) {
  if (emulating(env)) return env.SESSION.get(sessionObjectId(env, session));
  // Docs: a jurisdictional namespace refuses ids of another jurisdiction; use it for `get` too.
  const namespace = env.SESSION.jurisdiction(session.zone);
  return namespace.get(namespace.idFromName(session.id));
}

export class PlacementError extends Error {
  override readonly name = "PlacementError";
}

/** The jurisdiction a Durable Object was created in, as the object itself sees it. */
export function observedPlacement(
  id: DurableObjectId,
  env: { DEV_EMULATE_DO_JURISDICTION?: string },
  sessionId: string,
): Zone | null {
  if (emulating(env)) {
    for (const zone of ZONES) if (id.name === emulatedName(zone, sessionId)) return zone;
    return null;
  }
  const parsed = ZoneEnum.safeParse(id.jurisdiction);
  return parsed.success ? parsed.data : null;
}

/**
 * Refuses to run a session in an object outside its zone: a lookup that bypassed `sessionStub`
 * is a residency breach, and failing the connect is the loud way to find it.
 */
export function assertPlacement(
  id: DurableObjectId,
  env: { DEV_EMULATE_DO_JURISDICTION?: string },
  session: { sessionId: string; zone: Zone },
): Zone {
  const placed = observedPlacement(id, env, session.sessionId);
  if (placed !== session.zone) {
    throw new PlacementError(
      `session object is placed in ${placed ?? "no jurisdiction"}, not ${session.zone}`,
    );
  }
  return placed;
}
