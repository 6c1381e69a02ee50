/**
 * Random but schema-valid request bodies, built by walking the protocol core's schemas
 * (src/protocol/apis) for one (API key, version). Values are drawn to be meaningful often enough to
 * reach the broker's deeper paths: topic names and ids from pools (so requests hit real partitions),
 * timeouts kept short (so a valid request never parks a connection for long), and Produce records
 * built as real RecordBatch v2 bytes with src/records.
 *
 * The protected topic (the records written first and checked at the end) appears only in requests of
 * read-only APIs, so whatever a valid request may legitimately do (delete, truncate, reconfigure),
 * those records must survive.
 */
import { encodeRequest, getApi, ZERO_UUID } from '../src/protocol/index.ts';
import { type FieldDef, type FieldType, inRange, type StructType } from '../src/protocol/schema.ts';
import { Compression, encodeRecordBatch, type RecordSpec } from '../src/records/index.ts';
import type { Prng } from './prng.ts';

/** APIs that only read: the only ones whose requests may name the protected topic. */
export const READ_ONLY_API_KEYS: ReadonlySet<number> = new Set([
  1, 2, 3, 9, 15, 16, 23, 32, 35, 60, 61, 65, 66, 69,
]);

export interface Pools {
  /** Topics any request may name (created, deleted, reconfigured at will). */
  readonly fuzzTopics: readonly string[];
  /** The topic holding the records checked at the end; read-only APIs only. */
  readonly protectedTopic: string;
  /** Topic ids: those of the fuzz topics known at start; the protected one for read-only APIs. */
  readonly fuzzTopicIds: readonly string[];
  readonly protectedTopicId: string;
  readonly groups: readonly string[];
}

/** One generated request: its header fields, body, and the bytes (size prefix included). */
export interface GeneratedRequest {
  readonly apiKey: number;
  readonly apiVersion: number;
  readonly correlationId: number;
  readonly bytes: Uint8Array;
  /** Produce with acks=0: the broker sends no response. */
  readonly expectsResponse: boolean;
  /** What was done to the record batches inside (a Produce), if anything: 'bad-crc', … */
  readonly batchMutation: string | null;
  /** Produce partitions (named once in the request) whose records were corrupted: each must get an error. */
  readonly corruptPartitions: readonly { topic: string; index: number }[];
}

const BOUNDARY_INT32 = [0, -1, 1, 2 ** 31 - 1, -(2 ** 31), 0x7fff, -0x8000, 255];
const CONFIG_NAMES = [
  'retention.ms',
  'retention.bytes',
  'segment.bytes',
  'segment.ms',
  'cleanup.policy',
  'max.message.bytes',
  'delete.retention.ms',
  'message.timestamp.type',
  'compression.type',
  'min.insync.replicas',
  'fuzz.unknown.config',
];
const CONFIG_VALUES = [
  '1',
  '0',
  '-1',
  '100',
  '1048576',
  'delete',
  'compact',
  'compact,delete',
  'LogAppendTime',
  'zstd',
  'x',
];
const COMPRESSIONS = [
  Compression.none,
  Compression.gzip,
  Compression.snappy,
  Compression.lz4,
  Compression.zstd,
];
/** How deep arrays nest before they are kept to one element (bounds request size). */
const ARRAY_DEPTH_FULL = 2;
const ARRAY_LENGTH_MAX = 3;
const RECORD_VALUE_BYTES_MAX = 4096;

interface Walk {
  readonly prng: Prng;
  readonly version: number;
  readonly topics: readonly string[];
  readonly topicIds: readonly string[];
  readonly pools: Pools;
  /** Record batches to build after the walk (encoding is async): the object and its key. */
  readonly batches: { holder: Record<string, unknown>; key: string }[];
  /** The partition objects whose records were corrupted. */
  readonly corrupted: Set<Record<string, unknown>>;
}

function randomString(prng: Prng, maxLength: number): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789._-';
  let out = '';
  const length = prng.int(0, maxLength);
  for (let i = 0; i < length; i++) out += alphabet[prng.int(0, alphabet.length - 1)];
  if (prng.chance(0.05)) out += 'é\u0000☃';
  return out;
}

