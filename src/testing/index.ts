/**
 * `kstack/testing`: an embedded Kafka for test suites (see README.md beside this file).
 *
 *   const kafka = await startKafka({ topicsFile: 'topics.txt' });
 *   afterEach(() => kafka.reset());
 *   after(() => kafka.stop());
 */

export { type FaultSide, LINK_DELAY_MS_MAX } from '../engine/fault-proxy.ts';
export {
  CLUSTER_NODES_MAX,
  CLUSTER_WAIT_MS_DEFAULT,
  ClusterBroker,
  type NodeFaults,
  type StartClusterOptions,
  startCluster,
  TestCluster,
  type WaitOptions,
} from './cluster.ts';
export {
  CONNECT_READY_MS,
  CONNECT_RESET_MS,
  TEST_CONNECT_OVERRIDES,
  type TestConnectOptions,
} from './connect.ts';
export { KafkaTestingError, type TestingErrorCode, TestingErrorCodes } from './errors.ts';
export {
  type BaselineTopic,
  type Namespace,
  type OperationTimings,
  type StartKafkaOptions,
  startKafka,
  TEST_BROKER_DEFAULTS,
  type TestClock,
  TestKafka,
} from './kafka.ts';
export {
  TEST_CLUSTER_DEFAULTS,
  TEST_CLUSTER_HEARTBEAT_INTERVAL_MS,
  TEST_CLUSTER_RAFT,
  TEST_CLUSTER_SESSION_TIMEOUT_MS,
  TestKafkaCluster,
} from './kafka-cluster.ts';
export { ADVANCE_TIMERS_MAX, ManualClock } from './manual-clock.ts';
export { SNAPSHOT_NAME_LENGTH_MAX, type SnapshotInfo, snapshotNameProblem } from './snapshots.ts';
