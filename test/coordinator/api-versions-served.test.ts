/**
 * Every API that `kstack up` advertises in ApiVersions is served at its advertised maximum
 * version: a request of each (its schema's default body, on a connection of its own) gets an
 * answer, never UNSUPPORTED_VERSION anywhere in it, and the connection stays open. A client
 * that trusts ApiVersions (franz-go's kgo picks the highest common version of each API) must
 * never be refused what was offered: its transactional test hung on exactly that.
 */
import assert from 'node:assert/strict';
import type net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { FEATURES, missingApis } from '../../src/coordinator/features.ts';
import {
  decodeResponse,
  defaultStruct,
  defaultValue,
  ErrorCode,
  encodeRequest,
  type FieldType,
  getApi,
  type MessageValue,
  type StructType,
  ZERO_UUID,
} from '../../src/protocol/index.ts';
import { BrokerProcess, closedWithin, connect, FrameReader } from '../engine/broker-process.ts';

const PORT = 21200;
/** Generous on a loaded 2-core machine: every answer here is immediate on a quiet one. */
const ANSWER_TIMEOUT_MS = 60_000;

/**
 * Bodies whose defaults would not get an answer at all, or would wait: Produce with acks=0 is
 * never answered, and a Fetch long-polls up to maxWaitMs (0 by default, kept explicit here).
 */
const BODY_OVERRIDES: ReadonlyMap<number, MessageValue> = new Map<number, MessageValue>([
  [0, { acks: -1, timeoutMs: 1000 }],
  [1, { maxWaitMs: 0, replicaId: -1 }],
  [17, { mechanism: 'PLAIN' }],
  // Kafka answers an unknown quota entity type (the probe's name) with UNSUPPORTED_VERSION itself.
  [48, { components: [{ entityType: 'client-id', matchType: 2, match: null }], strict: false }],
  // So does ListConfigResources for an unknown resource type (the probe's 0); 32 lists groups.
  [74, { resourceTypes: [32] }],
]);

/** A string that names nothing yet: topics, groups and ids the probes create or look up. */
const PROBE_NAME = 'api-versions-probe';

function probeItem(type: FieldType): unknown {
  if (typeof type === 'string') {
    if (type === 'string') return PROBE_NAME;
    if (type === 'int64') return 0n;
    if (type === 'uuid') return ZERO_UUID;
    if (type === 'bool') return false;
    if (type === 'bytes') return new Uint8Array(0);
    return 0;
  }
  if (type.kind === 'array') return [probeItem(type.items)];
  return probeStruct(type);
}

/**
 * A body whose every array holds one element (structs built the same way) and whose empty-string
 * defaults name PROBE_NAME, so each handler's per-topic, per-group or per-id path runs; nullable
 * fields stay null (their "all" or "unchanged" meaning) and numbers keep their defaults.
 */
function probeStruct(type: StructType): MessageValue {
  const value: MessageValue = {};
  for (const def of type.fields) {
    const fallback = defaultValue(def);
    if (fallback === null) value[def.name] = null;
    else if (typeof def.type !== 'string') value[def.name] = probeItem(def.type);
    else if (def.type === 'string' && fallback === '') value[def.name] = PROBE_NAME;
    else value[def.name] = fallback;
  }
  return value;
}

/** Every `errorCode` field in a decoded value, with its path. */
function errorCodes(value: unknown, path = 'body'): [string, number][] {
  if (Array.isArray(value)) return value.flatMap((item, i) => errorCodes(item, `${path}[${i}]`));
  if (value === null || typeof value !== 'object' || value instanceof Uint8Array) return [];
  const found: [string, number][] = [];
  for (const [key, inner] of Object.entries(value as MessageValue)) {
    if (key === 'errorCode' && typeof inner === 'number') found.push([`${path}.${key}`, inner]);
    else found.push(...errorCodes(inner, `${path}.${key}`));
  }
  return found;
}

