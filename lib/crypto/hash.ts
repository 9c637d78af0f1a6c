/**
 * Hashing for stored secrets (house-style 11: secrets stored as hashes). API keys and client
 * secrets carry 256 random bits, so a plain SHA-256 is enough: there is nothing to brute-force.
 */
export async function sha256Hex(input: string | Uint8Array): Promise<string> {
  const bytes = typeof input === "string" ? new TextEncoder().encode(input) : input;
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}
