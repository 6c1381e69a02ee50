// The `kstack up` arguments and ports shared by up-listeners.test.ts and up-listeners.slow.ts.
import { PLAIN_JAAS } from '../security/support.ts';

export const HOST = '127.0.0.1';
/**
 * Ports of up-listeners.slow.ts (docs/team-rules.md): the nodes' PLAINTEXT (client) listeners behind their
 * proxies 24703-24705 (the nodes bind 24723-24725), SASL_PLAINTEXT 24713-24715, controllers
 * 24753-24755 (their proxies 24773-24775), fault control 24706.
 */
export const PLAINTEXT_PORT = 24703;
export const SASL_PORT = 24713;
export const FAULT_PORT = 24706;

export const ARGS = [
  '--brokers',
  '3',
  '--no-compose',
  '--no-connect',
  '--fault-port',
  String(FAULT_PORT),
  '--override',
  `listeners=PLAINTEXT://${HOST}:${PLAINTEXT_PORT},SASL_PLAINTEXT://${HOST}:${SASL_PORT}`,
  '--override',
  'listener.security.protocol.map=PLAINTEXT:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT',
  '--override',
  'sasl.enabled.mechanisms=PLAIN',
  '--override',
  `listener.name.sasl_plaintext.plain.sasl.jaas.config=${PLAIN_JAAS({ alice: 'alice-secret' })}`,
  '--override',
  'offsets.topic.replication.factor=3',
];
