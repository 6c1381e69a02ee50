/**
 * Authorization of each request, in one place, as Kafka's KafkaApis does it per API key: before the
 * handler runs, the parts of a request the principal may not touch are taken out of it, and their
 * answers (TOPIC_AUTHORIZATION_FAILED, GROUP_AUTHORIZATION_FAILED, CLUSTER_AUTHORIZATION_FAILED,
 * TRANSACTIONAL_ID_AUTHORIZATION_FAILED) are added to the handler's answer afterwards; a request
 * refused whole is answered here and never reaches its handler. So the handlers need no
 * authorization code, and a broker without `authorizer.class.name` runs none of this.
 */

import type { BrokerServices } from '../broker/services.ts';
import { type SlotKey, slotKey } from '../broker/services.ts';
import { KafkaErrors, ZERO_UUID } from '../protocol/index.ts';
import { CLUSTER_NAME, AclOperation as Op, ResourceType as Type } from './acls.ts';
import type { Authorizer, RequestPrincipal } from './authorizer.ts';

/** Where the broker keeps its authorizer; absent when `authorizer.class.name` is empty. */
export const AUTHORIZER: SlotKey<Authorizer> = slotKey<Authorizer>('authorizer');

type Body = Record<string, unknown>;
// biome-ignore lint/suspicious/noExplicitAny: request and response values are walked by field name here.
type Loose = any;

/** What the dispatcher does with a request after authorization. */
export type Authorized =
  /** Run the handler on `request`, then pass its answer through `finish`. */
  | { readonly request: Body; readonly finish: (response: Body) => Body }
  /** Refused whole: send this answer, do not run the handler. */
  | { readonly answer: Body };

const TOPIC_DENIED = KafkaErrors.TOPIC_AUTHORIZATION_FAILED.code;
const GROUP_DENIED = KafkaErrors.GROUP_AUTHORIZATION_FAILED.code;
const CLUSTER_DENIED = KafkaErrors.CLUSTER_AUTHORIZATION_FAILED.code;
const TXN_DENIED = KafkaErrors.TRANSACTIONAL_ID_AUTHORIZATION_FAILED.code;
const same = (response: Body): Body => response;
const pass = (request: Body): Authorized => ({ request, finish: same });

/** The questions a guard asks, bound to one request's principal and host. */
interface Check {
  can(operation: number, resourceType: number, name: string): boolean;
  cluster(operation: number): boolean;
  anyOfType(operation: number, resourceType: number): boolean;
}

interface GuardInput {
  readonly request: Loose;
  readonly version: number;
  readonly check: Check;
  readonly broker: BrokerServices;
}
type Guard = (input: GuardInput) => Authorized;

/** Appends entries to a response's list field. */
function appending(field: string, entries: readonly Body[]): (response: Body) => Body {
  if (entries.length === 0) return same;
  return (response) => ({
    ...response,
    [field]: [...((response[field] as Body[] | undefined) ?? []), ...entries],
  });
}

/** Splits a list by a predicate: [kept, refused]. */
function split<T>(items: readonly T[], keep: (item: T) => boolean): [T[], T[]] {
  const kept: T[] = [];
  const refused: T[] = [];
  for (const item of items) (keep(item) ? kept : refused).push(item);
  return [kept, refused];
}

/**
 * The common shape: the request's list `field` keeps the items whose resource (`nameOf`) allows
 * `operation`; each refused item is answered by `refusal` in the response list `responseField`.
 */
function itemsGuard<T>(options: {
  readonly field: string;
  readonly operation: number;
  readonly resourceType: number;
  readonly nameOf: (item: T) => string;
  readonly responseField: string;
  readonly refusal: (item: T) => Body;
}): Guard {
  return ({ request, check }) => {
    const [kept, refused] = split<T>(request[options.field] ?? [], (item) =>
      check.can(options.operation, options.resourceType, options.nameOf(item)),
    );
    return {
      request: { ...request, [options.field]: kept },
      finish: appending(options.responseField, refused.map(options.refusal)),
    };
  };
}

/** The response list `field` keeps only the entries whose resource (`nameOf`) allows `operation`. */
function responseFilter(
  field: string,
  operation: number,
  resourceType: number,
  nameOf: (entry: Loose) => string,
) {
  return (check: Check) =>
    (response: Body): Body => ({
      ...response,
      [field]: ((response[field] as Loose[]) ?? []).filter((entry) =>
        check.can(operation, resourceType, nameOf(entry)),
      ),
    });
}

