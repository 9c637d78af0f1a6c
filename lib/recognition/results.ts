/**
 * What a session's `recognition` nodes decided, as the report shows it (product-spec §2, §5): the
 * matched subject's `clientReferenceId` for `recognized`, whether `new_subject` enrolled. Rows live
 * in `recognition_results` (the reference sealed under the tenant key, row `<session>/<node>`) and
 * go with the session's report (erasure, retention classes `reports` and `sessions`).
 */
import { and, eq } from "drizzle-orm";
import type { TenantKeys } from "../crypto/tenant-keys.ts";
import type { Db } from "../db/client.ts";
import { recognitionResults } from "../db/schema.ts";

export interface RecognitionDetail {
  matchedClientReferenceId?: string;
  enrolled: boolean;
}

/** Node id → what its recognition decided, for the report's node list. */
export async function loadRecognitionResults(
  db: Db,
  keys: TenantKeys,
  sessionId: string,
): Promise<Map<string, RecognitionDetail>> {
  const rows = await db
    .select()
    .from(recognitionResults)
    .where(and(eq(recognitionResults.sessionId, sessionId), eq(recognitionResults.tenantId, keys.tenantId)));
  const out = new Map<string, RecognitionDetail>();
  for (const r of rows) {
    const matched =
      r.matchedReference === null
        ? undefined
        : await keys.open(
            { table: "recognition_results", column: "matched_reference", rowId: `${sessionId}/${r.nodeId}` },
            r.matchedReference,
          );
    out.set(r.nodeId, {
      ...(matched === undefined ? {} : { matchedClientReferenceId: matched }),
      enrolled: r.enrolled,
    });
  }
  return out;
}
