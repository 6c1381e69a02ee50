import {
  type AlterClientQuotasRequestData,
  type AlterClientQuotasResponseData,
  type Input,
  KafkaErrors,
} from '../../protocol/index.ts';
import { CLIENT_QUOTAS, type ClientQuotaMetadataRecord } from '../../security/quotas.ts';
import { defineHandler } from '../handler.ts';
import { brokerOf } from '../handler-support.ts';

type Entry = AlterClientQuotasResponseData['entries'][number];

/**
 * AlterClientQuotas: each entry checked as Kafka's controller checks it (entity types and their
 * combination, known keys, values > 0, whole numbers for the byte rates), then its changes written
 * as ClientQuotaRecord metadata records in one append (on a cluster: proposed to the quorum, or
 * forwarded to the active controller). `validateOnly` checks and writes nothing.
 */
export const handler = defineHandler<AlterClientQuotasRequestData, Input<AlterClientQuotasResponseData>>({
  apiKey: 49,
  name: 'AlterClientQuotas',
  minVersion: 0,
  maxVersion: 1,
  async handle(request, context) {
    const broker = brokerOf(context);
    // A node that is not the active controller forwards the request (src/controller/forwarded-admin.ts).
    const forwarded = await broker.forwardToController<Input<AlterClientQuotasResponseData>>(
      context,
      request,
    );
    if (forwarded !== undefined) return forwarded;
    const store = context.broker.slots.get(CLIENT_QUOTAS);
    const entries: Entry[] = [];
    const records: ClientQuotaMetadataRecord[] = [];
    for (const entry of request.entries) {
      const entity = entry.entity.map(({ entityType, entityName }) => ({ entityType, entityName }));
      if (store === undefined) {
        entries.push({
          errorCode: KafkaErrors.UNKNOWN_SERVER_ERROR.code,
          errorMessage: 'client quotas are not loaded',
          entity,
        });
        continue;
      }
      const outcome = store.alter(entry.entity, entry.ops);
      if (!outcome.ok) {
        entries.push({ errorCode: outcome.code, errorMessage: outcome.message, entity });
        continue;
      }
      records.push(...outcome.records);
      entries.push({ errorCode: 0, errorMessage: null, entity });
    }
    if (request.validateOnly || store === undefined) return { throttleTimeMs: 0, entries };
    store.commit(records);
    // In a cluster the quotas count once committed; a refused proposal fails every change it held.
    const refused = records.length === 0 ? null : await broker.takeMetadataWrite();
    return {
      throttleTimeMs: 0,
      entries: entries.map((e) => (e.errorCode === 0 && refused !== null ? { ...e, ...refused } : e)),
    };
  },
});
