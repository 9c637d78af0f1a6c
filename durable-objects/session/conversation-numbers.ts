/**
 * Numbers in a conversation reply, for `number_equals` / `number_near` (conversation.ts) and the
 * answer shingles (answer-shingles.ts): digits ("2,400", "2400.50") and English words ("five
 * hundred", "two thousand four hundred", "twenty four hundred", "twelve point five").
 */

export const UNITS: Readonly<Record<string, number>> = {
  zero: 0,
  one: 1,
  two: 2,
  three: 3,
  four: 4,
  five: 5,
  six: 6,
  seven: 7,
  eight: 8,
  nine: 9,
  ten: 10,
  eleven: 11,
  twelve: 12,
  thirteen: 13,
  fourteen: 14,
  fifteen: 15,
  sixteen: 16,
  seventeen: 17,
  eighteen: 18,
  nineteen: 19,
};
export const TENS: Readonly<Record<string, number>> = {
  twenty: 20,
  thirty: 30,
  forty: 40,
  fourty: 40,
  fifty: 50,
  sixty: 60,
  seventy: 70,
  eighty: 80,
  ninety: 90,
};
export const SCALES: Readonly<Record<string, number>> = { thousand: 1_000, million: 1_000_000, billion: 1e9 };

/**
 * Every number spoken or written in `text`, in order: digit groups ("2,400", "1.5") and runs of
 * English number words ("two thousand four hundred and fifty", "a hundred", "twelve point five").
 */
export function parseNumbers(text: string): number[] {
  const out: number[] = [];
  const normalized = text.normalize("NFKC").toLowerCase();
  // Digits first (thousands separators "," only when grouped by three), then blank them out.
  const withoutDigits = normalized.replace(/\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?/g, (m) => {
    const n = Number(m.replace(/,/g, ""));
    if (Number.isFinite(n)) out.push(n);
    return " | ";
  });
  const tokens = withoutDigits
    .replace(/-/g, " ")
    .split(/[^a-z|]+/)
    .filter((w) => w !== "");
  let total = 0;
  let current = 0;
  let inNumber = false;
  let decimals: string | null = null;
  const flush = () => {
    if (inNumber) {
      const value = total + current;
      out.push(decimals ? Number(`${value}.${decimals}`) : value);
    }
    total = 0;
    current = 0;
    inNumber = false;
    decimals = null;
  };
  for (let i = 0; i < tokens.length; i++) {
    const w = tokens[i] ?? "";
    const next = tokens[i + 1] ?? "";
    if (decimals !== null) {
      const d = UNITS[w];
      if (d !== undefined && d < 10) {
        decimals += String(d);
        continue;
      }
      flush();
    }
    if (w in UNITS) {
      // "twenty five" and "hundred five" are one number; "five six" and "twenty twelve" two.
      const u = UNITS[w] ?? 0;
      const sub = current % 100;
      if (inNumber && sub !== 0 && (sub % 10 !== 0 || u >= 10)) flush();
      current += u;
      inNumber = true;
    } else if (w in TENS) {
      if (inNumber && current % 100 !== 0) flush();
      current += TENS[w] ?? 0;
      inNumber = true;
    } else if (w === "hundred") {
      if (current >= 100) {
        // "three hundred and five hundred": the second "hundred" starts a new number.
        const sub = current % 100;
        current -= sub;
        flush();
        current = (sub || 1) * 100;
      } else {
        current = (inNumber ? current || 1 : 1) * 100;
      }
      inNumber = true;
    } else if (w in SCALES) {
      total += (inNumber ? current || 1 : 1) * (SCALES[w] ?? 1);
      current = 0;
      inNumber = true;
    } else if (w === "a" && (next === "hundred" || next in SCALES)) {
      // "a hundred", "a thousand"
      if (inNumber) flush();
    } else if (w === "and" && inNumber && (next in UNITS || next in TENS)) {
      // "two hundred and fifty"
    } else if (w === "point" && inNumber && (UNITS[next] ?? 10) < 10) {
      decimals = "";
    } else {
      flush();
    }
  }
  flush();
  return out;
}

/** A field value as a number: finite numbers, and strings of digits with "," separators. */
export function asNumber(v: unknown): number | null {
  if (typeof v === "number" && Number.isFinite(v)) return v;
  if (typeof v === "string") {
    const s = v.trim().replace(/,/g, "");
    if (s !== "" && Number.isFinite(Number(s))) return Number(s);
  }
  return null;
}
