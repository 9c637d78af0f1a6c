/**
 * Webhook targets (product-spec §6): `https://` public hosts only. Every spelling the WHATWG URL
 * parser accepts for a non-public address is refused, each named here; public hosts and global
 * IPv6 pass; the development flag admits loopback and nothing else.
 */
import { describe, expect, it } from "vitest";
import { checkWebhookUrl, parseIpv4, parseIpv6 } from "../../lib/webhook-url.ts";

const refused: Record<string, string> = {
  // IPv4 loopback in every spelling
  "dotted loopback": "https://127.0.0.1/hook",
  "decimal loopback": "https://2130706433/hook",
  "hex loopback": "https://0x7f000001/hook",
  "hex-dotted short form": "https://0x7f.1/hook",
  "octal loopback": "https://0177.0.0.1/hook",
  "octal single number": "https://017700000001/hook",
  "short form 127.1": "https://127.1/hook",
  "percent-encoded loopback": "https://%31%32%37.0.0.1/hook",
  "full-width digits": "https://１２７.０.０.１/hook",
  "trailing-dot IPv4": "https://127.0.0.1./hook",
  "loopback elsewhere in 127/8": "https://127.255.0.1/hook",
  // unspecified, private, shared, link-local, metadata
  "0.0.0.0": "https://0.0.0.0/hook",
  "0 (0.0.0.0)": "https://0/hook",
  "10/8": "https://10.1.2.3/hook",
  "10/8 short form": "https://10.1/hook",
  "172.16/12": "https://172.20.0.1/hook",
  "192.168/16": "https://192.168.1.10/hook",
  "CGNAT 100.64/10": "https://100.64.0.1/hook",
  "CGNAT upper edge": "https://100.127.255.254/hook",
  "link-local": "https://169.254.1.1/hook",
  "metadata 169.254.169.254": "https://169.254.169.254/latest/meta-data",
  "metadata in hex": "https://0xa9.0xfe.0xa9.0xfe/",
  "metadata as decimal": "https://2852039166/",
  "IETF 192.0.0/24": "https://192.0.0.170/hook",
  "TEST-NET-1": "https://192.0.2.1/hook",
  "benchmarking 198.18/15": "https://198.19.0.1/hook",
  multicast: "https://224.0.0.1/hook",
  "reserved 240/4": "https://240.0.0.1/hook",
  broadcast: "https://255.255.255.255/hook",
  // IPv6
  "[::]": "https://[::]/hook",
  "[::1]": "https://[::1]/hook",
  "IPv4-mapped dotted": "https://[::ffff:127.0.0.1]/hook",
  "IPv4-mapped hex": "https://[::ffff:7f00:1]/hook",
  "IPv4-mapped long form": "https://[0:0:0:0:0:ffff:127.0.0.1]/hook",
  "IPv4-mapped public address": "https://[::ffff:8.8.8.8]/hook",
  "IPv4-translated ::ffff:0:0/96": "https://[::ffff:0:7f00:1]/hook",
  "IPv4-compatible": "https://[::127.0.0.1]/hook",
  "NAT64 64:ff9b::/96": "https://[64:ff9b::7f00:1]/hook",
  "NAT64 metadata": "https://[64:ff9b::a9fe:a9fe]/hook",
  "local-use NAT64 64:ff9b:1::/48": "https://[64:ff9b:1::a00:1]/hook",
  "ULA fc00::/7": "https://[fd00::1]/hook",
  "link-local fe80::/10": "https://[fe80::1]/hook",
  "site-local fec0::/10": "https://[fec0::1]/hook",
  "IPv6 multicast": "https://[ff02::1]/hook",
  "6to4 2002::/16": "https://[2002:7f00:1::1]/hook",
  "Teredo 2001::/32": "https://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/hook",
  "documentation 2001:db8::/32": "https://[2001:db8::1]/hook",
  "documentation 3fff::/20": "https://[3fff::1]/hook",
  // names
  localhost: "https://localhost/hook",
  "LOCALHOST upper case": "https://LOCALHOST/hook",
  "localhost trailing dot": "https://localhost./hook",
  "sub.localhost": "https://api.localhost/hook",
  "metadata.google.internal": "https://metadata.google.internal/computeMetadata/v1/",
  "metadata.google.internal trailing dot": "https://metadata.google.internal./computeMetadata/v1/",
  ".local mDNS": "https://printer.local/hook",
  ".home.arpa": "https://router.home.arpa/hook",
  ".internal": "https://db.corp.internal/hook",
  "single-label name": "https://metadata/hook",
  "single-label with trailing dot": "https://intranet./hook",
  "wildcard DNS nip.io": "https://127.0.0.1.nip.io/hook",
  "wildcard DNS localtest.me": "https://localtest.me/hook",
  // scheme and credentials
  "plain http to a public host": "http://hooks.example.com/hook",
  "credentials in URL": "https://user:pass@hooks.example.com/hook",
  "ftp scheme": "ftp://hooks.example.com/hook",
  "not a URL": "hooks.example.com/hook",
};

