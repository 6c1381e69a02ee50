/**
 * The principal of a TLS client, as Kafka's DefaultKafkaPrincipalBuilder names it: `User:` and the
 * certificate's subject in RFC 2253 form (what Java's `X500Principal.getName()` prints: the
 * relative names last to first, `CN=client-1,O=kstack,C=US`), passed through
 * `ssl.principal.mapping.rules`. A client that sent no certificate is `User:ANONYMOUS`.
 *
 * The rules use Kafka's syntax: a comma-separated list of `DEFAULT` (the name unchanged) and
 * `RULE:pattern/replacement/[LU]` (a Java-style regular expression that must match the whole name;
 * the replacement may use `$1`..; `L` or `U` lowers or raises the case of the result). The first
 * rule that applies names the principal; when none does, authentication fails (Kafka's
 * NoMatchingRule: the connection is closed).
 */
import { X509Certificate } from 'node:crypto';
import type { ConnectionInfo } from '../broker/handler.ts';

/** `ssl.principal.mapping.rules` longer than this is refused (Kafka names no bound). */
export const MAPPING_RULES_CHARS_MAX = 100_000;
/** Subjects nested deeper or longer than this are refused as malformed (a subject is a few hundred bytes). */
const SUBJECT_BYTES_MAX = 64 * 1024;

interface Rule {
  readonly isDefault: boolean;
  readonly pattern?: RegExp;
  readonly whole?: RegExp;
  readonly replacement?: string;
  readonly toLowerCase?: boolean;
  readonly toUpperCase?: boolean;
}

export class PrincipalMapper {
  readonly #rules: readonly Rule[];
  readonly #text: string;

  private constructor(rules: readonly Rule[], text: string) {
    this.#rules = rules;
    this.#text = text;
  }

  /** Parses `ssl.principal.mapping.rules`; a bad rule throws, naming the setting and the rule. */
  static fromRules(text: string | undefined, setting = 'ssl.principal.mapping.rules'): PrincipalMapper {
    const value = (text ?? 'DEFAULT').trim();
    if (value.length > MAPPING_RULES_CHARS_MAX) {
      throw new Error(`${setting}: longer than ${MAPPING_RULES_CHARS_MAX} characters`);
    }
    const rules: Rule[] = [];
    let rest = value;
    while (rest.length > 0) {
      let rule: Rule;
      let consumed: number;
      if (/^DEFAULT(\s*(,|$))/.test(rest)) {
        rule = { isDefault: true };
        consumed = 'DEFAULT'.length;
      } else if (rest.startsWith('RULE:')) {
        // pattern and replacement: characters other than `/` and `\`, or `\` and any character.
        const match = /^RULE:((?:\\.|[^\\/])*)\/((?:\\.|[^\\/])*)\/([LU]?)/.exec(rest);
        if (match === null) throw new Error(`${setting}: invalid rule: ${firstItem(rest)}`);
        const [whole, source = '', replacement = '', flag = ''] = match;
        let pattern: RegExp;
        let anchored: RegExp;
        try {
          pattern = new RegExp(source, 'g');
          anchored = new RegExp(`^(?:${source})$`);
        } catch (error) {
          throw new Error(`${setting}: invalid pattern ${source}: ${(error as Error).message}`);
        }
        rule = {
          isDefault: false,
          pattern,
          whole: anchored,
          replacement,
          toLowerCase: flag === 'L',
          toUpperCase: flag === 'U',
        };
        consumed = whole.length;
      } else {
        throw new Error(`${setting}: invalid rule: ${firstItem(rest)}`);
      }
      rules.push(rule);
      rest = rest.slice(consumed).trimStart();
      if (rest.startsWith(',')) rest = rest.slice(1).trimStart();
      else if (rest.length > 0) throw new Error(`${setting}: invalid rule: ${firstItem(rest)}`);
    }
    return new PrincipalMapper(rules, value);
  }

  /** The short name for `distinguishedName`; throws when no rule applies (Kafka's NoMatchingRule). */
  nameOf(distinguishedName: string): string {
    for (const rule of this.#rules) {
      if (rule.isDefault) return distinguishedName;
      if (!rule.whole!.test(distinguishedName)) continue;
      rule.pattern!.lastIndex = 0;
      let result = distinguishedName.replace(rule.pattern!, rule.replacement!);
      if (rule.toLowerCase) result = result.toLowerCase();
      else if (rule.toUpperCase) result = result.toUpperCase();
      return result;
    }
    throw new Error(`No rules apply to ${distinguishedName}, rules ${this.#text}`);
  }
}

function firstItem(text: string): string {
  const comma = text.indexOf(',');
  return comma < 0 ? text : text.slice(0, comma);
}

/**
 * `User:<name>` for a TLS client's certificate (DER, as `TLSSocket.getPeerX509Certificate().raw`),
 * `User:ANONYMOUS` without one; throws when the mapping rules refuse it.
 */
export function tlsPrincipal(certificate: Buffer | undefined, mapper: PrincipalMapper): string {
  if (certificate === undefined || certificate.length === 0) return 'User:ANONYMOUS';
  return `User:${mapper.nameOf(subjectRfc2253(certificate))}`;
}

// --- the subject, read from the certificate's DER --------------------------------------------

interface Der {
  readonly tag: number;
  /** The whole element (tag, length, content). */
  readonly bytes: Buffer;
  readonly content: Buffer;
}

