/**
 * The SCRAM server against the published exchange of RFC 7677 (SCRAM-SHA-256: user "user",
 * password "pencil"), and its refusals: a wrong proof, a changed nonce, an unknown user, a token
 * after failure. No sockets: the exchange is bytes in, bytes out.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  credentialFromSaltedPassword,
  type ScramCredential,
  ScramServer,
  saltPassword,
} from '../../src/security/scram.ts';

// RFC 7677 section 3.
const SALT = Buffer.from('W22ZaJ0SNY7soEsUEjb6gQ==', 'base64');
const CLIENT_FIRST = 'n,,n=user,r=rOprNGfwEbeRWgbNEkqO';
const SERVER_NONCE = '%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0';
const SERVER_FIRST = 'r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096';
const CLIENT_FINAL =
  'c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=';
const SERVER_FINAL = 'v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=';

const credential: ScramCredential = credentialFromSaltedPassword(
  'SCRAM-SHA-256',
  SALT,
  4096,
  saltPassword('SCRAM-SHA-256', 'pencil', SALT, 4096),
);
const server = () =>
  new ScramServer(
    'SCRAM-SHA-256',
    (user) => (user === 'user' ? credential : undefined),
    () => SERVER_NONCE,
  );
const text = (bytes: Uint8Array): string => Buffer.from(bytes).toString('utf8');

describe('SCRAM-SHA-256 server', () => {
  it("answers RFC 7677's exchange byte for byte", () => {
    const scram = server();
    assert.equal(text(scram.evaluate(Buffer.from(CLIENT_FIRST))), SERVER_FIRST);
    assert.equal(scram.complete, false);
    assert.equal(text(scram.evaluate(Buffer.from(CLIENT_FINAL))), SERVER_FINAL);
    assert.equal(scram.complete, true);
    assert.equal(scram.user, 'user');
  });

  it('refuses a wrong proof, a changed nonce, an unknown user, a malformed message, and anything after a failure', () => {
    const wrongProof = server();
    wrongProof.evaluate(Buffer.from(CLIENT_FIRST));
    const flipped = CLIENT_FINAL.replace('p=dHzb', 'p=dHzc');
    assert.throws(() => wrongProof.evaluate(Buffer.from(flipped)), /Invalid client credentials/);
    assert.equal(wrongProof.complete, false);
    assert.throws(() => wrongProof.evaluate(Buffer.from(CLIENT_FINAL)), /SCRAM exchange is failed/);

    const otherNonce = server();
    otherNonce.evaluate(Buffer.from(CLIENT_FIRST));
    assert.throws(
      () => otherNonce.evaluate(Buffer.from(CLIENT_FINAL.replace('hNlF$k0', 'hNlF$k1'))),
      /Invalid client nonce/,
    );

    assert.throws(() => server().evaluate(Buffer.from('n,,n=mallory,r=abc')), /Invalid user credentials/);
    assert.throws(
      () => server().evaluate(Buffer.from('p=tls-unique,,n=user,r=abc')),
      /client first message format/,
    );
    assert.throws(() => server().evaluate(Buffer.from('n,,n=us=er,r=abc')), /user name encoding/);
  });

  it("refuses a client-final outside Kafka's pattern even when its proof decodes right (fuzz F7)", () => {
    // Node's base64 decoder ignores bytes after the padding and outside the alphabet: each of these
    // proofs decodes to the valid one, and Kafka 4.1.1's ScramMessages pattern refuses the message.
    for (const malformed of [
      `${CLIENT_FINAL}AAAA`,
      `${CLIENT_FINAL}\u0001`,
      CLIENT_FINAL.replace('p=dHzb', 'p=dH*zb'),
      CLIENT_FINAL.replace('c=biws', 'c=biws='),
    ]) {
      const scram = server();
      scram.evaluate(Buffer.from(CLIENT_FIRST));
      assert.throws(
        () => scram.evaluate(Buffer.from(malformed)),
        /Invalid SCRAM client final message format/,
        malformed,
      );
    }
    // An extension before the proof is still taken, as Kafka's EXTENSIONS allow.
    const withExtension = server();
    withExtension.evaluate(Buffer.from(CLIENT_FIRST));
    assert.throws(
      () => withExtension.evaluate(Buffer.from(CLIENT_FINAL.replace(',p=', ',x=1,p='))),
      /Invalid client credentials/,
    );
  });
});
