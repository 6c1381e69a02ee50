/**
 * AlterPartitionReassignments 0: moves partitions to new replicas (`kafka-reassign-partitions
 * --execute`, `--cancel`). Kafka's brokers forward it to the active controller, which decides on
 * its committed image; kstack's do the same, their own node included (the controller listener
 * answers: src/controller/reassignment.ts, run by ReplicationControl one change at a time), and the
 * answer comes once the changes are committed. Authorization (ALTER on the cluster) is checked
 * before, in src/security/request-authorization.ts.
 *
 * Throttles (`leader.replication.throttled.rate`, `follower.replication.throttled.rate` and the
 * topic-level throttled replica lists that `--throttle` sets) are configs, enforced by each
 * broker's replication quotas (src/broker/replication-quota.ts).
 *
 * When no controller answers (one node has none; a cluster may have lost its quorum), the local
 * image answers what needs no change and the refusals (UNKNOWN_TOPIC_OR_PARTITION,
 * INVALID_REPLICA_ASSIGNMENT, NO_REASSIGNMENT_IN_PROGRESS); a partition that would change gets
 * NOT_CONTROLLER, since only the controller may change replicas.
 */
import { alterReassignments } from '../../controller/reassignment.ts';
import {
  type AlterPartitionReassignmentsRequestData,
  type AlterPartitionReassignmentsResponseData,
  type Input,
  KafkaErrors,
} from '../../protocol/index.ts';
import { defineHandler } from '../handler.ts';
import { brokerOf } from '../handler-support.ts';

export const handler = defineHandler<
  AlterPartitionReassignmentsRequestData,
  Input<AlterPartitionReassignmentsResponseData>
>({
  apiKey: 45,
  name: 'AlterPartitionReassignments',
  minVersion: 0,
  maxVersion: 0,
  async handle(request, context) {
    const broker = brokerOf(context);
    const forwarded = await broker.forwardToController<Input<AlterPartitionReassignmentsResponseData>>(
      context,
      request,
    );
    if (forwarded !== undefined) return forwarded;
    const image = broker.metadata();
    const { responses } = alterReassignments(image, request.topics);
    return {
      throttleTimeMs: 0,
      errorCode: 0,
      errorMessage: null,
      responses: responses.map((topic) => ({
        name: topic.name,
        partitions: topic.partitions.map((partition) => {
          if (partition.errorCode !== 0) return partition;
          // Decided alone: does this partition need a change at all?
          const alone = alterReassignments(image, [
            {
              name: topic.name,
              partitions: request.topics
                .filter((t) => t.name === topic.name)
                .flatMap((t) => t.partitions.filter((p) => p.partitionIndex === partition.partitionIndex)),
            },
          ]);
          if (alone.records.length === 0) return partition;
          return {
            ...partition,
            errorCode: KafkaErrors.NOT_CONTROLLER.code,
            errorMessage: 'No active controller answered; replicas were not changed.',
          };
        }),
      })),
    };
  },
});
