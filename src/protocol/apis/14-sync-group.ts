import { array, field, request, response, struct } from '../schema.ts';

// SyncGroup (API key 14), written from Kafka's SyncGroupRequest/SyncGroupResponse message definitions.

export const SyncGroupRequest = request(14, 'SyncGroupRequest', '0-5', '4+', [
  field('groupId', 'string', '0+'),
  field('generationId', 'int32', '0+'),
  field('memberId', 'string', '0+'),
  field('groupInstanceId', 'string', '3+', { nullable: '3+', default: null }),
  field('protocolType', 'string', '5+', { nullable: '5+', default: null }),
  field('protocolName', 'string', '5+', { nullable: '5+', default: null }),
  field(
    'assignments',
    array(
      struct('SyncGroupRequestAssignment', [
        field('memberId', 'string', '0+'),
        field('assignment', 'bytes', '0+'),
      ]),
    ),
    '0+',
  ),
]);

export const SyncGroupResponse = response(14, 'SyncGroupResponse', '0-5', '4+', [
  field('throttleTimeMs', 'int32', '1+'),
  field('errorCode', 'int16', '0+'),
  field('protocolType', 'string', '5+', { nullable: '5+', default: null }),
  field('protocolName', 'string', '5+', { nullable: '5+', default: null }),
  field('assignment', 'bytes', '0+'),
]);
