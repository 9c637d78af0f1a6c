/**
 * Which URLs may receive webhooks (product-spec §6): `https://` to public hosts only. Under the
 * development flag (`npm start`), `http://` on loopback is accepted too, and only there.
 *
 * The WHATWG URL parser accepts many spellings of one address (`2130706433`, `0x7f.1`, `0177.0.0.1`,
 * `127.1`, `[::ffff:127.0.0.1]`, a trailing dot, full-width digits); it normalises IPv4 to dotted
 * decimal and IPv6 to its compressed form. This module parses the normalised host again itself
 * (WHATWG IPv4 number rules, full IPv6 with an embedded IPv4 tail) rather than matching strings, so
 * a runtime that normalises differently still meets the same checks. IPv4 literals are refused in
 * every IANA special-purpose range that is not globally reachable (RFC 6890 registry); IPv6 literals
 * must be global unicast (2000::/3, RFC 4291 §2.4) outside the documentation, 6to4 and IETF protocol
 * blocks, which also refuses IPv4-mapped, IPv4-compatible, NAT64 (64:ff9b::/96, RFC 6052), ULA,
 * link-local and multicast. Names that only exist inside a network (RFC 6761, RFC 6762 App. G,
 * `.internal`) and names with one label are refused too. Names are not resolved here: Workers
 * cannot resolve DNS themselves (docs/webhooks.md, "Residual risk").
 */
export type UrlVerdict = { ok: true; url: URL } | { ok: false; reason: string };

const LOOPBACK_HOSTS = new Set(["127.0.0.1", "localhost", "[::1]"]);

/** Special-use and private-use names (RFC 6761, RFC 6762 App. G, RFC 8375, ICANN `.internal`). */
const PRIVATE_SUFFIXES = [
  "localhost",
  "local",
  "internal",
  "intranet",
  "private",
  "corp",
  "home",
  "lan",
  "localdomain",
  "home.arpa",
  "arpa",
  "test",
  "example",
  "invalid",
  "onion",
  "alt",
];

/**
 * Public wildcard-DNS services that answer any embedded address, loopback included
 * (`127.0.0.1.nip.io`). Defence in depth only: any name can point anywhere (docs/webhooks.md).
 */
const REBINDING_SUFFIXES = ["nip.io", "sslip.io", "xip.io", "localtest.me", "lvh.me", "traefik.me"];

/** IPv4 ranges that are not globally reachable: [first address as uint32, prefix length]. */
const NON_PUBLIC_V4: readonly (readonly [number, number])[] = [
  [0x00000000, 8], // 0.0.0.0/8 "this network" (RFC 791), 0.0.0.0 included
  [0x0a000000, 8], // 10/8 private (RFC 1918)
  [0x64400000, 10], // 100.64/10 CGNAT shared space (RFC 6598)
  [0x7f000000, 8], // 127/8 loopback
  [0xa9fe0000, 16], // 169.254/16 link-local, cloud metadata 169.254.169.254 (RFC 3927)
  [0xac100000, 12], // 172.16/12 private (RFC 1918)
  [0xc0000000, 24], // 192.0.0/24 IETF protocol assignments, NAT64 discovery (RFC 6890)
  [0xc0000200, 24], // 192.0.2/24 TEST-NET-1 (RFC 5737)
  [0xc0586300, 24], // 192.88.99/24 6to4 relay anycast, deprecated (RFC 7526)
  [0xc0a80000, 16], // 192.168/16 private (RFC 1918)
  [0xc6120000, 15], // 198.18/15 benchmarking (RFC 2544)
  [0xc6336400, 24], // 198.51.100/24 TEST-NET-2
  [0xcb007100, 24], // 203.0.113/24 TEST-NET-3
  [0xe0000000, 4], // 224/4 multicast
  [0xf0000000, 4], // 240/4 reserved, 255.255.255.255 broadcast included
];

/** A WHATWG IPv4 "number": decimal, `0x` hex or `0` octal (URL Standard §3.5, IPv4 number parser). */
function parseIpv4Number(part: string): number | null {
  if (part === "") return null;
  let digits = part;
  let radix = 10;
  if (/^0x/i.test(digits)) {
    digits = digits.slice(2);
    radix = 16;
  } else if (digits.length > 1 && digits.startsWith("0")) {
    digits = digits.slice(1);
    radix = 8;
  }
  if (digits === "") return 0;
  const pattern = radix === 16 ? /^[0-9a-f]+$/i : radix === 8 ? /^[0-7]+$/ : /^[0-9]+$/;
  if (!pattern.test(digits)) return null;
  const value = Number.parseInt(digits, radix);
  return Number.isSafeInteger(value) ? value : null;
}

/**
 * The address a host denotes if it is an IPv4 literal in any WHATWG spelling (1–4 parts, the last
 * filling the remaining bytes), as an unsigned 32-bit number; null when it is a name.
 */
