/** The page's calls to the UI server's /api. Errors carry the server's message verbatim. */

/** A service's refusal of one field (Connect's config validation). */
export interface FieldError {
  field: string;
  errors: string[];
}

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly fields: FieldError[];
  constructor(status: number, code: string, message: string, fields: FieldError[] = []) {
    super(message);
    this.status = status;
    this.code = code;
    this.fields = fields;
  }
}

async function answer<T>(response: Response): Promise<T> {
  const text = await response.text();
  let body: unknown;
  try {
    body = text === '' ? undefined : JSON.parse(text);
  } catch {
    body = undefined;
  }
  if (!response.ok) {
    const error = (body as { error?: { code?: string; message?: string; fields?: FieldError[] } } | undefined)
      ?.error;
    throw new ApiError(
      response.status,
      error?.code ?? 'HTTP',
      error?.message ?? `${response.status} ${text}`,
      error?.fields ?? [],
    );
  }
  return body as T;
}

export async function get<T>(path: string): Promise<T> {
  return answer<T>(await fetch(path, { headers: { accept: 'application/json' } }));
}

export async function post<T>(path: string, body: unknown): Promise<T> {
  return answer<T>(
    await fetch(path, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify(body),
    }),
  );
}

export interface Cluster {
  clusterId: string;
  controllerId: number;
  bootstrap: string;
  brokers: {
    id: number;
    host: string;
    port: number;
    rack: string | null;
    leaders: number;
    replicas: number;
    /** Bytes of its replicas' logs (DescribeLogDirs; null: unknown, see logSizeError). */
    logBytes: string | null;
  }[];
  logSizeError: string | null;
  /** Internal topics left out. */
  topics: number;
  partitions: number;
  /** Kafka's internal topics (__consumer_offsets, __transaction_state) and their partitions (null: unknown). */
  internalTopics: number;
  internalPartitions: number | null;
  underReplicated: number;
  offline: number;
  readOnly: boolean;
  schemaRegistry: string | null;
  connect: string | null;
}

export interface TopicRow {
  name: string;
  internal: boolean;
  partitions: number;
  replicationFactor: number;
  underReplicated: number;
  messages: string;
  /** Bytes on disk over every replica (null: unknown). */
  bytes: string | null;
  /** Records per second over the last 30 s of the Charts samples (null: no span yet). */
  recordsPerSecond: number | null;
}

export interface Partition {
  partition: number;
  leader: number;
  replicas: number[];
  isr: number[];
  offline: number[];
  beginning: string;
  end: string;
}

export interface Config {
  name: string;
  value: string | null;
  source: string;
  readOnly: boolean;
  sensitive: boolean;
}

export interface Shown {
  encoding: string;
  text: string;
  bytes: number;
  truncated: boolean;
  schemaId?: number;
  note?: string;
}

export interface Message {
  partition: number;
  offset: string;
  timestamp: string;
  key: Shown;
  value: Shown;
  headers: { key: string; value: string | null }[];
}

export interface Group {
  id: string;
  state: string;
  protocol: string;
  protocolType: string;
  members: {
    id: string;
    clientId: string;
    host: string;
    assignments: { topic: string; partitions: number[] }[];
  }[];
  offsets: { topic: string; partition: number; committed: string; end: string; lag: string }[];
  totalLag: string;
}

export interface PartitionProblem {
  topic: string;
  partition: number;
  leader: number;
  replicas: number[];
  isr: number[];
}

interface QuorumVoter {
  nodeId: number;
  logEndOffset: string;
  lag: string;
}

/** `kstack status`'s reading, pushed by /api/cluster/events. */
export interface ClusterLive {
  at: number;
  error: string | null;
  status: {
    clusterId: string;
    brokers: { nodeId: number; host: string; port: number }[];
    absentBrokers: number[];
    metadataControllerId: number;
    quorum:
      | {
          served: true;
          leaderId: number;
          leaderEpoch: number;
          highWatermark: string;
          voters: QuorumVoter[];
          observers: QuorumVoter[];
        }
      | { served: false; reason: string };
    topicCount: number;
    partitionCount: number;
    underReplicated: PartitionProblem[];
    offline: PartitionProblem[];
  } | null;
}
