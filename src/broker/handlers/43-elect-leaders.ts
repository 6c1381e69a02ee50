/**
 * ElectLeaders 0-2: preferred (and unclean) leader elections, as `kafka-leader-election` asks
 * them. Kafka's brokers forward the request to the active controller, which decides on its
 * committed image; kstack's do the same, even on the node that is the active controller (its own
 * controller listener answers: the decision is src/controller/leader-election.ts, run by
 * ReplicationControl one change at a time). Authorization (ALTER on the cluster) is checked
 * before, in src/security/request-authorization.ts.
 *
 * When no controller answers (one node has none; a cluster may have lost its quorum), the local
 * image answers what needs no change (ELECTION_NOT_NEEDED, UNKNOWN_TOPIC_OR_PARTITION, every
 * partition of one node led by its only replica); a partition that would need a new leader gets
 * NOT_CONTROLLER, since only the controller may change leaders.
 */

import { electLeaders } from '../../controller/leader-election.ts';
import {
  type ElectLeadersRequestData,
  type ElectLeadersResponseData,
  type Input,
  KafkaErrors,
} from '../../protocol/index.ts';
import { defineHandler } from '../handler.ts';
import { brokerOf } from '../handler-support.ts';

export const handler = defineHandler<ElectLeadersRequestData, Input<ElectLeadersResponseData>>({
  apiKey: 43,
  name: 'ElectLeaders',
  minVersion: 0,
  maxVersion: 2,
  async handle(request, context) {
    const broker = brokerOf(context);
    const forwarded = await broker.forwardToController<Input<ElectLeadersResponseData>>(context, request);
    if (forwarded !== undefined) return forwarded;
    const electionType = context.apiVersion === 0 ? 0 : request.electionType;
    const { results, records } = electLeaders(broker.metadata(), electionType, request.topicPartitions);
    if (records.length === 0) return { throttleTimeMs: 0, errorCode: 0, replicaElectionResults: results };
    const notController = {
      errorCode: KafkaErrors.NOT_CONTROLLER.code,
      errorMessage: 'No active controller answered; leaders were not changed.',
    };
    return {
      throttleTimeMs: 0,
      errorCode: 0,
      replicaElectionResults: results.map((topic) => ({
        topic: topic.topic,
        partitionResult: topic.partitionResult.map((partition) =>
          partition.errorCode === 0 ? { ...partition, ...notController } : partition,
        ),
      })),
    };
  },
});