describe("checkWebhookUrl refuses non-public targets", () => {
  for (const [name, url] of Object.entries(refused)) {
    it(`refuses ${name}: ${url}`, () => {
      const verdict = checkWebhookUrl(url, false);
      expect(verdict.ok).toBe(false);
    });
  }

  it("says why", () => {
    expect(checkWebhookUrl("https://2130706433/", false)).toEqual({
      ok: false,
      reason: "address is not public",
    });
    expect(checkWebhookUrl("http://hooks.acme.io/", false)).toEqual({
      ok: false,
      reason: "webhook URLs must use https://",
    });
    expect(checkWebhookUrl("https://metadata.google.internal./", false)).toEqual({
      ok: false,
      reason: "host is not public",
    });
  });
});

describe("checkWebhookUrl accepts public https targets", () => {
  for (const url of [
    "https://hooks.acme.io/facet",
    "https://hooks.acme.io./facet",
    "https://api.acme.co.uk:8443/webhooks?x=1",
    "https://8.8.8.8/hook",
    "https://1.1.1.1/hook",
    "https://100.128.0.1/hook", // just above CGNAT
    "https://172.32.0.1/hook", // just above 172.16/12
    "https://[2606:4700:4700::1111]/hook",
    "https://[2a00:1450:4001::200e]/hook",
    "https://xn--bcher-kva.de/hook",
  ]) {
    it(`accepts ${url}`, () => {
      const verdict = checkWebhookUrl(url, false);
      expect(verdict).toMatchObject({ ok: true });
    });
  }
});

describe("the development flag", () => {
  it("admits loopback over http and https, and only loopback", () => {
    for (const url of [
      "http://127.0.0.1:8080/h",
      "http://localhost:3000/h",
      "http://[::1]:9/h",
      "https://127.1/h",
    ]) {
      expect(checkWebhookUrl(url, true)).toMatchObject({ ok: true });
      expect(checkWebhookUrl(url, false).ok).toBe(false);
    }
    for (const url of [
      "http://10.0.0.1/h",
      "http://169.254.169.254/",
      "http://hooks.acme.io/h",
      "https://[fe80::1]/",
    ]) {
      expect(checkWebhookUrl(url, true).ok).toBe(false);
    }
  });
});

describe("address parsers", () => {
  it("reads WHATWG IPv4 numbers in every base and short form", () => {
    for (const host of [
      "127.0.0.1",
      "2130706433",
      "0x7f000001",
      "0x7f.1",
      "0177.0.0.1",
      "127.1",
      "127.0.1",
      "127.0.0.1.",
    ]) {
      expect(parseIpv4(host)).toBe(0x7f000001);
    }
    for (const host of [
      "example.com",
      "1.2.3.4.5",
      "256.0.0.1",
      "0x100000000",
      "1.2.3.0x1000000",
      "08.0.0.1",
      "",
    ]) {
      expect(parseIpv4(host)).toBeNull();
    }
  });

  it("expands IPv6 with :: and an embedded IPv4 tail", () => {
    expect(parseIpv6("::ffff:127.0.0.1")).toEqual([0, 0, 0, 0, 0, 0xffff, 0x7f00, 1]);
    expect(parseIpv6("1:2:3:4:5:6:1.2.3.4")).toEqual([1, 2, 3, 4, 5, 6, 0x102, 0x304]);
    expect(parseIpv6("2606:4700::1111")).toEqual([0x2606, 0x4700, 0, 0, 0, 0, 0, 0x1111]);
    expect(parseIpv6("::")).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
    for (const bad of [
      "1:2:3:4:5:6:7:8:9",
      "1::2::3",
      "fe80::1%eth0",
      "::1.2.3.256",
      "12345::",
      "1:2:3:4:5:6:7",
    ]) {
      expect(parseIpv6(bad)).toBeNull();
    }
  });
});