function smallInt(prng: Prng): number {
  if (prng.chance(0.1)) return prng.pick(BOUNDARY_INT32);
  return prng.int(-1, 5);
}

/** Wraps a drawn integer into what the field's type can carry, so the value we reason about is the one sent. */
function fitType(value: number, type: string): number {
  switch (type) {
    case 'int8':
      return (value << 24) >> 24;
    case 'int16':
      return (value << 16) >> 16;
    case 'uint16':
      return value & 0xffff;
    case 'uint32':
      return value >>> 0;
    default:
      return value | 0;
  }
}

function intFor(walk: Walk, name: string, type: string): number {
  return fitType(drawInt(walk, name, type), type);
}

function drawInt(walk: Walk, name: string, type: string): number {
  const { prng } = walk;
  const lower = name.toLowerCase();
  if (/timeout|wait|delay|ms$/.test(lower)) return prng.chance(0.05) ? -1 : prng.int(0, 300);
  if (lower === 'acks') return prng.chance(0.05) ? smallInt(prng) : prng.pick([-1, 0, 1]);
  if (lower === 'replicationfactor') return prng.pick([-1, 1, 1, 2]);
  if (lower === 'numpartitions' || lower === 'count')
    return prng.chance(0.1) ? smallInt(prng) : prng.int(-1, 6);
  if (lower === 'resourcetype') return prng.chance(0.9) ? 2 : prng.pick([4, 8, 0, 99]);
  if (lower.includes('bytes')) return prng.chance(0.1) ? prng.pick(BOUNDARY_INT32) : prng.int(0, 1 << 20);
  if (type === 'int8') return prng.int(-2, 3);
  if (type === 'uint16') return prng.int(0, 0xffff);
  if (type === 'uint32') return prng.uint32();
  return smallInt(prng);
}

function int64For(walk: Walk, name: string): bigint {
  const { prng } = walk;
  if (prng.chance(0.05)) return prng.pick([-(2n ** 63n), 2n ** 63n - 1n, -1n, 0n]);
  if (/timestamp/i.test(name)) return prng.chance(0.5) ? BigInt(Date.now()) : BigInt(prng.int(-3, 5));
  return BigInt(prng.int(-2, 200));
}

function stringFor(walk: Walk, structName: string, name: string): string {
  const { prng } = walk;
  const lower = name.toLowerCase();
  if (prng.chance(0.03)) return randomString(prng, 40);
  if (
    lower === 'topic' ||
    lower === 'topicname' ||
    lower === 'topicnames' ||
    (lower === 'name' && /topic|partition/i.test(structName))
  ) {
    return prng.pick(walk.topics);
  }
  if (lower === 'resourcename') return prng.chance(0.8) ? prng.pick(walk.topics) : prng.pick(['1', '0', '']);
  if (/config|alterable|creatable.*config/i.test(structName) && (lower === 'name' || lower === 'key')) {
    return prng.pick(CONFIG_NAMES);
  }
  if (lower === 'value' && /config/i.test(structName)) return prng.pick(CONFIG_VALUES);
  if (lower.includes('group')) return prng.pick(walk.pools.groups);
  if (lower === 'protocoltype') return prng.pick(['consumer', '', 'x']);
  if (lower === 'mechanism') return prng.pick(['PLAIN', 'SCRAM-SHA-256', 'GSSAPI', '']);
  return randomString(prng, 12);
}

function primitiveFor(
  walk: Walk,
  structName: string,
  def: FieldDef,
  type: string,
  holder: Record<string, unknown>,
): unknown {
  const { prng } = walk;
  switch (type) {
    case 'int8':
    case 'int16':
    case 'int32':
    case 'uint16':
    case 'uint32':
      return intFor(walk, def.name, type);
    case 'int64':
      return int64For(walk, def.name);
    case 'float64':
      return prng.pick([0, 1.5, -1, Number.NaN, 1e308]);
    case 'bool':
      return prng.chance(0.5);
    case 'string':
      return stringFor(walk, structName, def.name);
    case 'uuid':
      return prng.chance(0.7) && walk.topicIds.length > 0
        ? prng.pick(walk.topicIds)
        : prng.chance(0.5)
          ? ZERO_UUID
          : Buffer.from(prng.bytes(16)).toString('base64url');
    case 'bytes':
      return prng.bytes(prng.int(0, 32));
    case 'records':
      walk.batches.push({ holder, key: def.name });
      return null;
    default:
      throw new Error(`no generator for ${type}`);
  }
}

