/**
 * Opaque keyset-pagination cursors for every list in the API: the (createdAt, id) of the last
 * row served, base64url-encoded. Keyset rather than offset so pages stay stable while rows are
 * inserted; opaque so integrators do not build them by hand.
 */
import { base64url } from "./crypto/random.ts";
import { FacetError } from "./errors.ts";

export interface Cursor {
  createdAt: number;
  id: string;
}

export function encodeCursor(cursor: Cursor): string {
  return base64url(new TextEncoder().encode(JSON.stringify([cursor.createdAt, cursor.id])));
}

export function decodeCursor(value: string): Cursor {
  try {
    const [createdAt, id] = JSON.parse(atob(value.replaceAll("-", "+").replaceAll("_", "/"))) as unknown[];
    if (typeof createdAt === "number" && typeof id === "string") return { createdAt, id };
  } catch {
    // fall through to the typed error
  }
  throw new FacetError("ERR_VALIDATION", "cursor is not one this API issued.");
}
