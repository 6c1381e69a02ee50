import {
  type Input,
  KafkaErrors,
  type SaslAuthenticateRequestData,
  type SaslAuthenticateResponseData,
} from '../../protocol/index.ts';
import { defineHandler } from '../handler.ts';

/** SaslAuthenticate: with no mechanism configured there is no handshake to continue. */
export const handler = defineHandler<SaslAuthenticateRequestData, Input<SaslAuthenticateResponseData>>({
  apiKey: 36,
  name: 'SaslAuthenticate',
  minVersion: 0,
  maxVersion: 2,
  handle() {
    return {
      errorCode: KafkaErrors.ILLEGAL_SASL_STATE.code,
      errorMessage: 'SASL is not enabled on this listener: no mechanism is configured',
      authBytes: new Uint8Array(0),
      sessionLifetimeMs: 0n,
    };
  },
});