/** Topics by name, each topic's partitions answered with one error. */
function topicPartitionsGuard(options: {
  readonly operation: number;
  readonly topicsField: string;
  readonly partitionsField: string;
  readonly responseTopicsField: string;
  readonly responsePartitionsField: string;
  readonly partitionIndex: (partition: Loose) => number;
  readonly indexField: string;
  readonly extra?: Body;
  /** Topics passed on unchecked, for the handler to refuse (Produce v13: an id naming no topic). */
  readonly handlerAnswers?: (topic: Loose) => boolean;
}): Guard {
  return ({ request, check }) => {
    const [kept, refused] = split<Loose>(
      request[options.topicsField] ?? [],
      (topic) =>
        options.handlerAnswers?.(topic) === true || check.can(options.operation, Type.TOPIC, topic.name),
    );
    const entries = refused.map((topic) => ({
      name: topic.name,
      ...(topic.topicId !== undefined ? { topicId: topic.topicId } : {}),
      [options.responsePartitionsField]: (topic[options.partitionsField] ?? []).map((partition: Loose) => ({
        [options.indexField]: options.partitionIndex(partition),
        errorCode: TOPIC_DENIED,
        ...options.extra,
      })),
    }));
    return {
      request: { ...request, [options.topicsField]: kept },
      finish: appending(options.responseTopicsField, entries),
    };
  };
}

/** The most common request shape: `topics[].partitions[].partitionIndex`, answered the same way. */
const TOPICS_AND_PARTITIONS = {
  topicsField: 'topics',
  partitionsField: 'partitions',
  responseTopicsField: 'topics',
  responsePartitionsField: 'partitions',
  partitionIndex: (partition: Loose): number => partition.partitionIndex,
  indexField: 'partitionIndex',
} as const;

/** READ on each topic of a group request (OffsetCommit, TxnOffsetCommit, OffsetDelete), once its group is allowed. */
const readTopicPartitions = topicPartitionsGuard({ operation: Op.READ, ...TOPICS_AND_PARTITIONS });

/** The operations Kafka reports in an `authorizedOperations` bit field, per resource type (AclEntry). */
const SUPPORTED_OPERATIONS: ReadonlyMap<number, readonly number[]> = new Map([
  [
    Type.TOPIC,
    [Op.READ, Op.WRITE, Op.CREATE, Op.DESCRIBE, Op.DELETE, Op.ALTER, Op.DESCRIBE_CONFIGS, Op.ALTER_CONFIGS],
  ],
  [Type.GROUP, [Op.READ, Op.DESCRIBE, Op.DELETE, Op.DESCRIBE_CONFIGS, Op.ALTER_CONFIGS]],
  [
    Type.CLUSTER,
    [
      Op.CREATE,
      Op.CLUSTER_ACTION,
      Op.DESCRIBE_CONFIGS,
      Op.ALTER_CONFIGS,
      Op.IDEMPOTENT_WRITE,
      Op.ALTER,
      Op.DESCRIBE,
    ],
  ],
]);

/** Kafka's `authorizedOperations`: bit `code` set for each supported operation the principal may do. */
function authorizedOperations(check: Check, resourceType: number, name: string): number {
  let bits = 0;
  for (const operation of SUPPORTED_OPERATIONS.get(resourceType) ?? []) {
    if (check.can(operation, resourceType, name)) bits |= 1 << operation;
  }
  return bits;
}

/** The cluster's bit field, as Kafka gives it: 0 unless the principal may DESCRIBE the cluster. */
const clusterOperations = (check: Check): number =>
  check.cluster(Op.DESCRIBE) ? authorizedOperations(check, Type.CLUSTER, CLUSTER_NAME) : 0;

/** Whether a Produce payload holds transactional batches (attributes bit 4 of a v2 batch header). */
function hasTransactionalRecords(request: Loose): boolean {
  for (const topic of request.topicData ?? []) {
    for (const partition of topic.partitionData ?? []) {
      const records: Uint8Array | null = partition.records;
      if (records === null || records.length < 23) continue;
      if (records[16] === 2 && (records[22]! & 0x10) !== 0) return true;
    }
  }
  return false;
}

/** From this Produce version topics are named by id. */
const PRODUCE_TOPIC_ID_VERSION = 13;

const producePartitions: Guard = topicPartitionsGuard({
  operation: Op.WRITE,
  topicsField: 'topicData',
  partitionsField: 'partitionData',
  responseTopicsField: 'responses',
  responsePartitionsField: 'partitionResponses',
  partitionIndex: (partition) => partition.index,
  indexField: 'index',
  extra: { baseOffset: -1n },
  handlerAnswers: (topic) => topic.name === undefined,
});

const produce: Guard = (input) => {
  const { request, check } = input;
  if (hasTransactionalRecords(request)) {
    const id: string | null = request.transactionalId;
    if (id === null || !check.can(Op.WRITE, Type.TRANSACTIONAL_ID, id)) {
      return {
        answer: {
          responses: (request.topicData ?? []).map((topic: Loose) => ({
            name: topic.name,
            topicId: topic.topicId,
            partitionResponses: (topic.partitionData ?? []).map((partition: Loose) => ({
              index: partition.index,
              errorCode: TXN_DENIED,
              baseOffset: -1n,
            })),
          })),
        },
      };
    }
  }
  // Produce v13 names topics by id (KIP-516): the name authorized is the id's; an id naming no
  // topic is left to the handler, which answers UNKNOWN_TOPIC_ID as Kafka does before authorizing.
  if (input.version < PRODUCE_TOPIC_ID_VERSION) return producePartitions(input);
  const image = input.broker.metadata();
  const topicData = (request.topicData ?? []).map((topic: Loose) => ({
    ...topic,
    name: image.topicById(topic.topicId)?.name,
  }));
  return producePartitions({ ...input, request: { ...request, topicData } });
};