function fieldValue(
  walk: Walk,
  structName: string,
  def: FieldDef,
  type: FieldType,
  depth: number,
  holder: Record<string, unknown>,
): unknown {
  if (typeof type === 'string') return primitiveFor(walk, structName, def, type, holder);
  if (type.kind === 'struct') return structValue(walk, type, depth + 1);
  const length = depth > ARRAY_DEPTH_FULL ? walk.prng.int(0, 1) : walk.prng.int(0, ARRAY_LENGTH_MAX);
  const items: unknown[] = [];
  for (let i = 0; i < length; i++) {
    // Array items of primitive type share the field's name for the heuristics (e.g. topicNames).
    const slot: Record<string, unknown> = {};
    const item = fieldValue(walk, structName, def, type.items, depth + 1, slot);
    items.push(item);
    if (typeof type.items === 'string' && type.items === 'records') walk.batches.pop();
  }
  return items;
}

function structValue(walk: Walk, type: StructType, depth: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const def of type.fields) {
    if (!inRange(def.versions, walk.version)) continue;
    if (inRange(def.nullableVersions, walk.version) && walk.prng.chance(0.08)) {
      out[def.name] = null;
      continue;
    }
    out[def.name] = fieldValue(walk, type.name, def, def.type, depth, out);
  }
  // A config change on a non-topic resource (the broker's own configs) gets names no broker knows,
  // so a valid request cannot change defaults the protected topic inherits.
  if (typeof out.resourceType === 'number' && out.resourceType !== 2) {
    for (const key of ['configs', 'resources']) {
      const configs = out[key];
      if (Array.isArray(configs))
        for (const c of configs)
          if (c && typeof c === 'object') (c as Record<string, unknown>).name = 'fuzz.broker.unknown';
    }
  }
  return out;
}

async function randomBatch(prng: Prng): Promise<Buffer> {
  const count = prng.int(1, 5);
  const now = Date.now();
  const records: RecordSpec[] = [];
  for (let i = 0; i < count; i++) {
    const valueBytes = prng.chance(0.05) ? prng.int(0, 64 * 1024) : prng.int(0, RECORD_VALUE_BYTES_MAX);
    records.push({
      timestamp: prng.chance(0.9) ? now + prng.int(-1000, 1000) : prng.pick([-1, 0, 2 ** 50]),
      key: prng.chance(0.3) ? null : prng.bytes(prng.int(0, 16)),
      value: prng.chance(0.05) ? null : prng.bytes(valueBytes),
      headers: prng.chance(0.3)
        ? [{ key: randomString(prng, 8), value: Buffer.from(prng.bytes(prng.int(0, 8))) }]
        : [],
    });
  }
  const idempotent = prng.chance(0.15);
  return encodeRecordBatch({
    compression: prng.pick(COMPRESSIONS),
    records,
    producerId: idempotent ? prng.int(0, 5) : -1,
    producerEpoch: idempotent ? prng.int(0, 2) : -1,
    baseSequence: idempotent ? prng.int(0, 10) : -1,
    transactional: prng.chance(0.03),
  });
}

/** Batch-level corruptions: the request stays schema-valid, so the broker must still answer it. */
const BATCH_MUTATIONS = ['bad-crc', 'batch-length', 'record-count', 'magic', 'truncated-batch'] as const;

