/**
 * The session Durable Object's residency bookkeeping (lib/residency.ts, docs/data-protection.md
 * "Residency"): which regional tokenizer a window goes to, which regions confirmed they tokenized
 * the session's windows, and how many windows a tokenizer refused because it does not serve the
 * session's zone. The report records the result, so the integrator sees where the session was
 * actually processed rather than where it was meant to be. Memory only, like the features.
 */
import type { Degradation, Residency } from "../../lib/api-schemas.ts";
import type { TokenizeReply } from "../../lib/features.ts";
import { observedPlacement, type Zone } from "../../lib/residency.ts";
import { TokenizerError, type TokenizeTarget } from "./tokenizer-client.ts";

/** Refusals that mean "wrong region", as opposed to an outage (tokenizer-client.ts, errors.ts). */
const ZONE_REFUSALS = new Set(["ERR_ZONE_NOT_SERVED", "ERR_TOKENIZER_ZONE"]);

export class ResidencyLedger {
  #tokenizedIn = new Set<Zone>();
  #refused = 0;

  /** The zone's tokenizer (TOKENIZER_URL_EU / TOKENIZER_URL_US, docs/deploy.md). */
  target(env: Env, config: { tenantId: string; sessionId: string; zone: Zone }): TokenizeTarget {
    return {
      fetcher: env.TOKENIZER,
      baseUrl: config.zone === "us" ? env.TOKENIZER_URL_US : env.TOKENIZER_URL_EU,
      tenantId: config.tenantId,
      sessionId: config.sessionId,
      zone: config.zone,
    };
  }

  /** A reply that tokenizer-client accepted: its zone is the session's, confirmed by the service. */
  tokenized(reply: TokenizeReply): void {
    if (reply.zone) this.#tokenizedIn.add(reply.zone);
  }

  failed(error: unknown): void {
    if (error instanceof TokenizerError && ZONE_REFUSALS.has(error.code)) {
      this.#refused += 1;
      // Loud but payload-free, once per session: a misconfigured region is an operator problem.
      if (this.#refused === 1) console.error("tokenize: the tokenizer refused the session's zone");
    }
  }

  /** The report's `residency`, and a degradation when windows were refused for their zone. */
  report(
    id: DurableObjectId,
    env: Env,
    config: { sessionId: string; zone: Zone },
  ): { residency: Residency; degraded: Degradation[] } {
    const residency: Residency = {
      zone: config.zone,
      durableObject: observedPlacement(id, env, config.sessionId),
      tokenizedIn: [...this.#tokenizedIn].sort(),
    };
    const degraded: Degradation[] =
      this.#refused > 0
        ? [
            {
              component: "tokenizer",
              code: "TOKENIZER_ZONE_REFUSED",
              detail: `${this.#refused} media window(s) were refused by a tokenizer that does not serve zone ${config.zone}`,
            },
          ]
        : [];
    return { residency, degraded };
  }
}
