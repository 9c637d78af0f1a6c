/**
 * Which URLs may receive webhooks (product-spec §6): `https://` to public hosts only. Under the
 * development flag (`npm start`), `http://` on loopback is accepted too, and only there.
 * IP literals in private, loopback, link-local, CGNAT, metadata and unspecified ranges are
 * refused in any spelling the URL parser normalises (decimal, hex, IPv4-mapped IPv6).
 */
export type UrlVerdict = { ok: true; url: URL } | { ok: false; reason: string };

const LOOPBACK_HOSTS = new Set(["127.0.0.1", "localhost", "[::1]"]);

function ipv4Octets(host: string): number[] | null {
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(host);
  return m ? m.slice(1).map(Number) : null;
}

function isNonPublicIpv4([a = 0, b = 0]: number[]): boolean {
  return (
    a === 0 ||
    a === 10 ||
    a === 127 ||
    (a === 100 && b >= 64 && b <= 127) ||
    (a === 169 && b === 254) ||
    (a === 172 && b >= 16 && b <= 31) ||
    (a === 192 && b === 168) ||
    (a === 198 && (b === 18 || b === 19)) ||
    a >= 224
  );
}

function isNonPublicIpv6(host: string): boolean {
  const h = host.slice(1, -1).toLowerCase();
  if (h === "::" || h === "::1") return true;
  if (
    h.startsWith("fc") ||
    h.startsWith("fd") ||
    h.startsWith("fe8") ||
    h.startsWith("fe9") ||
    h.startsWith("fea") ||
    h.startsWith("feb")
  )
    return true;
  // IPv4-mapped (::ffff:a.b.c.d, normalised by URL to ::ffff:xxxx:xxxx) and NAT64 carry an IPv4 inside.
  const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(h);
  if (mapped?.[1] && mapped[2]) {
    const hi = Number.parseInt(mapped[1], 16);
    const lo = Number.parseInt(mapped[2], 16);
    return isNonPublicIpv4([hi >> 8, hi & 255, lo >> 8, lo & 255]);
  }
  return h.startsWith("::ffff:") || h.startsWith("64:ff9b:");
}

export function checkWebhookUrl(raw: string, allowLoopback: boolean): UrlVerdict {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { ok: false, reason: "not a URL" };
  }
  if (url.username || url.password) return { ok: false, reason: "credentials in the URL are not allowed" };
  const host = url.hostname;
  if (allowLoopback && LOOPBACK_HOSTS.has(host) && (url.protocol === "http:" || url.protocol === "https:")) {
    return { ok: true, url };
  }
  if (url.protocol !== "https:") return { ok: false, reason: "webhook URLs must use https://" };
  if (
    host === "localhost" ||
    host.endsWith(".localhost") ||
    host.endsWith(".internal") ||
    host.endsWith(".local")
  ) {
    return { ok: false, reason: "host is not public" };
  }
  const v4 = ipv4Octets(host);
  if (v4 && isNonPublicIpv4(v4)) return { ok: false, reason: "address is not public" };
  if (host.startsWith("[") && isNonPublicIpv6(host)) return { ok: false, reason: "address is not public" };
  return { ok: true, url };
}