export function parseIpv4(host: string): number | null {
  const parts = host.split(".");
  if (parts.at(-1) === "" && parts.length > 1) parts.pop();
  if (parts.length > 4) return null;
  const numbers = parts.map(parseIpv4Number);
  if (numbers.some((n) => n === null)) return null;
  const values = numbers as number[];
  const last = values.at(-1) ?? 0;
  const head = values.slice(0, -1);
  if (head.some((n) => n > 255) || last >= 256 ** (5 - values.length)) return null;
  let address = last;
  head.forEach((n, i) => {
    address += n * 256 ** (3 - i);
  });
  return address;
}

function inV4Range(address: number, [base, prefix]: readonly [number, number]): boolean {
  const size = 2 ** (32 - prefix);
  return address >= base && address < base + size;
}

export function isPublicIpv4(address: number): boolean {
  return !NON_PUBLIC_V4.some((range) => inV4Range(address, range));
}

/** Eight 16-bit groups of an IPv6 literal (brackets removed), or null when it is not one. */
export function parseIpv6(literal: string): number[] | null {
  let text = literal.toLowerCase();
  if (text.includes("%")) return null; // zone ids never name a public host
  const lastColon = text.lastIndexOf(":");
  if (lastColon < 0) return null;
  let tail: number[] = [];
  const last = text.slice(lastColon + 1);
  if (last.includes(".")) {
    // An embedded IPv4 tail (`::ffff:1.2.3.4`) fills the last two groups.
    const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(last);
    const bytes = v4 ? v4.slice(1).map(Number) : [];
    if (bytes.length !== 4 || bytes.some((b) => b > 255)) return null;
    const [a = 0, b = 0, c = 0, d = 0] = bytes;
    tail = [(a << 8) | b, (c << 8) | d];
    text = text.slice(0, lastColon + 1);
    if (!text.endsWith("::")) text = text.slice(0, -1);
  }
  const halves = text.split("::");
  if (halves.length > 2) return null;
  const groups = (s: string) => (s === "" ? [] : s.split(":"));
  const head = groups(halves[0] ?? "");
  const rest = halves.length === 2 ? groups(halves[1] ?? "") : [];
  if (![...head, ...rest].every((g) => /^[0-9a-f]{1,4}$/.test(g))) return null;
  const hex = (g: string) => Number.parseInt(g, 16);
  const need = 8 - tail.length;
  const present = head.length + rest.length;
  if (halves.length === 1 ? present !== need : present > need - 1) return null;
  const zeros = new Array<number>(need - present).fill(0);
  return [...head.map(hex), ...zeros, ...rest.map(hex), ...tail];
}

/** Global unicast only (2000::/3), minus blocks that are not globally reachable or embed IPv4. */
export function isPublicIpv6(groups: readonly number[]): boolean {
  const [g0 = 0, g1 = 0] = groups;
  if ((g0 & 0xe000) !== 0x2000) return false; // ::/8 (mapped, compatible, ::, ::1), 64:ff9b::, fc00::/7, fe80::/10, ff00::/8 …
  if (g0 === 0x2001 && g1 < 0x0200) return false; // 2001::/23 IETF protocol assignments, Teredo 2001::/32
  if (g0 === 0x2001 && g1 === 0x0db8) return false; // 2001:db8::/32 documentation (RFC 3849)
  if (g0 === 0x2002) return false; // 2002::/16 6to4, embeds an IPv4 address (RFC 3056)
  if ((g0 & 0xfff0) === 0x3ff0) return false; // 3fff::/20 documentation (RFC 9637)
  return true;
}

function hasSuffix(host: string, suffixes: readonly string[]): boolean {
  return suffixes.some((s) => host === s || host.endsWith(`.${s}`));
}

export function checkWebhookUrl(raw: string, allowLoopback: boolean): UrlVerdict {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { ok: false, reason: "not a URL" };
  }
  if (url.username || url.password) return { ok: false, reason: "credentials in the URL are not allowed" };
  const host = url.hostname.toLowerCase();
  if (allowLoopback && LOOPBACK_HOSTS.has(host) && (url.protocol === "http:" || url.protocol === "https:")) {
    return { ok: true, url };
  }
  if (url.protocol !== "https:") return { ok: false, reason: "webhook URLs must use https://" };
  if (host.startsWith("[")) {
    const groups = parseIpv6(host.slice(1, -1));
    if (!groups || !isPublicIpv6(groups)) return { ok: false, reason: "address is not public" };
    return { ok: true, url };
  }
  // A trailing dot names the same host (an absolute name): compare without it.
  const name = host.replace(/\.+$/, "");
  const v4 = parseIpv4(name);
  if (v4 !== null) {
    return isPublicIpv4(v4) ? { ok: true, url } : { ok: false, reason: "address is not public" };
  }
  // WHATWG treats a host whose last label is a number as IPv4; one that does not parse is no name.
  if (/^(\d+|0x[0-9a-f]*)$/i.test(name.split(".").at(-1) ?? "")) {
    return { ok: false, reason: "not a valid address" };
  }
  if (name === "" || !name.includes(".")) return { ok: false, reason: "host is not a public name" };
  if (hasSuffix(name, PRIVATE_SUFFIXES) || hasSuffix(name, REBINDING_SUFFIXES)) {
    return { ok: false, reason: "host is not public" };
  }
  return { ok: true, url };
}