/** Every partition of a Fetch's topics answered `errorCode` with no records. */
function fetchRefusals(topics: readonly Loose[], errorCode: number): Body[] {
  return topics.map((topic) => ({
    topic: topic.topic,
    topicId: topic.topicId,
    partitions: (topic.partitions ?? []).map((partition: Loose) => ({
      partitionIndex: partition.partition,
      errorCode,
      highWatermark: -1n,
      lastStableOffset: -1n,
      logStartOffset: -1n,
      // Empty, not null: librdkafka refuses a null record set (MessageSetSize -1), Kafka sends none.
      records: new Uint8Array(0),
    })),
  }));
}

const fetch: Guard = ({ request, check, broker }) => {
  // A follower's fetch (replica id >= 0, in the header field or, from v15, in replicaState) needs
  // CLUSTER_ACTION on the cluster; without it Kafka's KafkaApis answers every partition
  // TOPIC_AUTHORIZATION_FAILED (the brokers' own principal is a super user or granted it).
  if (request.replicaId >= 0 || (request.replicaState?.replicaId ?? -1) >= 0) {
    if (check.cluster(Op.CLUSTER_ACTION)) return pass(request);
    // Answered here: the handler would hold a fetch of no partitions for maxWaitMs.
    return {
      answer: { errorCode: 0, sessionId: 0, responses: fetchRefusals(request.topics ?? [], TOPIC_DENIED) },
    };
  }
  const image = broker.metadata();
  const nameOf = (topic: Loose): string | undefined =>
    topic.topic !== '' ? topic.topic : image.topicById(topic.topicId)?.name;
  const [kept, refused] = split<Loose>(request.topics ?? [], (topic) => {
    const name = nameOf(topic);
    // An unknown topic id is the handler's to answer (UNKNOWN_TOPIC_ID).
    return name === undefined || check.can(Op.READ, Type.TOPIC, name);
  });
  return {
    request: { ...request, topics: kept },
    finish: appending('responses', fetchRefusals(refused, TOPIC_DENIED)),
  };
};

const listOffsets = topicPartitionsGuard({
  operation: Op.DESCRIBE,
  ...TOPICS_AND_PARTITIONS,
  extra: { timestamp: -1n, offset: -1n },
});

/** Metadata with the bit fields asked for filled in, after the topics are authorized. */
const metadata: Guard = (input) => {
  const authorized = metadataTopics(input);
  if ('answer' in authorized) return authorized;
  const { request, check } = input;
  const topicBits = request.includeTopicAuthorizedOperations === true;
  const clusterBits = request.includeClusterAuthorizedOperations === true;
  if (!topicBits && !clusterBits) return authorized;
  return {
    request: authorized.request,
    finish: (response) => {
      const finished = authorized.finish(response);
      return {
        ...finished,
        ...(clusterBits ? { clusterAuthorizedOperations: clusterOperations(check) } : {}),
        topics: ((finished.topics as Loose[]) ?? []).map((topic) =>
          topicBits && topic.errorCode === 0 && topic.name !== null
            ? { ...topic, topicAuthorizedOperations: authorizedOperations(check, Type.TOPIC, topic.name) }
            : topic,
        ),
      };
    },
  };
};

const metadataTopics: Guard = ({ request, version, check, broker }) => {
  const topics: Loose[] | null = request.topics;
  const describable = (name: string): boolean => check.can(Op.DESCRIBE, Type.TOPIC, name);
  if (topics === null || (version === 0 && topics.length === 0)) {
    // Every topic: those the principal may not describe are left out, not reported.
    return {
      request,
      finish: (response) => ({
        ...response,
        topics: ((response.topics as Loose[]) ?? []).filter((topic) => describable(topic.name)),
      }),
    };
  }
  const image = broker.metadata();
  const refused: Body[] = [];
  const kept: Loose[] = [];
  const autoCreate =
    request.allowAutoTopicCreation !== false && broker.config.getBoolean('auto.create.topics.enable');
  const mayCreate = (name: string): boolean =>
    check.cluster(Op.CREATE) || check.can(Op.CREATE, Type.TOPIC, name);
  for (const topic of topics) {
    const name: string | undefined = topic.name ?? image.topicById(topic.topicId)?.name;
    if (name === undefined) {
      kept.push(topic);
    } else if (!describable(name)) {
      // By name, the topic's existence is not disclosed; by id, the id is given back.
      refused.push(
        topic.name === null
          ? { errorCode: TOPIC_DENIED, name: null, topicId: topic.topicId, isInternal: false, partitions: [] }
          : { errorCode: TOPIC_DENIED, name, topicId: ZERO_UUID, isInternal: false, partitions: [] },
      );
    } else if (autoCreate && image.topic(name) === undefined && !mayCreate(name)) {
      refused.push({
        errorCode: TOPIC_DENIED,
        name,
        topicId: ZERO_UUID,
        isInternal: name.startsWith('__'),
        partitions: [],
      });
    } else {
      kept.push(topic);
    }
  }
  if (kept.length === 0 && version === 0) {
    // An empty list means every topic in v0: the handler's answer is replaced by the refusals.
    return { request: { ...request, topics: [] }, finish: (response) => ({ ...response, topics: refused }) };
  }
  return { request: { ...request, topics: kept }, finish: appending('topics', refused) };
};

