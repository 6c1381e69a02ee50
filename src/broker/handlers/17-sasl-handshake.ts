import {
  type Input,
  KafkaErrors,
  type SaslHandshakeRequestData,
  type SaslHandshakeResponseData,
} from '../../protocol/index.ts';
import { existingSession } from '../../security/sasl.ts';
import { defineHandler } from '../handler.ts';

/**
 * SaslHandshake: picks the connection's SASL mechanism on a SASL listener (answering the listener's
 * enabled mechanisms). An unsupported mechanism is answered UNSUPPORTED_SASL_MECHANISM and the
 * connection closed, as Kafka does. On a non-SASL listener, or after authentication, Kafka answers
 * ILLEGAL_SASL_STATE, unless the connection's session expires (`connections.max.reauth.ms`): then
 * it starts a re-authentication (KIP-368) with the same mechanism. After v0 the tokens come as bare
 * frames (the dispatcher answers them).
 */
export const handler = defineHandler<SaslHandshakeRequestData, Input<SaslHandshakeResponseData>>({
  apiKey: 17,
  name: 'SaslHandshake',
  minVersion: 0,
  maxVersion: 1,
  handle(request, context) {
    const session = existingSession(context.connection);
    // KIP-368: on an authenticated connection whose session expires, a handshake re-authenticates.
    if (session?.state === 'authenticated') session.beginReauthentication(context.broker.clock.nowMs());
    if (session === undefined || session.state !== 'handshake') {
      return { errorCode: KafkaErrors.ILLEGAL_SASL_STATE.code, mechanisms: [] };
    }
    const mechanisms = [...session.security.mechanisms];
    if (!session.begin(request.mechanism)) {
      session.state = 'failed';
      return { errorCode: KafkaErrors.UNSUPPORTED_SASL_MECHANISM.code, mechanisms };
    }
    session.rawTokens = context.apiVersion === 0;
    return { errorCode: 0, mechanisms };
  },
});
