/**
 * The TLS client principal (src/security/principal.ts): certificates made with openssl, their
 * subjects named as Java's X500Principal.getName() names them (checked against the JDK that runs
 * the reference, one `java` run for every certificate), and `ssl.principal.mapping.rules` with
 * Kafka's syntax and refusals. No sockets.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { PrincipalMapper, subjectRfc2253, tlsPrincipal } from '../../src/security/principal.ts';

/** Subjects in openssl's `-subj` form (first to last as they are encoded). */
const SUBJECTS = [
  '/C=US/O=kstack/CN=client-1',
  '/DC=com/DC=example/OU=Payments/OU=Team A/CN=svc-orders',
  '/CN=a\\,b=c\\+d<e>f;g"h#i\\\\j/O=trailing /L=München',
  '/CN=alice/emailAddress=alice@example.com',
  '/CN=svc+UID=42/O=multi',
  '/ST=CA/L=San Francisco/O=Acme, Inc./CN=#hash',
];

function certificateFor(dir: string, key: string, index: number, subject: string): string {
  const file = join(dir, `cert-${index}.pem`);
  execFileSync(
    'openssl',
    ['req', '-x509', '-key', key, '-days', '2', '-utf8', '-multivalue-rdn', '-subj', subject, '-out', file],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  return file;
}

const derOf = (pemFile: string): Buffer => {
  const body = readFileSync(pemFile, 'utf8')
    .replace(/-----(BEGIN|END) CERTIFICATE-----/g, '')
    .replace(/\s+/g, '');
  return Buffer.from(body, 'base64');
};

/** What Java and Kafka answer, from one JVM run (Kafka's own kafka-clients jar on the class path). */
interface JavaAnswers {
  /** X500Principal.getName() (RFC 2253) of each certificate, as Kafka's principal builder reads it. */
  readonly names: string[];
  /** SslPrincipalMapper.fromRules(rules).getName(dn) per case: `OK:<name>` or `ERR:<exception class>`. */
  readonly mapped: string[];
}

const KAFKA_VERSION = /<kafka.version>(.*)<\/kafka.version>/.exec(
  readFileSync(join(import.meta.dirname, '..', '..', 'reference', 'pom.xml'), 'utf8'),
)![1]!;
const KAFKA_LIBS =
  process.env.KSTACK_KAFKA_LIBS ?? join(homedir(), '.cache', 'kstack', `kafka-${KAFKA_VERSION}`, 'libs');

function askJava(
  dir: string,
  files: readonly string[],
  cases: readonly (readonly [string, string])[],
): JavaAnswers {
  const source = join(dir, 'Names.java');
  writeFileSync(
    source,
    [
      'import java.io.FileInputStream;',
      'import java.nio.charset.StandardCharsets;',
      'import java.nio.file.Files;',
      'import java.nio.file.Path;',
      'import java.security.cert.CertificateFactory;',
      'import java.security.cert.X509Certificate;',
      'import java.util.Base64;',
      'import org.apache.kafka.common.security.ssl.SslPrincipalMapper;',
      'public class Names {',
      '  static String b64(String text) {',
      '    return Base64.getEncoder().encodeToString(text.getBytes(StandardCharsets.UTF_8));',
      '  }',
      '  static String text(String b64) {',
      '    return new String(Base64.getDecoder().decode(b64), StandardCharsets.UTF_8);',
      '  }',
      '  public static void main(String[] args) throws Exception {',
      '    CertificateFactory factory = CertificateFactory.getInstance("X.509");',
      '    for (String file : Files.readAllLines(Path.of(args[0]))) {',
      '      try (FileInputStream in = new FileInputStream(file)) {',
      '        X509Certificate cert = (X509Certificate) factory.generateCertificate(in);',
      '        System.out.println(b64(cert.getSubjectX500Principal().getName()));',
      '      }',
      '    }',
      '    System.out.println("--");',
      '    for (String line : Files.readAllLines(Path.of(args[1]))) {',
      '      String[] parts = line.split(" ");',
      '      String answer;',
      '      try {',
      '        answer = "OK:" + SslPrincipalMapper.fromRules(text(parts[0])).getName(text(parts[1]));',
      '      } catch (Exception e) {',
      '        answer = "ERR:" + e.getClass().getSimpleName();',
      '      }',
      '      System.out.println(b64(answer));',
      '    }',
      '  }',
      '}',
    ].join('\n'),
  );
  const certList = join(dir, 'certs.txt');
  writeFileSync(certList, `${files.join('\n')}\n`);
  const caseList = join(dir, 'cases.txt');
  const b64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64');
  writeFileSync(caseList, `${cases.map(([rules, dn]) => `${b64(rules)} ${b64(dn)}`).join('\n')}\n`);
  const output = execFileSync(
    'java',
    [
      '-XX:TieredStopAtLevel=1',
      '-XX:+UseSerialGC',
      '-cp',
      join(KAFKA_LIBS, `kafka-clients-${KAFKA_VERSION}.jar`),
      source,
      certList,
      caseList,
    ],
    { encoding: 'utf8', timeout: 180_000, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const lines = output.trim().split('\n');
  const split = lines.indexOf('--');
  const decode = (line: string): string => Buffer.from(line, 'base64').toString('utf8');
  return { names: lines.slice(0, split).map(decode), mapped: lines.slice(split + 1).map(decode) };
}

/** Rules and names asked of our mapper and of Kafka's SslPrincipalMapper alike. */
const DN = 'CN=svc-orders,OU=Team A,OU=Payments,DC=example,DC=com';
const MAPPING_CASES: readonly (readonly [string, string])[] = [
  ['DEFAULT', DN],
  ['RULE:^CN=(.*?),OU=(.*?),.*$/$1@$2/L, RULE:^CN=([a-z]+)$/$1/U ,DEFAULT', DN],
  ['RULE:^CN=(.*?),OU=(.*?),.*$/$1@$2/L, RULE:^CN=([a-z]+)$/$1/U ,DEFAULT', 'CN=bob'],
  ['RULE:^CN=(.*?),OU=(.*?),.*$/$1@$2/L, RULE:^CN=([a-z]+)$/$1/U ,DEFAULT', 'O=kstack'],
  ['RULE:^CN=a\\/b$/slash/', 'CN=a/b'],
  ['RULE:^CN=(.*),O=kstack$/$1/', 'CN=x,O=other'],
  ['RULE:^CN=(.*?),.*$/$1/', 'CN=client-1,O=kstack,C=US'],
  ['RULE:.*/x/', 'CN=a'],
  ['RULE:CN=(\\w+)/$1 $2/U', 'CN=abc'],
  ['RULE:a/b/X', 'a'],
  ['RULE:a/b/LX,DEFAULT', 'a'],
  ['NOPE', 'CN=a'],
  ['RULE:^CN=(.*)$/$1', 'CN=a'],
  ['DEFAULT RULE:a/b/', 'a'],
  ['', 'CN=a'],
  ['DEFAULT,', 'CN=a'],
];

function ourMapping(rules: string, dn: string): string {
  try {
    return `OK:${PrincipalMapper.fromRules(rules).nameOf(dn)}`;
  } catch (error) {
    return `ERR:${(error as Error).message}`;
  }
}

describe('TLS client principals', () => {
  let dir: string;
  const files: string[] = [];

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'kstack-principal-'));
    // One EC key for every certificate: only the subjects differ, and RSA key generation is slow.
    const key = join(dir, 'key.pem');
    execFileSync('openssl', ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', key]);
    SUBJECTS.forEach((subject, index) => {
      files.push(certificateFor(dir, key, index, subject));
    });
  });

  after(() => rmSync(dir, { recursive: true, force: true }));

  it('names subjects and maps them as Java X500Principal and Kafka SslPrincipalMapper do (one JVM asked)', () => {
    const ours = files.map((file) => subjectRfc2253(derOf(file)));
    const mapped = MAPPING_CASES.map(([rules, dn]) => ourMapping(rules, dn));
    const java = askJava(dir, files, MAPPING_CASES);
    console.log(ours.map((name, i) => `${SUBJECTS[i]} -> ${name}`).join('\n'));
    assert.deepEqual(ours, java.names);
    // Our refusals carry our message (naming the setting); Kafka's only its exception class.
    assert.deepEqual(
      mapped.map((answer) => (answer.startsWith('ERR:') ? 'ERR' : answer)),
      java.mapped.map((answer) => (answer.startsWith('ERR:') ? 'ERR' : answer)),
      JSON.stringify(MAPPING_CASES.map((c, i) => [c, mapped[i], java.mapped[i]])),
    );
    // The comparison alone would pass if both printed nothing useful.
    assert.equal(ours[0], 'CN=client-1,O=kstack,C=US');
    assert.equal(mapped[1], 'OK:svc-orders@team a');
  });

  it('ssl.principal.mapping.rules: DEFAULT, RULE with groups, L and U, first match wins', () => {
    const dn = 'CN=svc-orders,OU=Team A,OU=Payments,DC=example,DC=com';
    assert.equal(PrincipalMapper.fromRules(undefined).nameOf(dn), dn);
    assert.equal(PrincipalMapper.fromRules('DEFAULT').nameOf(dn), dn);
    const mapper = PrincipalMapper.fromRules(
      'RULE:^CN=(.*?),OU=(.*?),.*$/$1@$2/L, RULE:^CN=([a-z]+)$/$1/U ,DEFAULT',
    );
    assert.equal(mapper.nameOf(dn), 'svc-orders@team a');
    assert.equal(mapper.nameOf('CN=bob'), 'BOB');
    assert.equal(mapper.nameOf('O=kstack'), 'O=kstack');
    // A slash inside a pattern is escaped; the replacement may be literal.
    assert.equal(PrincipalMapper.fromRules('RULE:^CN=a\\/b$/slash/').nameOf('CN=a/b'), 'slash');
    // No rule applies: authentication fails, naming the name and the rules.
    const strict = PrincipalMapper.fromRules('RULE:^CN=(.*),O=kstack$/$1/');
    assert.equal(
      tlsPrincipal(derOf(files[0]!), PrincipalMapper.fromRules('RULE:^CN=(.*?),.*$/$1/')),
      'User:client-1',
    );
    assert.throws(() => strict.nameOf('CN=x,O=other'), /No rules apply to CN=x,O=other, rules RULE:/);
    assert.equal(tlsPrincipal(undefined, strict), 'User:ANONYMOUS');
  });

  it('refuses bad rules naming the setting and the rule', () => {
    for (const [rules, message] of [
      ['NOPE', /ssl.principal.mapping.rules: invalid rule: NOPE/],
      ['RULE:^CN=(.*)$/$1', /invalid rule: RULE:\^CN=\(\.\*\)\$\/\$1/],
      ['RULE:^CN=(.*$/$1/', /invalid pattern \^CN=\(\.\*\$/],
      ['DEFAULT RULE:a/b/', /invalid rule/],
      ['RULE:a/b/X', /invalid rule: X/],
    ] as const) {
      assert.throws(() => PrincipalMapper.fromRules(rules), message, rules);
    }
    assert.throws(() => PrincipalMapper.fromRules('x'.repeat(100_001)), /longer than 100000 characters/);
  });
});