/** A group API refused whole with GROUP_AUTHORIZATION_FAILED unless READ on its group. */
function groupRead(answer: (request: Loose) => Body): Guard {
  return ({ request, check }) =>
    check.can(Op.READ, Type.GROUP, request.groupId)
      ? pass(request)
      : { answer: { errorCode: GROUP_DENIED, ...answer(request) } };
}

const offsetCommit: Guard = (input) => {
  const { request, check } = input;
  if (!check.can(Op.READ, Type.GROUP, request.groupId)) {
    return {
      answer: {
        topics: (request.topics ?? []).map((topic: Loose) => ({
          name: topic.name,
          partitions: topic.partitions.map((partition: Loose) => ({
            partitionIndex: partition.partitionIndex,
            errorCode: GROUP_DENIED,
          })),
        })),
      },
    };
  }
  return readTopicPartitions(input);
};

const offsetFetch: Guard = ({ request, version, check }) => {
  const describable = (name: string): boolean => check.can(Op.DESCRIBE, Type.TOPIC, name);
  const unknownOffset = { committedOffset: -1n, committedLeaderEpoch: -1, metadata: '' };
  const refusedTopics = (topics: Loose[] | null, error: number): Body[] =>
    (topics ?? []).map((topic) => ({
      name: topic.name,
      partitions: topic.partitionIndexes.map((partitionIndex: number) => ({
        partitionIndex,
        errorCode: error,
        ...unknownOffset,
      })),
    }));
  const filterTopics = (topics: Loose[] | null): [Loose[] | null, Body[]] => {
    if (topics === null) return [null, []];
    const [kept, refused] = split(topics, (topic) => describable(topic.name));
    return [kept, refusedTopics(refused, TOPIC_DENIED)];
  };
  const hideUnauthorized = (topics: Loose[]): Loose[] => topics.filter((topic) => describable(topic.name));
  if (version < 8) {
    if (!check.can(Op.DESCRIBE, Type.GROUP, request.groupId)) {
      // From v2 the group's error is top-level and no partition is listed; before, each partition has it.
      const topics = version >= 2 ? [] : refusedTopics(request.topics, GROUP_DENIED);
      return { answer: { errorCode: GROUP_DENIED, topics } };
    }
    const [kept, refused] = filterTopics(request.topics);
    return {
      request: { ...request, topics: kept },
      finish: (response) => {
        const topics = (response.topics as Loose[]) ?? [];
        return { ...response, topics: [...(kept === null ? hideUnauthorized(topics) : topics), ...refused] };
      },
    };
  }
  const refusedGroups: Body[] = [];
  const extras = new Map<string, { all: boolean; refused: Body[] }>();
  const groups: Loose[] = [];
  for (const group of request.groups ?? []) {
    if (!check.can(Op.DESCRIBE, Type.GROUP, group.groupId)) {
      refusedGroups.push({ groupId: group.groupId, errorCode: GROUP_DENIED, topics: [] });
      continue;
    }
    const [kept, refused] = filterTopics(group.topics);
    extras.set(group.groupId, { all: kept === null, refused });
    groups.push({ ...group, topics: kept });
  }
  return {
    request: { ...request, groups },
    finish: (response) => ({
      ...response,
      groups: [
        ...((response.groups as Loose[]) ?? []).map((group) => {
          const extra = extras.get(group.groupId);
          if (extra === undefined) return group;
          const topics = group.topics ?? [];
          return { ...group, topics: [...(extra.all ? hideUnauthorized(topics) : topics), ...extra.refused] };
        }),
        ...refusedGroups,
      ],
    }),
  };
};

const findCoordinator: Guard = ({ request, version, check }) => {
  const transaction = request.keyType === 1;
  const allowed = (key: string): boolean =>
    transaction
      ? check.can(Op.DESCRIBE, Type.TRANSACTIONAL_ID, key)
      : check.can(Op.DESCRIBE, Type.GROUP, key);
  const error = transaction ? TXN_DENIED : GROUP_DENIED;
  if (version < 4) {
    return allowed(request.key)
      ? pass(request)
      : { answer: { errorCode: error, errorMessage: null, nodeId: -1, host: '', port: -1 } };
  }
  const [kept, refused] = split<string>(request.coordinatorKeys ?? [], allowed);
  const entries = refused.map((key) => ({
    key,
    nodeId: -1,
    host: '',
    port: -1,
    errorCode: error,
    errorMessage: null,
  }));
  if (kept.length === 0) return { answer: { coordinators: entries } };
  return { request: { ...request, coordinatorKeys: kept }, finish: appending('coordinators', entries) };
};

const describeGroups: Guard = withGroupOperations(
  itemsGuard<string>({
    field: 'groups',
    operation: Op.DESCRIBE,
    resourceType: Type.GROUP,
    nameOf: (groupId) => groupId,
    responseField: 'groups',
    refusal: (groupId) => ({
      errorCode: GROUP_DENIED,
      groupId,
      groupState: '',
      protocolType: '',
      protocolData: '',
      members: [],
    }),
  }),
);