async function roundTrip(apiKey: number, apiVersion: number, body: MessageValue): Promise<MessageValue> {
  const socket: net.Socket = await connect(PORT);
  socket.on('error', () => {});
  try {
    const reader = new FrameReader(socket);
    socket.write(
      encodeRequest(
        {
          requestApiKey: apiKey,
          requestApiVersion: apiVersion,
          correlationId: 42,
          clientId: 'api-versions-served',
        },
        body,
      ),
    );
    const [frame] = await reader.next(1, ANSWER_TIMEOUT_MS);
    const decoded = decodeResponse(apiKey, apiVersion, frame!);
    assert.equal(decoded.correlationId, 42);
    // The connection must still be open after the answer (a refusal by closing is a drop).
    assert.equal(await closedWithin(socket, 200), false, `API ${apiKey} v${apiVersion}: connection closed`);
    return decoded.body;
  } finally {
    socket.destroy();
  }
}

describe('ApiVersions advertises only what is served', { timeout: 600_000 }, () => {
  const broker = new BrokerProcess(PORT);
  let advertised: { apiKey: number; minVersion: number; maxVersion: number }[] = [];

  before(async () => {
    await broker.start(120_000);
    const body = await roundTrip(18, 3, { clientSoftwareName: 'test', clientSoftwareVersion: '1' });
    assert.equal(body.errorCode, 0);
    advertised = body.apiKeys as typeof advertised;
  });

  after(async () => {
    const code = await broker.stop();
    assert.equal(code, 0, broker.output);
    broker.removeData();
  });

  it('advertises a sorted list that includes the group and transaction APIs', () => {
    const keys = advertised.map((row) => row.apiKey);
    assert.deepEqual(
      keys,
      [...keys].sort((a, b) => a - b),
    );
    for (const key of [8, 9, 10, 11, 12, 13, 14, 22, 24, 25, 26, 27, 28])
      assert.ok(keys.includes(key), `API ${key}`);
  });

  it('finalizes a feature level only with every API it brings advertised (and so served, below)', async () => {
    const body = await roundTrip(18, 4, { clientSoftwareName: 'test', clientSoftwareVersion: '1' });
    assert.equal(body.errorCode, 0);
    assert.ok(
      (body.finalizedFeaturesEpoch as bigint) >= 0n,
      'a negative epoch makes clients ignore the features',
    );
    const finalized = body.finalizedFeatures as {
      name: string;
      maxVersionLevel: number;
      minVersionLevel: number;
    }[];
    const supported = body.supportedFeatures as { name: string; minVersion: number; maxVersion: number }[];
    assert.deepEqual(supported.map((row) => row.name).sort(), FEATURES.map((f) => f.name).sort());
    assert.ok(finalized.some((row) => row.name === 'metadata.version'));
    for (const row of finalized) {
      const definition = FEATURES.find((feature) => feature.name === row.name);
      assert.ok(definition, `finalized feature ${row.name} is one kstack defines`);
      assert.deepEqual(
        missingApis(definition, row.maxVersionLevel, advertised),
        [],
        `${row.name} ${row.maxVersionLevel}`,
      );
      assert.equal(supported.find((s) => s.name === row.name)?.maxVersion, row.maxVersionLevel);
    }
  });

  it('answers every advertised API at its maximum version without UNSUPPORTED_VERSION', async () => {
    const failures: string[] = [];
    for (const { apiKey, maxVersion } of advertised) {
      const api = getApi(apiKey);
      assert.ok(api, `API ${apiKey} advertised but has no schema`);
      const bodies = {
        default: { ...defaultStruct(api.request), ...BODY_OVERRIDES.get(apiKey) },
        probe: { ...probeStruct(api.request), ...BODY_OVERRIDES.get(apiKey) },
      };
      for (const [form, body] of Object.entries(bodies)) {
        try {
          const answer = await roundTrip(apiKey, maxVersion, body);
          for (const [path, code] of errorCodes(answer)) {
            if (code === ErrorCode.UNSUPPORTED_VERSION)
              failures.push(`${api.name} v${maxVersion} ${form}: ${path}`);
          }
        } catch (error) {
          failures.push(`${api.name} v${maxVersion} ${form}: ${(error as Error).message}`);
        }
      }
    }
    assert.deepEqual(failures, [], `refused after being advertised:\n${failures.join('\n')}`);
  });
});
