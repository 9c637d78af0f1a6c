/**
 * Development certificates for the mutual-TLS link between the session Durable Object and the
 * regional tokenization service (product-spec §7: raw media travels only over TLS 1.3 / mTLS).
 *
 * Production never uses these: the tokenizer reads its key pair and client CA from the paths in
 * TOKENIZER_TLS_CERT, TOKENIZER_TLS_KEY and TOKENIZER_CLIENT_CA. Locally `ensureDevCerts` makes a
 * throw-away EC P-256 CA (FIPS 186-5 / SEC 2 secp256r1), a server certificate for 127.0.0.1 and
 * localhost, a client certificate for the session DO, and the negative cases the tokenizer tests
 * need: a client from a foreign CA, a client whose extended key usage lacks clientAuth, and one
 * with no extended key usage at all (RFC 5280 §4.2.1.12: absent EKU means "any purpose", so only
 * an explicit application check refuses it). Everything is made with the `openssl` CLI into a
 * git-ignored directory; a manifest written last makes the call idempotent.
 */
import { execFileSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export interface KeyPairPaths {
  cert: string;
  key: string;
}

export interface DevCerts {
  dir: string;
  /** trust anchor for both the server and the client certificates */
  ca: KeyPairPaths;
  /** tokenizer server certificate: SAN IP 127.0.0.1 and DNS localhost, EKU serverAuth */
  server: KeyPairPaths;
  /** session Durable Object client certificate: EKU clientAuth */
  client: KeyPairPaths;
  /** tests only: a CA the tokenizer does not trust, and a client it issued */
  foreignCa: KeyPairPaths;
  foreignClient: KeyPairPaths;
  /** tests only: issued by the dev CA, EKU serverAuth only (no clientAuth) */
  serverAuthOnlyClient: KeyPairPaths;
  /** tests only: issued by the dev CA, no extendedKeyUsage extension at all */
  noEkuClient: KeyPairPaths;
}

const MANIFEST = "manifest.json";
const MANIFEST_VERSION = 1;
const DAYS = "30";

function openssl(args: string[], cwd: string): void {
  execFileSync("/usr/bin/openssl", args, { cwd, stdio: ["ignore", "ignore", "pipe"] });
}

function newKey(dir: string, name: string): string {
  const key = join(dir, `${name}.key`);
  openssl(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", key], dir);
  chmodSync(key, 0o600);
  return key;
}

function selfSignedCa(dir: string, name: string, cn: string): KeyPairPaths {
  const key = newKey(dir, name);
  const cert = join(dir, `${name}.pem`);
  openssl(
    [
      ...["req", "-new", "-x509", "-key", key, "-out", cert, "-days", DAYS, "-subj", `/CN=${cn}`],
      ...["-addext", "basicConstraints=critical,CA:TRUE,pathlen:0"],
      ...["-addext", "keyUsage=critical,keyCertSign,cRLSign"],
    ],
    dir,
  );
  return { cert, key };
}

/** Issues a leaf certificate; `extensions` is an openssl x509v3 config section body. */
function leaf(
  dir: string,
  name: string,
  cn: string,
  issuer: KeyPairPaths,
  extensions: string[],
): KeyPairPaths {
  const key = newKey(dir, name);
  const csr = join(dir, `${name}.csr`);
  const ext = join(dir, `${name}.ext`);
  const cert = join(dir, `${name}.pem`);
  openssl(["req", "-new", "-key", key, "-out", csr, "-subj", `/CN=${cn}`], dir);
  writeFileSync(ext, `${["basicConstraints=critical,CA:FALSE", ...extensions].join("\n")}\n`);
  openssl(
    [
      ...["x509", "-req", "-in", csr, "-CA", issuer.cert, "-CAkey", issuer.key, "-set_serial"],
      ...[`0x${Date.now().toString(16)}${Math.floor(Math.random() * 0xffff).toString(16)}`],
      ...["-days", DAYS, "-sha256", "-extfile", ext, "-out", cert],
    ],
    dir,
  );
  rmSync(csr);
  rmSync(ext);
  return { cert, key };
}

function stillValid(certs: DevCerts): boolean {
  const all = [certs.ca, certs.server, certs.client, certs.foreignCa, certs.foreignClient];
  if (
    ![...all, certs.serverAuthOnlyClient, certs.noEkuClient].every(
      (p) => existsSync(p.cert) && existsSync(p.key),
    )
  ) {
    return false;
  }
  try {
    // Regenerate a day before expiry so a long dev session never meets an expired chain.
    openssl(["x509", "-checkend", "86400", "-noout", "-in", certs.ca.cert], certs.dir);
    openssl(["x509", "-checkend", "86400", "-noout", "-in", certs.server.cert], certs.dir);
    return true;
  } catch {
    return false;
  }
}

/** Creates (once) and returns the development certificate set under `dir`. */
export function ensureDevCerts(dir: string): DevCerts {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const manifestPath = join(dir, MANIFEST);
  if (existsSync(manifestPath)) {
    const manifest = JSON.parse(readFileSync(manifestPath, "utf8")) as { version: number; certs: DevCerts };
    if (manifest.version === MANIFEST_VERSION && manifest.certs.dir === dir && stillValid(manifest.certs)) {
      return manifest.certs;
    }
    rmSync(manifestPath);
  }

  const ca = selfSignedCa(dir, "ca", "Facet dev CA");
  const server = leaf(dir, "server", "facet-tokenizer", ca, [
    "keyUsage=critical,digitalSignature",
    "extendedKeyUsage=serverAuth",
    "subjectAltName=IP:127.0.0.1,DNS:localhost",
  ]);
  const client = leaf(dir, "client", "facet-session-do", ca, [
    "keyUsage=critical,digitalSignature",
    "extendedKeyUsage=clientAuth",
  ]);
  const foreignCa = selfSignedCa(dir, "foreign-ca", "Foreign CA");
  const foreignClient = leaf(dir, "foreign-client", "foreign-client", foreignCa, [
    "keyUsage=critical,digitalSignature",
    "extendedKeyUsage=clientAuth",
  ]);
  const serverAuthOnlyClient = leaf(dir, "serverauth-only-client", "serverauth-only", ca, [
    "keyUsage=critical,digitalSignature",
    "extendedKeyUsage=serverAuth",
  ]);
  const noEkuClient = leaf(dir, "no-eku-client", "no-eku", ca, ["keyUsage=critical,digitalSignature"]);

  const certs: DevCerts = {
    dir,
    ca,
    server,
    client,
    foreignCa,
    foreignClient,
    serverAuthOnlyClient,
    noEkuClient,
  };
  writeFileSync(manifestPath, `${JSON.stringify({ version: MANIFEST_VERSION, certs }, null, 2)}\n`);
  return certs;
}