/** Fills each described group's `authorizedOperations` when the request asks for it. */
function withGroupOperations(guard: Guard): Guard {
  return (input) => {
    const authorized = guard(input);
    if ('answer' in authorized || input.request.includeAuthorizedOperations !== true) return authorized;
    return {
      request: authorized.request,
      finish: (response) => {
        const finished = authorized.finish(response);
        return {
          ...finished,
          groups: ((finished.groups as Loose[]) ?? []).map((group) =>
            group.errorCode === 0
              ? {
                  ...group,
                  authorizedOperations: authorizedOperations(input.check, Type.GROUP, group.groupId),
                }
              : group,
          ),
        };
      },
    };
  };
}

const describableGroups = responseFilter('groups', Op.DESCRIBE, Type.GROUP, (group) => group.groupId);

const listGroups: Guard = ({ request, check }) =>
  check.cluster(Op.DESCRIBE) ? pass(request) : { request, finish: describableGroups(check) };

const deleteGroups = itemsGuard<string>({
  field: 'groupsNames',
  operation: Op.DELETE,
  resourceType: Type.GROUP,
  nameOf: (groupId) => groupId,
  responseField: 'results',
  refusal: (groupId) => ({ groupId, errorCode: GROUP_DENIED }),
});

const createTopics: Guard = ({ request, check }) => {
  const clusterCreate = check.cluster(Op.CREATE);
  const [kept, refused] = split<Loose>(
    request.topics ?? [],
    (topic) => clusterCreate || check.can(Op.CREATE, Type.TOPIC, topic.name),
  );
  const entries = refused.map((topic) => ({
    name: topic.name,
    topicId: ZERO_UUID,
    errorCode: TOPIC_DENIED,
    errorMessage: 'Authorization failed.',
    topicConfigErrorCode: TOPIC_DENIED,
    numPartitions: -1,
    replicationFactor: -1,
    configs: null,
  }));
  return { request: { ...request, topics: kept }, finish: appending('topics', entries) };
};

const deleteTopics: Guard = ({ request, version, check, broker }) => {
  const image = broker.metadata();
  const deletable = (name: string | undefined): boolean =>
    name === undefined || check.can(Op.DELETE, Type.TOPIC, name);
  if (version < 6) {
    const [kept, refused] = split<string>(request.topicNames ?? [], deletable);
    return {
      request: { ...request, topicNames: kept },
      finish: appending(
        'responses',
        refused.map((name) => ({ name, errorCode: TOPIC_DENIED, errorMessage: null })),
      ),
    };
  }
  const [kept, refused] = split<Loose>(request.topics ?? [], (topic) =>
    deletable(topic.name ?? image.topicById(topic.topicId)?.name),
  );
  return {
    request: { ...request, topics: kept },
    finish: appending(
      'responses',
      refused.map((topic) => ({
        name: topic.name,
        topicId: topic.topicId,
        errorCode: TOPIC_DENIED,
        errorMessage: null,
      })),
    ),
  };
};

const createPartitions = itemsGuard<Loose>({
  field: 'topics',
  operation: Op.ALTER,
  resourceType: Type.TOPIC,
  nameOf: (topic) => topic.name,
  responseField: 'results',
  refusal: (topic) => ({ name: topic.name, errorCode: TOPIC_DENIED, errorMessage: null }),
});

const initProducerId: Guard = ({ request, check }) => {
  const id: string | null = request.transactionalId;
  if (id !== null) {
    return check.can(Op.WRITE, Type.TRANSACTIONAL_ID, id)
      ? pass(request)
      : { answer: { errorCode: TXN_DENIED, producerId: -1n, producerEpoch: -1 } };
  }
  // KIP-679: an idempotent producer needs IDEMPOTENT_WRITE on the cluster or WRITE on some topic.
  return check.cluster(Op.IDEMPOTENT_WRITE) || check.anyOfType(Op.WRITE, Type.TOPIC)
    ? pass(request)
    : { answer: { errorCode: CLUSTER_DENIED, producerId: -1n, producerEpoch: -1 } };
};

/** A transactional API refused whole unless WRITE on its transactional id. */
function transactionalWrite(answer: (request: Loose) => Body, then?: Guard): Guard {
  return (input) => {
    if (!input.check.can(Op.WRITE, Type.TRANSACTIONAL_ID, input.request.transactionalId)) {
      return { answer: answer(input.request) };
    }
    return then === undefined ? pass(input.request) : then(input);
  };
}

