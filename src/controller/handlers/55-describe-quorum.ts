import { ZERO_UUID } from '../../protocol/index.ts';
import { RaftError } from '../../raft/types.ts';
import type { ControllerHandler } from '../handler.ts';
import { METADATA_PARTITION, METADATA_TOPIC } from '../wire.ts';

const UNKNOWN_TOPIC_OR_PARTITION = 3;

/**
 * DescribeQuorum: the leader's view of the voters (end offsets, last fetch and caught-up times);
 * a node that does not lead answers NOT_LEADER_OR_FOLLOWER for the partition, as Kafka does.
 * v2 adds each voter's controller listener; kstack has no directory ids (KIP-853): zero uuids.
 */
export const handler: ControllerHandler = {
  apiKey: 55,
  name: 'DescribeQuorum',
  minVersion: 0,
  maxVersion: 2,
  handle(request, context) {
    const { driver } = context.node;
    const topics = request.topics as { topicName: string; partitions: { partitionIndex: number }[] }[];
    const asked = topics[0]?.partitions[0];
    const partition = (errorCode: number, errorMessage: string | null) => ({
      partitionIndex: METADATA_PARTITION,
      errorCode,
      errorMessage,
      leaderId: driver.leader().leaderId,
      leaderEpoch: driver.leader().epoch,
      highWatermark: BigInt(driver.replica.highWatermark()),
      currentVoters: [] as unknown[],
      observers: [],
    });
    if (
      topics.length !== 1 ||
      topics[0]?.topicName !== METADATA_TOPIC ||
      topics[0].partitions.length !== 1 ||
      asked?.partitionIndex !== METADATA_PARTITION
    ) {
      return {
        errorCode: 0,
        errorMessage: null,
        topics: topics.map((topic) => ({
          topicName: topic.topicName,
          partitions: topic.partitions.map(() => ({
            ...partition(UNKNOWN_TOPIC_OR_PARTITION, `only ${METADATA_TOPIC}-0 has a quorum`),
          })),
        })),
        nodes: [],
      };
    }
    const states = driver.voterStates();
    const answer =
      states === null
        ? partition(RaftError.NOT_LEADER_OR_FOLLOWER, `node ${driver.nodeId} is not the quorum leader`)
        : {
            ...partition(0, null),
            currentVoters: states.map((state) => ({
              replicaId: state.nodeId,
              replicaDirectoryId: ZERO_UUID,
              logEndOffset: BigInt(state.logEndOffset),
              lastFetchTimestamp: BigInt(state.lastFetchTimestamp),
              lastCaughtUpTimestamp: BigInt(state.lastCaughtUpTimestamp),
            })),
          };
    return {
      errorCode: 0,
      errorMessage: null,
      topics: [{ topicName: METADATA_TOPIC, partitions: [answer] }],
      nodes: driver.voters.map((voter) => ({
        nodeId: voter.nodeId,
        listeners: [{ name: context.node.listenerName, host: voter.host, port: voter.port }],
      })),
    };
  },
};
