import { array, field, request, response, struct } from '../schema.ts';
import type { ClientQuotaEntityData } from './48-describe-client-quotas.ts';

// AlterClientQuotas (API key 49), written from Kafka's AlterClientQuotasRequest/Response message definitions.

const entity = array(
  struct('EntityData', [
    field('entityType', 'string', '0+'),
    field('entityName', 'string', '0+', { nullable: '0+' }),
  ]),
);

export const AlterClientQuotasRequest = request(49, 'AlterClientQuotasRequest', '0-1', '1+', [
  field(
    'entries',
    array(
      struct('EntryData', [
        field('entity', entity, '0+'),
        field(
          'ops',
          array(
            struct('OpData', [
              field('key', 'string', '0+'),
              field('value', 'float64', '0+'),
              field('remove', 'bool', '0+'),
            ]),
          ),
          '0+',
        ),
      ]),
    ),
    '0+',
  ),
  field('validateOnly', 'bool', '0+'),
]);

export const AlterClientQuotasResponse = response(49, 'AlterClientQuotasResponse', '0-1', '1+', [
  field('throttleTimeMs', 'int32', '0+'),
  field(
    'entries',
    array(
      struct('EntryData', [
        field('errorCode', 'int16', '0+'),
        field('errorMessage', 'string', '0+', { nullable: '0+', default: null }),
        field('entity', entity, '0+'),
      ]),
    ),
    '0+',
  ),
]);

/** A decoded AlterClientQuotasRequest. */
export type AlterClientQuotasRequestData = {
  entries: {
    entity: ClientQuotaEntityData[];
    ops: { key: string; value: number; remove: boolean }[];
  }[];
  validateOnly: boolean;
};

/** A decoded AlterClientQuotasResponse. */
export type AlterClientQuotasResponseData = {
  throttleTimeMs: number;
  entries: { errorCode: number; errorMessage: string | null; entity: ClientQuotaEntityData[] }[];
};