const addPartitionsToTxn: Guard = ({ request, version, check }) => {
  // Version 4 and later come from brokers verifying transactions: CLUSTER_ACTION on the cluster, else
  // Kafka's error response for v4+ (the code at the top, no transaction's result).
  if (version >= 4) {
    return check.cluster(Op.CLUSTER_ACTION)
      ? pass(request)
      : { answer: { errorCode: CLUSTER_DENIED, resultsByTransaction: [] } };
  }
  const topics: Loose[] = request.v3AndBelowTopics ?? [];
  const results = (error: (topic: string) => number): Body => ({
    resultsByTopicV3AndBelow: topics.map((topic) => ({
      name: topic.name,
      resultsByPartition: topic.partitions.map((partitionIndex: number) => ({
        partitionIndex,
        partitionErrorCode: error(topic.name),
      })),
    })),
  });
  if (!check.can(Op.WRITE, Type.TRANSACTIONAL_ID, request.v3AndBelowTransactionalId)) {
    return { answer: results(() => TXN_DENIED) };
  }
  const refused = topics.filter((topic) => !check.can(Op.WRITE, Type.TOPIC, topic.name));
  if (refused.length === 0) return pass(request);
  // Kafka adds none of the partitions when one topic is refused; the others are not attempted.
  const denied = new Set(refused.map((topic) => topic.name));
  return {
    answer: results((name) => (denied.has(name) ? TOPIC_DENIED : KafkaErrors.OPERATION_NOT_ATTEMPTED.code)),
  };
};

const addOffsetsToTxn = transactionalWrite(
  () => ({ errorCode: TXN_DENIED }),
  groupRead(() => ({})),
);

const endTxn = transactionalWrite(() => ({ errorCode: TXN_DENIED, producerId: -1n, producerEpoch: -1 }));

const txnOffsetCommit: Guard = (input) => {
  const { request, check } = input;
  const everyPartition = (error: number): Body => ({
    topics: (request.topics ?? []).map((topic: Loose) => ({
      name: topic.name,
      partitions: topic.partitions.map((partition: Loose) => ({
        partitionIndex: partition.partitionIndex,
        errorCode: error,
      })),
    })),
  });
  if (!check.can(Op.WRITE, Type.TRANSACTIONAL_ID, request.transactionalId))
    return { answer: everyPartition(TXN_DENIED) };
  if (!check.can(Op.READ, Type.GROUP, request.groupId)) return { answer: everyPartition(GROUP_DENIED) };
  return readTopicPartitions(input);
};

const deleteRecords = topicPartitionsGuard({
  operation: Op.DELETE,
  ...TOPICS_AND_PARTITIONS,
  extra: { lowWatermark: -1n },
});

const offsetForLeaderEpoch: Guard = (input) => {
  // Kafka (KIP-320) lets CLUSTER_ACTION on the cluster (followers) through whole, else DESCRIBE per
  // topic, whatever the replica id says: a client cannot claim to be a follower.
  const { request, check } = input;
  if (check.cluster(Op.CLUSTER_ACTION)) return pass(request);
  const [kept, refused] = split<Loose>(request.topics ?? [], (topic) =>
    check.can(Op.DESCRIBE, Type.TOPIC, topic.topic),
  );
  const entries = refused.map((topic) => ({
    topic: topic.topic,
    partitions: topic.partitions.map((partition: Loose) => ({
      partition: partition.partition,
      errorCode: TOPIC_DENIED,
      leaderEpoch: -1,
      endOffset: -1n,
    })),
  }));
  return { request: { ...request, topics: kept }, finish: appending('topics', entries) };
};

const offsetDelete: Guard = (input) => {
  const { request, check } = input;
  if (!check.can(Op.DELETE, Type.GROUP, request.groupId))
    return { answer: { errorCode: GROUP_DENIED, topics: [] } };
  return readTopicPartitions(input);
};

const describeProducers = itemsGuard<Loose>({
  field: 'topics',
  operation: Op.READ,
  resourceType: Type.TOPIC,
  nameOf: (topic) => topic.name,
  responseField: 'topics',
  refusal: (topic) => ({
    name: topic.name,
    partitions: topic.partitionIndexes.map((partitionIndex: number) => ({
      partitionIndex,
      errorCode: TOPIC_DENIED,
      errorMessage: null,
      activeProducers: [],
    })),
  }),
});

const describeTransactions = itemsGuard<string>({
  field: 'transactionalIds',
  operation: Op.DESCRIBE,
  resourceType: Type.TRANSACTIONAL_ID,
  nameOf: (transactionalId) => transactionalId,
  responseField: 'transactionStates',
  refusal: (transactionalId) => ({
    errorCode: TXN_DENIED,
    transactionalId,
    transactionState: '',
    transactionTimeoutMs: 0,
    transactionStartTimeMs: -1n,
    producerId: -1n,
    producerEpoch: -1,
    topics: [],
  }),
});

const describableTransactions = responseFilter(
  'transactionStates',
  Op.DESCRIBE,
  Type.TRANSACTIONAL_ID,
  (state) => state.transactionalId,
);

/** ListTransactions lists only the transactional ids the principal may describe. */
const listTransactions: Guard = ({ request, check }) => ({ request, finish: describableTransactions(check) });

const consumerGroupDescribe: Guard = withGroupOperations(
  itemsGuard<string>({
    field: 'groupIds',
    operation: Op.DESCRIBE,
    resourceType: Type.GROUP,
    nameOf: (groupId) => groupId,
    responseField: 'groups',
    refusal: (groupId) => ({
      errorCode: GROUP_DENIED,
      errorMessage: null,
      groupId,
      groupState: '',
      groupEpoch: -1,
      assignmentEpoch: -1,
      assignorName: '',
      members: [],
    }),
  }),
);

