/**
 * ListPartitionReassignments 0: the partition reassignments in progress
 * (`kafka-reassign-partitions --list` and `--verify`, the REST proxy's v3 reassignment endpoints),
 * read from this node's committed image: each with its replicas (target followed by the leaving
 * ones), adding and removing replicas. Topics and partitions that do not exist or are not moving
 * are left out, not refused, as Kafka answers. DESCRIBE on the cluster is checked before, in
 * src/security/request-authorization.ts. (Kafka's brokers forward this read to the controller;
 * every kstack node replays the same committed records, so the node asked answers.)
 */
import { listReassignments } from '../../controller/reassignment.ts';
import type {
  Input,
  ListPartitionReassignmentsRequestData,
  ListPartitionReassignmentsResponseData,
} from '../../protocol/index.ts';
import { ErrorCode } from '../../protocol/index.ts';
import { defineHandler } from '../handler.ts';
import { brokerOf } from '../handler-support.ts';

export const handler = defineHandler<
  ListPartitionReassignmentsRequestData,
  Input<ListPartitionReassignmentsResponseData>
>({
  apiKey: 46,
  name: 'ListPartitionReassignments',
  minVersion: 0,
  maxVersion: 0,
  handle(request, context) {
    const topics = listReassignments(brokerOf(context).metadata(), request.topics);
    return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, errorMessage: null, topics };
  },
});