function readDer(buffer: Buffer, offset: number): Der & { readonly end: number } {
  if (offset + 2 > buffer.length) throw new Error('certificate: truncated DER element');
  const tag = buffer[offset]!;
  let length = buffer[offset + 1]!;
  let start = offset + 2;
  if (length & 0x80) {
    const count = length & 0x7f;
    if (count === 0 || count > 4 || start + count > buffer.length)
      throw new Error('certificate: bad DER length');
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + buffer[start + i]!;
    start += count;
  }
  const end = start + length;
  if (end > buffer.length) throw new Error('certificate: truncated DER element');
  return { tag, bytes: buffer.subarray(offset, end), content: buffer.subarray(start, end), end };
}

function children(element: Der): Der[] {
  const items: Der[] = [];
  let offset = 0;
  while (offset < element.content.length) {
    const item = readDer(element.content, offset);
    items.push(item);
    offset = item.end;
  }
  return items;
}

function oidOf(content: Buffer): string {
  if (content.length === 0) throw new Error('certificate: empty object identifier');
  const first = content[0]!;
  const parts: number[] = [first < 80 ? Math.floor(first / 40) : 2, first < 80 ? first % 40 : first - 80];
  let value = 0;
  for (let i = 1; i < content.length; i++) {
    const byte = content[i]!;
    value = value * 128 + (byte & 0x7f);
    if ((byte & 0x80) === 0) {
      parts.push(value);
      value = 0;
    }
  }
  return parts.join('.');
}

/** The keywords Java's X500Principal prints in RFC 2253 form; other attributes print as OID=#hex. */
const KEYWORDS: ReadonlyMap<string, string> = new Map([
  ['2.5.4.3', 'CN'],
  ['2.5.4.6', 'C'],
  ['2.5.4.7', 'L'],
  ['2.5.4.8', 'ST'],
  ['2.5.4.10', 'O'],
  ['2.5.4.11', 'OU'],
  ['2.5.4.9', 'STREET'],
  ['0.9.2342.19200300.100.1.25', 'DC'],
  ['0.9.2342.19200300.100.1.1', 'UID'],
]);

/** DER string types read as text: UTF8String, PrintableString, T61String, IA5String, BMPString, UniversalString. */
function stringValue(value: Der): string | null {
  switch (value.tag) {
    case 0x0c:
      return value.content.toString('utf8');
    case 0x13:
    case 0x14:
    case 0x16:
      return value.content.toString('latin1');
    case 0x1e: {
      const units: number[] = [];
      for (let i = 0; i + 1 < value.content.length; i += 2) units.push(value.content.readUInt16BE(i));
      return String.fromCharCode(...units);
    }
    case 0x1c: {
      let text = '';
      for (let i = 0; i + 3 < value.content.length; i += 4)
        text += String.fromCodePoint(value.content.readUInt32BE(i));
      return text;
    }
    default:
      return null;
  }
}

/** RFC 2253 escaping as Java's AVA does: `,=+<>#;"\` anywhere, a leading or trailing space. */
function escaped(text: string): string {
  let out = '';
  for (const char of text) {
    if (',=+<>#;"\\'.includes(char)) out += `\\${char}`;
    else if (char === '\u0000') out += '\\00';
    else out += char;
  }
  if (text.startsWith(' ')) out = `\\${out}`;
  if (text.length > 1 && text.endsWith(' ')) out = `${out.slice(0, -1)}\\ `;
  return out;
}

/** The certificate's subject in RFC 2253 form, as Java's `X500Principal.getName()` gives it. */
export function subjectRfc2253(certificate: Buffer): string {
  // node:crypto validates the certificate first; only its subject is read here.
  new X509Certificate(certificate);
  const root = readDer(certificate, 0);
  const tbs = children(root)[0];
  if (tbs === undefined) throw new Error('certificate: no tbsCertificate');
  const fields = children(tbs);
  // [0] version is optional; then serial, signature, issuer, validity, subject.
  const first = fields[0]?.tag === 0xa0 ? 1 : 0;
  const subject = fields[first + 4];
  if (subject === undefined || subject.tag !== 0x30) throw new Error('certificate: no subject');
  if (subject.bytes.length > SUBJECT_BYTES_MAX) throw new Error('certificate: subject too long');
  const relativeNames = children(subject).map((set) =>
    children(set)
      .map((attribute) => {
        const [type, value] = children(attribute);
        if (type === undefined || value === undefined) throw new Error('certificate: bad attribute');
        const oid = oidOf(type.content);
        const keyword = KEYWORDS.get(oid);
        const text = keyword === undefined ? null : stringValue(value);
        return text === null || keyword === undefined
          ? `${oid}=#${value.bytes.toString('hex')}`
          : `${keyword}=${escaped(text)}`;
      })
      .join('+'),
  );
  return relativeNames.reverse().join(',');
}

/** Each TLS connection's principal, worked out once (a refusal is kept as null). */
const certificatePrincipals = new WeakMap<ConnectionInfo, string | null>();

/**
 * The principal of a connection on an SSL listener (`mapper` is the listener's), from the client
 * certificate the server recorded in `ConnectionInfo.peerCertificate`; null when the mapping rules
 * refuse it (Kafka fails the authentication: the caller closes the connection).
 */
export function certificatePrincipal(connection: ConnectionInfo, mapper: PrincipalMapper): string | null {
  let principal = certificatePrincipals.get(connection);
  if (principal === undefined) {
    try {
      principal = tlsPrincipal(connection.peerCertificate, mapper);
    } catch {
      principal = null;
    }
    certificatePrincipals.set(connection, principal);
  }
  return principal;
}

/** The certificate principal already worked out for `connection` (undefined: none, or refused). */
export function knownCertificatePrincipal(connection: ConnectionInfo): string | undefined {
  return certificatePrincipals.get(connection) ?? undefined;
}