/** DescribeCluster needs no ACL; its cluster bit field is filled when asked for. */
const describeCluster: Guard = ({ request, check }) =>
  request.includeClusterAuthorizedOperations === true
    ? {
        request,
        finish: (response) => ({ ...response, clusterAuthorizedOperations: clusterOperations(check) }),
      }
    : pass(request);

/** Config resources: topics (2) need the operation on the topic, brokers (4) and loggers (8) on the cluster. */
function configsGuard(operation: number, responseField: string, entry: Body): Guard {
  return ({ request, check }) => {
    const [kept, refused] = split<Loose>(request.resources ?? [], (resource) =>
      resource.resourceType === 2
        ? check.can(operation, Type.TOPIC, resource.resourceName)
        : resource.resourceType === 4 || resource.resourceType === 8
          ? check.cluster(operation)
          : true,
    );
    const entries = refused.map((resource) => ({
      ...entry,
      errorCode: resource.resourceType === 2 ? TOPIC_DENIED : CLUSTER_DENIED,
      errorMessage: null,
      resourceType: resource.resourceType,
      resourceName: resource.resourceName,
    }));
    return { request: { ...request, resources: kept }, finish: appending(responseField, entries) };
  };
}

/** An API for the cluster's operators: the whole request needs `operation` (one of them) on the cluster. */
function clusterOnly(operation: number | readonly number[], answer: (request: Loose) => Body): Guard {
  const operations = typeof operation === 'number' ? [operation] : operation;
  return ({ request, check }) =>
    operations.some((op) => check.cluster(op)) ? pass(request) : { answer: answer(request) };
}

/**
 * DescribeTopicPartitions (75): DESCRIBE per topic, as Kafka's handler checks it. Every topic (an
 * empty list): those the principal may not describe are left out; named ones are answered
 * TOPIC_AUTHORIZATION_FAILED without their partitions.
 */
const describeTopicPartitions: Guard = ({ request, check }) => {
  const describable = (name: string): boolean => check.can(Op.DESCRIBE, Type.TOPIC, name);
  const named: Loose[] = request.topics ?? [];
  if (named.length === 0) {
    return {
      request,
      finish: (response) => ({
        ...response,
        topics: ((response.topics as Loose[]) ?? []).filter((topic) => describable(topic.name)),
      }),
    };
  }
  const refused = new Set(named.map((topic) => topic.name as string).filter((name) => !describable(name)));
  if (refused.size === 0) return pass(request);
  return {
    request,
    finish: (response) => ({
      ...response,
      topics: ((response.topics as Loose[]) ?? []).map((topic) =>
        refused.has(topic.name)
          ? { ...topic, errorCode: TOPIC_DENIED, topicId: ZERO_UUID, isInternal: false, partitions: [] }
          : topic,
      ),
    }),
  };
};

