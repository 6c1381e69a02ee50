/**
 * DescribeQuorum 0-2 on the broker listener, as Kafka 4's brokers serve it for
 * `kafka-metadata-quorum --bootstrap-server`: the request goes unchanged to the active
 * controller's listener (src/controller/forwarded-admin.ts, even from the node that is the active
 * controller), whose Raft leader answers with the voters' progress. Authorization (DESCRIBE on the
 * cluster) is checked before, in src/security/request-authorization.ts.
 *
 * One node (`kstack up --brokers 1`) has no Raft log: its metadata log is committed as it is
 * written, so it answers as a quorum of one, itself the leader (epoch 0) whose log end is the
 * high watermark. A cluster node that reached no controller answers NOT_CONTROLLER.
 */
import { METADATA_PARTITION, METADATA_TOPIC } from '../../controller/wire.ts';
import {
  type DescribeQuorumRequestData,
  type DescribeQuorumResponseData,
  type Input,
  KafkaErrors,
  ZERO_UUID,
} from '../../protocol/index.ts';
import { defineHandler } from '../handler.ts';
import { brokerOf } from '../handler-support.ts';

type Response = Input<DescribeQuorumResponseData>;

export const handler = defineHandler<DescribeQuorumRequestData, Response>({
  apiKey: 55,
  name: 'DescribeQuorum',
  minVersion: 0,
  maxVersion: 2,
  async handle(request, context) {
    const broker = brokerOf(context);
    const forwarded = await broker.forwardToController<Response>(context, request);
    if (forwarded !== undefined) return forwarded;
    const image = broker.metadata();
    const registered = image.brokers();
    const alone = registered.length === 1 && registered[0]?.nodeId === broker.nodeId;
    const highWatermark = image.metadataOffset;
    const partition = (errorCode: number, errorMessage: string | null, leader: boolean) => ({
      partitionIndex: METADATA_PARTITION,
      errorCode,
      errorMessage,
      leaderId: leader ? broker.nodeId : -1,
      leaderEpoch: leader ? 0 : -1,
      highWatermark: leader ? highWatermark : -1n,
      currentVoters: leader
        ? [
            {
              replicaId: broker.nodeId,
              replicaDirectoryId: ZERO_UUID,
              logEndOffset: highWatermark,
              lastFetchTimestamp: BigInt(Date.now()),
              lastCaughtUpTimestamp: BigInt(Date.now()),
            },
          ]
        : [],
      observers: [],
    });
    return {
      errorCode: 0,
      errorMessage: null,
      topics: request.topics.map((topic) => ({
        topicName: topic.topicName,
        partitions: topic.partitions.map((asked) => {
          if (topic.topicName !== METADATA_TOPIC || asked.partitionIndex !== METADATA_PARTITION) {
            return {
              ...partition(
                KafkaErrors.UNKNOWN_TOPIC_OR_PARTITION.code,
                `only ${METADATA_TOPIC}-${METADATA_PARTITION} has a quorum`,
                false,
              ),
              partitionIndex: asked.partitionIndex,
            };
          }
          return alone
            ? partition(0, null, true)
            : partition(KafkaErrors.NOT_CONTROLLER.code, 'No active controller answered.', false);
        }),
      })),
      nodes: [],
    };
  },
});
