/**
 * The recognition decision rule on keyed BioHash templates (services/tokenizer/fingerprint/biohash.ts):
 * normalised Hamming distance between 256-bit templates made under the same tenant tokenization
 * key version, and one threshold. Pure functions, no I/O, so the rule reads (and is tested) apart
 * from the store and the Durable Object.
 *
 * Threshold. Measured on real faces through the real tokenizer (test/tokenizer/fingerprint.test.ts,
 * one fresh tenant key per run): same person mean 0.11–0.13, max 0.24; different people mean
 * 0.37–0.39, min 0.25 (a run on 2026-11-26: 0.113 / 0.195 and 0.355 / 0.258); 256 fair bits
 * have σ ≈ 0.03. `MATCH_THRESHOLD = 0.20` sits 0.05 below the
 * closest impostor pair ever measured (0.25) and ≈ 0.18 (≈ 6σ) below the impostor mean, and
 * 0.07–0.09 above the genuine mean. It errs on the side of `new_subject`: a genuine pair as far
 * apart as the worst measured (0.24) is not recognised (a duplicate enrolment, which the
 * integrator can merge), whereas naming the wrong person (a false match) is the failure a
 * recognition product must not make. The probe is the bitwise majority of the node's window
 * templates, which pulls genuine distances down further (each window is an independent draw).
 */
import { normalisedHamming } from "./hamming.ts";

/** Normalised Hamming distance at or below which two templates are the same person. */
export const MATCH_THRESHOLD = 0.2;

function bytesOf(base64: string): Uint8Array {
  const s = atob(base64);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

function toBase64(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s);
}

/** Normalised Hamming distance (0 … 1) of two base64 templates; 1 (no match) when lengths differ. */
export function hammingDistance(a: string, b: string): number {
  const x = bytesOf(a);
  const y = bytesOf(b);
  if (x.length !== y.length || x.length === 0) return 1;
  return normalisedHamming(x, y);
}

/**
 * Bitwise majority of several templates of one key version (ties go to the first template), so
 * one noisy window does not decide. Templates of another length than the first are ignored.
 */
export function majorityTemplate(templates: readonly string[]): string | null {
  const all = templates.map(bytesOf);
  const first = all[0];
  if (!first) return null;
  const same = all.filter((t) => t.length === first.length);
  const out = new Uint8Array(first.length);
  for (let bit = 0; bit < first.length * 8; bit++) {
    const mask = 0x80 >> (bit & 7);
    const ones = same.filter((t) => ((t[bit >> 3] ?? 0) & mask) !== 0).length;
    const set = ones * 2 === same.length ? ((first[bit >> 3] ?? 0) & mask) !== 0 : ones * 2 > same.length;
    if (set) out[bit >> 3] = (out[bit >> 3] ?? 0) | mask;
  }
  return toBase64(out);
}

export interface Candidate {
  id: string;
  distance: number;
}

/** The closest candidate within the threshold, or null. */
export function bestMatch(candidates: readonly Candidate[], threshold = MATCH_THRESHOLD): Candidate | null {
  let best: Candidate | null = null;
  for (const c of candidates) if (c.distance <= threshold && (!best || c.distance < best.distance)) best = c;
  return best;
}