function mutateBatch(prng: Prng, batch: Buffer): { bytes: Buffer; mutation: string } {
  const mutation = prng.pick(BATCH_MUTATIONS);
  const bytes = Buffer.from(batch);
  switch (mutation) {
    case 'bad-crc': {
      const position = prng.int(21, bytes.length - 1);
      bytes[position] = bytes[position]! ^ (1 << prng.int(0, 7));
      return { bytes, mutation };
    }
    case 'batch-length':
      bytes.writeInt32BE(prng.pick([-1, 0, 1, 2 ** 31 - 1, bytes.length, 48]), 8);
      return { bytes, mutation };
    case 'record-count':
      // Count is covered by the CRC: recomputing it would need src/records; leaving it wrong is also a case.
      bytes.writeInt32BE(prng.pick([-1, 0, 2 ** 31 - 1, 1000]), 57);
      return { bytes, mutation };
    case 'magic':
      bytes[16] = prng.pick([0, 1, 3, 255]);
      return { bytes, mutation };
    default:
      return { bytes: bytes.subarray(0, prng.int(0, bytes.length - 1)), mutation };
  }
}

/** Builds the records of every Produce partition found during the walk. */
async function fillBatches(walk: Walk): Promise<string | null> {
  let applied: string | null = null;
  for (const { holder, key } of walk.batches) {
    const { prng } = walk;
    if (prng.chance(0.03)) continue; // null records
    let bytes = await randomBatch(prng);
    if (prng.chance(0.1)) bytes = Buffer.concat([bytes, await randomBatch(prng)]);
    if (prng.chance(0.12)) {
      const mutated = mutateBatch(prng, bytes);
      bytes = mutated.bytes;
      applied = mutated.mutation;
      walk.corrupted.add(holder);
    }
    holder[key] = bytes;
  }
  return applied;
}

/** A valid request of `apiKey`/`apiVersion`, drawn from `prng`. */
export async function generateRequest(
  prng: Prng,
  apiKey: number,
  apiVersion: number,
  correlationId: number,
  pools: Pools,
): Promise<GeneratedRequest> {
  const api = getApi(apiKey);
  if (api === undefined) throw new RangeError(`unknown API key ${apiKey}`);
  const readOnly = READ_ONLY_API_KEYS.has(apiKey);
  const walk: Walk = {
    prng,
    version: apiVersion,
    topics: readOnly ? [...pools.fuzzTopics, pools.protectedTopic, pools.protectedTopic] : pools.fuzzTopics,
    topicIds: readOnly ? [...pools.fuzzTopicIds, pools.protectedTopicId] : pools.fuzzTopicIds,
    pools,
    batches: [],
    corrupted: new Set(),
  };
  const body = structValue(walk, api.request, 0);
  const batchMutation = await fillBatches(walk);
  const clientId = prng.chance(0.9) ? 'kstack-fuzz' : prng.chance(0.5) ? null : randomString(prng, 30);
  const bytes = encodeRequest(
    { requestApiKey: apiKey, requestApiVersion: apiVersion, correlationId, clientId },
    body,
  );
  const expectsResponse = !(apiKey === 0 && body.acks === 0);
  const corruptPartitions = walk.corrupted.size === 0 ? [] : corruptedPartitionsOf(body, walk.corrupted);
  return { apiKey, apiVersion, correlationId, bytes, expectsResponse, batchMutation, corruptPartitions };
}

/**
 * The (topic, partition) pairs of a Produce body holding corrupted records, if named only once; the
 * topic is its name, or its id from v13 on (KIP-516: topics named by id alone).
 */
function corruptedPartitionsOf(
  body: Record<string, unknown>,
  corrupted: ReadonlySet<Record<string, unknown>>,
): { topic: string; index: number }[] {
  const seen = new Map<string, number>();
  const found: { topic: string; index: number }[] = [];
  type TopicData = { name?: string; topicId?: string; partitionData: Record<string, unknown>[] };
  for (const topic of (body.topicData as TopicData[]) ?? []) {
    // The walk fills only the fields of the version: `name` up to v12, `topicId` from v13.
    const name = topic.name ?? topic.topicId ?? '';
    for (const partition of topic.partitionData ?? []) {
      const key = `${name}\u0000${partition.index}`;
      seen.set(key, (seen.get(key) ?? 0) + 1);
      if (corrupted.has(partition)) found.push({ topic: name, index: partition.index as number });
    }
  }
  return found.filter((p) => seen.get(`${p.topic}\u0000${p.index}`) === 1);
}
