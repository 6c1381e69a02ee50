/**
 * The transaction coordinator's line to the other brokers: WriteTxnMarkers (API 27) to the leader
 * of a partition this broker does not lead, as Kafka's TransactionMarkerChannelManager sends them;
 * and the partition leader's line to a transaction coordinator: AddPartitionsToTxn v5, the
 * broker form (transaction version 2 adds a partition on the producer's behalf).
 * One connection per broker (kept, reopened after a failure), addressed by the broker's endpoint
 * in the current metadata image.
 */

import type { BrokerServices } from '../../broker/services.ts';
import { ControllerClient } from '../../controller/broker-lifecycle.ts';
import type { AddPartitionsToTxnResponseData, WriteTxnMarkersResponseData } from '../../protocol/index.ts';
import type { TopicPartition } from './coordinator.ts';

/** WriteTxnMarkers' version kstack sends (the flexible one; Kafka 4.1 serves 1). */
export const WRITE_TXN_MARKERS_VERSION = 1;
/** AddPartitionsToTxn's broker form as a partition leader sends it (v5: TRANSACTION_ABORTABLE known). */
export const ADD_PARTITIONS_BROKER_VERSION = 5;

export interface MarkerRequest {
  readonly target: TopicPartition;
  readonly producerId: bigint;
  readonly producerEpoch: number;
  readonly commit: boolean;
  readonly coordinatorEpoch: number;
}

export class MarkerChannel {
  readonly #broker: BrokerServices;
  readonly #clients = new Map<number, ControllerClient>();
  #closed = false;

  constructor(broker: BrokerServices) {
    this.#broker = broker;
  }

  /**
   * Asks broker `leaderId` to append one marker; resolves with the partition's error code
   * (rejects when the broker cannot be reached or answers something undecodable).
   */
  async send(leaderId: number, marker: MarkerRequest): Promise<number> {
    if (this.#closed) throw new Error('the marker channel is closed');
    const answer = (await this.#client(leaderId).request(27, WRITE_TXN_MARKERS_VERSION, {
      markers: [
        {
          producerId: marker.producerId,
          producerEpoch: marker.producerEpoch,
          transactionResult: marker.commit,
          topics: [{ name: marker.target.topic, partitionIndexes: [marker.target.partition] }],
          coordinatorEpoch: marker.coordinatorEpoch,
        },
      ],
    })) as unknown as WriteTxnMarkersResponseData;
    const result = answer.markers[0]?.topics
      .find((topic) => topic.name === marker.target.topic)
      ?.partitions.find((p) => p.partitionIndex === marker.target.partition);
    if (result === undefined) {
      throw new Error(
        `broker ${leaderId} answered WriteTxnMarkers without ${marker.target.topic}-${marker.target.partition}`,
      );
    }
    return result.errorCode;
  }

  /**
   * Asks the transaction coordinator on broker `nodeId` to add one partition to the producer's
   * transaction (`verifyOnly` false) or to say whether it is in it (`verifyOnly` true); resolves
   * with the error code (the top-level one, else the partition's).
   */
  async addPartition(
    nodeId: number,
    transaction: { transactionalId: string; producerId: bigint; producerEpoch: number; verifyOnly: boolean },
    target: TopicPartition,
  ): Promise<number> {
    if (this.#closed) throw new Error('the marker channel is closed');
    const answer = (await this.#client(nodeId).request(24, ADD_PARTITIONS_BROKER_VERSION, {
      transactions: [{ ...transaction, topics: [{ name: target.topic, partitions: [target.partition] }] }],
    })) as unknown as AddPartitionsToTxnResponseData;
    if (answer.errorCode !== 0) return answer.errorCode;
    const result = answer.resultsByTransaction
      .find((t) => t.transactionalId === transaction.transactionalId)
      ?.topicResults.find((t) => t.name === target.topic)
      ?.resultsByPartition.find((p) => p.partitionIndex === target.partition);
    if (result === undefined) {
      throw new Error(
        `broker ${nodeId} answered AddPartitionsToTxn without ${target.topic}-${target.partition}`,
      );
    }
    return result.partitionErrorCode;
  }

  close(): void {
    this.#closed = true;
    for (const client of this.#clients.values()) client.close();
    this.#clients.clear();
  }

  #client(nodeId: number): ControllerClient {
    let client = this.#clients.get(nodeId);
    if (client === undefined) {
      client = new ControllerClient(() => {
        const endpoint = this.#broker
          .metadata()
          .brokers()
          .find((b) => b.nodeId === nodeId);
        return endpoint === undefined ? null : { nodeId, host: endpoint.host, port: endpoint.port };
      }, `kstack-txn-markers-${this.#broker.nodeId}`);
      this.#clients.set(nodeId, client);
    }
    return client;
  }
}
