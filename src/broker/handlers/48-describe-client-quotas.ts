import {
  type DescribeClientQuotasRequestData,
  type DescribeClientQuotasResponseData,
  type Input,
  KafkaErrors,
} from '../../protocol/index.ts';
import { CLIENT_QUOTAS, QuotaRequestError } from '../../security/quotas.ts';
import { defineHandler } from '../handler.ts';

/**
 * DescribeClientQuotas: the quota entities matching the filter, from the quotas replayed from the
 * metadata log (Kafka's broker answers from its metadata image too). A bad filter is answered as
 * Kafka answers it: the error code and message at the top, `entries` null.
 */
export const handler = defineHandler<
  DescribeClientQuotasRequestData,
  Input<DescribeClientQuotasResponseData>
>({
  apiKey: 48,
  name: 'DescribeClientQuotas',
  minVersion: 0,
  maxVersion: 1,
  handle(request, context) {
    const store = context.broker.slots.get(CLIENT_QUOTAS);
    if (store === undefined) {
      return {
        throttleTimeMs: 0,
        errorCode: KafkaErrors.UNKNOWN_SERVER_ERROR.code,
        errorMessage: 'client quotas are not loaded',
        entries: null,
      };
    }
    try {
      const entries = store.describe(request.components, request.strict);
      return { throttleTimeMs: 0, errorCode: 0, errorMessage: null, entries };
    } catch (error) {
      if (!(error instanceof QuotaRequestError)) throw error;
      return { throttleTimeMs: 0, errorCode: error.code, errorMessage: error.message, entries: null };
    }
  },
});
