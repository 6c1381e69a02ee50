import { array, field, request, response, struct } from '../schema.ts';

// DescribeClientQuotas (API key 48), written from Kafka's DescribeClientQuotasRequest/Response message definitions.

export const DescribeClientQuotasRequest = request(48, 'DescribeClientQuotasRequest', '0-1', '1+', [
  field(
    'components',
    array(
      struct('ComponentData', [
        field('entityType', 'string', '0+'),
        field('matchType', 'int8', '0+'),
        field('match', 'string', '0+', { nullable: '0+' }),
      ]),
    ),
    '0+',
  ),
  field('strict', 'bool', '0+'),
]);

const entity = array(
  struct('EntityData', [
    field('entityType', 'string', '0+'),
    field('entityName', 'string', '0+', { nullable: '0+' }),
  ]),
);

export const DescribeClientQuotasResponse = response(48, 'DescribeClientQuotasResponse', '0-1', '1+', [
  field('throttleTimeMs', 'int32', '0+'),
  field('errorCode', 'int16', '0+'),
  field('errorMessage', 'string', '0+', { nullable: '0+', default: null }),
  field(
    'entries',
    array(
      struct('EntryData', [
        field('entity', entity, '0+'),
        field(
          'values',
          array(struct('ValueData', [field('key', 'string', '0+'), field('value', 'float64', '0+')])),
          '0+',
        ),
      ]),
    ),
    '0+',
    { nullable: '0+' },
  ),
]);

/** One component of a quota entity: its type (`user`, `client-id`, `ip`) and name (null: the default). */
export interface ClientQuotaEntityData {
  entityType: string;
  entityName: string | null;
}

/** A decoded DescribeClientQuotasRequest (matchType 0 exact, 1 default, 2 any specified name). */
export type DescribeClientQuotasRequestData = {
  components: { entityType: string; matchType: number; match: string | null }[];
  strict: boolean;
};

/** A decoded DescribeClientQuotasResponse. */
export type DescribeClientQuotasResponseData = {
  throttleTimeMs: number;
  errorCode: number;
  errorMessage: string | null;
  entries: { entity: ClientQuotaEntityData[]; values: { key: string; value: number }[] }[] | null;
};
