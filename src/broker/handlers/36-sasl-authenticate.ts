import {
  type Input,
  KafkaErrors,
  type SaslAuthenticateRequestData,
  type SaslAuthenticateResponseData,
} from '../../protocol/index.ts';
import { existingSession, SaslAuthenticationError, SaslUnansweredError } from '../../security/sasl.ts';
import { defineHandler, NO_RESPONSE } from '../handler.ts';

const EMPTY = new Uint8Array(0);

/**
 * SaslAuthenticate: one token of the mechanism SaslHandshake chose. A failed authentication is
 * answered SASL_AUTHENTICATION_FAILED with the mechanism's message, then the connection is closed
 * (the dispatcher closes a session marked failed), as Kafka does. Once authenticated, the answer
 * carries the session's lifetime (KIP-368, `connections.max.reauth.ms`).
 */
export const handler = defineHandler<SaslAuthenticateRequestData, Input<SaslAuthenticateResponseData>>({
  apiKey: 36,
  name: 'SaslAuthenticate',
  minVersion: 0,
  maxVersion: 2,
  handle(request, context) {
    const session = existingSession(context.connection);
    if (session === undefined || session.state === 'authenticated') {
      return {
        errorCode: KafkaErrors.ILLEGAL_SASL_STATE.code,
        errorMessage: 'SaslAuthenticate request received after successful authentication',
        authBytes: EMPTY,
        sessionLifetimeMs: 0n,
      };
    }
    if (session.state !== 'authenticate') {
      session.state = 'failed';
      return {
        errorCode: KafkaErrors.ILLEGAL_SASL_STATE.code,
        errorMessage: 'Unexpected SaslAuthenticate request before SaslHandshake',
        authBytes: EMPTY,
        sessionLifetimeMs: 0n,
      };
    }
    try {
      const authBytes = session.authenticate(request.authBytes, context.broker.clock.nowMs());
      // KIP-368: the session's lifetime once authenticated (0: it never expires; also 0 mid-exchange).
      const sessionLifetimeMs = session.server?.complete === true ? BigInt(session.lifetimeMs) : 0n;
      // Kafka 4.1.1 answers an empty message, not null, on success and on a challenge (OAUTHBEARER's error JSON).
      return { errorCode: 0, errorMessage: '', authBytes, sessionLifetimeMs };
    } catch (error) {
      // Kafka answers nothing and closes (the dispatcher closes a failed session): a re-authentication
      // with another mechanism, an OAUTHBEARER token its parser throws on.
      if (error instanceof SaslUnansweredError) return NO_RESPONSE;
      const mechanism = session.server?.mechanism ?? '';
      const message =
        error instanceof SaslAuthenticationError
          ? error.message
          : `Authentication failed during ${session.phase} due to invalid credentials with SASL mechanism ${mechanism}`;
      return {
        errorCode: KafkaErrors.SASL_AUTHENTICATION_FAILED.code,
        errorMessage: message,
        authBytes: EMPTY,
        sessionLifetimeMs: 0n,
      };
    }
  },
});