const GUARDS: ReadonlyMap<number, Guard> = new Map<number, Guard>([
  [0, produce],
  [1, fetch],
  [2, listOffsets],
  [3, metadata],
  [8, offsetCommit],
  [9, offsetFetch],
  [10, findCoordinator],
  // Kafka answers a refused JoinGroup with generation -1 and an empty member id.
  [11, groupRead(() => ({ generationId: -1, memberId: '' }))],
  [12, groupRead(() => ({}))],
  [13, groupRead(() => ({}))],
  [14, groupRead(() => ({}))],
  [15, describeGroups],
  [16, listGroups],
  [19, createTopics],
  [20, deleteTopics],
  [21, deleteRecords],
  [22, initProducerId],
  [23, offsetForLeaderEpoch],
  [24, addPartitionsToTxn],
  [25, addOffsetsToTxn],
  [26, endTxn],
  // WriteTxnMarkers is broker to broker: Kafka requires ALTER on the cluster (an operator aborting a
  // hanging transaction, KIP-664) or else CLUSTER_ACTION (the inter-broker principal).
  [
    27,
    clusterOnly([Op.ALTER, Op.CLUSTER_ACTION], (request) => ({
      markers: (request.markers ?? []).map((marker: Loose) => ({
        producerId: marker.producerId,
        topics: (marker.topics ?? []).map((topic: Loose) => ({
          name: topic.name,
          partitions: (topic.partitionIndexes ?? []).map((partitionIndex: number) => ({
            partitionIndex,
            errorCode: CLUSTER_DENIED,
          })),
        })),
      })),
    })),
  ],
  [28, txnOffsetCommit],
  [29, clusterOnly(Op.DESCRIBE, () => ({ errorCode: CLUSTER_DENIED, errorMessage: null, resources: [] }))],
  [
    30,
    clusterOnly(Op.ALTER, (request) => ({
      results: (request.creations ?? []).map(() => ({ errorCode: CLUSTER_DENIED, errorMessage: null })),
    })),
  ],
  [
    31,
    clusterOnly(Op.ALTER, (request) => ({
      filterResults: (request.filters ?? []).map(() => ({
        errorCode: CLUSTER_DENIED,
        errorMessage: null,
        matchingAcls: [],
      })),
    })),
  ],
  [32, configsGuard(Op.DESCRIBE_CONFIGS, 'results', { configs: [] })],
  [33, configsGuard(Op.ALTER_CONFIGS, 'responses', {})],
  [35, clusterOnly(Op.DESCRIBE, () => ({ errorCode: CLUSTER_DENIED, results: [] }))],
  [37, createPartitions],
  [42, deleteGroups],
  // Kafka's controller checks ALTER on the cluster for ElectLeaders and refuses the whole request
  // (ElectLeadersRequest.getErrorResponse: the code at the top and on every partition named).
  [
    43,
    clusterOnly(Op.ALTER, (request) => ({
      errorCode: CLUSTER_DENIED,
      replicaElectionResults: (request.topicPartitions ?? []).map((topic: Loose) => ({
        topic: topic.topic,
        partitionResult: (topic.partitions ?? []).map((partitionId: number) => ({
          partitionId,
          errorCode: CLUSTER_DENIED,
          errorMessage: 'Cluster authorization failed.',
        })),
      })),
    })),
  ],
  [44, configsGuard(Op.ALTER_CONFIGS, 'responses', {})],
  // Kafka's controller checks ALTER on the cluster for AlterPartitionReassignments (whole request refused).
  [
    45,
    clusterOnly(Op.ALTER, (request) => ({
      errorCode: CLUSTER_DENIED,
      errorMessage: 'Cluster authorization failed.',
      responses: (request.topics ?? []).map((topic: Loose) => ({
        name: topic.name,
        partitions: (topic.partitions ?? []).map((partition: Loose) => ({
          partitionIndex: partition.partitionIndex,
          errorCode: CLUSTER_DENIED,
          errorMessage: 'Cluster authorization failed.',
        })),
      })),
    })),
  ],
  // Kafka's controller checks DESCRIBE on the cluster for ListPartitionReassignments.
  [
    46,
    clusterOnly(Op.DESCRIBE, () => ({
      errorCode: CLUSTER_DENIED,
      errorMessage: 'Cluster authorization failed.',
      topics: [],
    })),
  ],
  [47, offsetDelete],
  // Client quotas: DESCRIBE_CONFIGS / ALTER_CONFIGS on the cluster, as Kafka's KafkaApis and ControllerApis.
  [
    48,
    clusterOnly(Op.DESCRIBE_CONFIGS, () => ({
      errorCode: CLUSTER_DENIED,
      errorMessage: 'Cluster authorization failed.',
      entries: null,
    })),
  ],
  [
    49,
    clusterOnly(Op.ALTER_CONFIGS, (request) => ({
      entries: (request.entries ?? []).map((entry: Loose) => ({
        errorCode: CLUSTER_DENIED,
        errorMessage: 'Cluster authorization failed.',
        entity: entry.entity,
      })),
    })),
  ],
  [50, clusterOnly(Op.DESCRIBE, () => ({ errorCode: CLUSTER_DENIED, errorMessage: null, results: [] }))],
  // Kafka's controller checks DESCRIBE on the cluster for DescribeQuorum (its top-level error).
  [
    55,
    clusterOnly(Op.DESCRIBE, () => ({
      errorCode: CLUSTER_DENIED,
      errorMessage: 'Cluster authorization failed.',
      topics: [],
      nodes: [],
    })),
  ],
  [
    51,
    clusterOnly(Op.ALTER, (request) => ({
      results: [...(request.deletions ?? []), ...(request.upsertions ?? [])].map((change: Loose) => ({
        user: change.name,
        errorCode: CLUSTER_DENIED,
        errorMessage: null,
      })),
    })),
  ],
  [60, describeCluster],
  [61, describeProducers],
  [65, describeTransactions],
  [66, listTransactions],
  [68, groupRead(() => ({ memberEpoch: -1, heartbeatIntervalMs: 0 }))],
  [69, consumerGroupDescribe],
  // Kafka 4.1.1's KafkaApis: DESCRIBE_CONFIGS on the cluster, else the whole answer refused.
  [74, clusterOnly(Op.DESCRIBE_CONFIGS, () => ({ errorCode: CLUSTER_DENIED, configResources: [] }))],
  [75, describeTopicPartitions],
]);

/** The API keys this module authorizes (the others are served to every authenticated principal). */
export const AUTHORIZED_API_KEYS: readonly number[] = [...GUARDS.keys()];

/**
 * Authorizes one request for `who`. Without an authorizer installed (no `authorizer.class.name`),
 * the request passes unchanged.
 */
export function authorizeRequest(
  apiKey: number,
  version: number,
  request: Body,
  who: RequestPrincipal,
  broker: BrokerServices,
): Authorized {
  const authorizer = broker.slots.get(AUTHORIZER);
  const guard = GUARDS.get(apiKey);
  if (authorizer === undefined || guard === undefined) return pass(request);
  const check: Check = {
    can: (operation, resourceType, name) => authorizer.authorize(who, operation, resourceType, name),
    cluster: (operation) => authorizer.authorize(who, operation, Type.CLUSTER, CLUSTER_NAME),
    anyOfType: (operation, resourceType) => authorizer.authorizeByResourceType(who, operation, resourceType),
  };
  return guard({ request, version, check, broker });
}
