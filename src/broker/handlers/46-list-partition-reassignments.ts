/**
 * ListPartitionReassignments 0: the partition reassignments in progress. kstack never moves a
 * partition's replicas (AlterPartitionReassignments, 45, is not served), so none is ever in
 * progress: every answer lists none, as Kafka answers when nothing is being reassigned (topics
 * and partitions that do not exist are left out, not refused). The REST proxy's v3 reassignment
 * endpoints and `kafka-reassign-partitions --list` read it.
 */
import type {
  Input,
  ListPartitionReassignmentsRequestData,
  ListPartitionReassignmentsResponseData,
} from '../../protocol/index.ts';
import { ErrorCode } from '../../protocol/index.ts';
import { defineHandler } from '../handler.ts';

export const handler = defineHandler<
  ListPartitionReassignmentsRequestData,
  Input<ListPartitionReassignmentsResponseData>
>({
  apiKey: 46,
  name: 'ListPartitionReassignments',
  minVersion: 0,
  maxVersion: 0,
  handle() {
    return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, errorMessage: null, topics: [] };
  },
});
