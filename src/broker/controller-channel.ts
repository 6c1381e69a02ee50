/**
 * How a broker reaches the active controller for its data plane: AlterPartition (API 56, v3
 * fields: broker epoch, new ISR with broker epochs, partition epoch) and the broker heartbeat
 * that keeps it unfenced (API 63). The KRaft controller (src/controller) serves these later;
 * until then the in-process stub (replica-controller-stub.ts) implements this interface.
 */

export interface AlterPartitionRequestData {
  readonly brokerId: number;
  readonly brokerEpoch: number;
  readonly topics: readonly {
    readonly topicId: string;
    readonly partitions: readonly {
      readonly partitionIndex: number;
      readonly leaderEpoch: number;
      readonly newIsrWithEpochs: readonly { readonly brokerId: number; readonly brokerEpoch: number }[];
      /** 0 RECOVERED, 1 RECOVERING (unclean election; not used yet). */
      readonly leaderRecoveryState: number;
      readonly partitionEpoch: number;
    }[];
  }[];
}

export interface AlterPartitionResponseData {
  readonly errorCode: number;
  readonly topics: readonly {
    readonly topicId: string;
    readonly partitions: readonly {
      readonly partitionIndex: number;
      readonly errorCode: number;
      readonly leaderId: number;
      readonly leaderEpoch: number;
      readonly isr: readonly number[];
      readonly leaderRecoveryState: number;
      readonly partitionEpoch: number;
    }[];
  }[];
}

export interface ControllerChannel {
  /** Answers once the change is committed (or refused); never rejects: transport failures answer an error code. */
  alterPartition(request: AlterPartitionRequestData): Promise<AlterPartitionResponseData>;
  /** BrokerHeartbeat: keeps this broker epoch unfenced. */
  brokerHeartbeat(brokerId: number, brokerEpoch: number): void;
}
