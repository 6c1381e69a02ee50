/**
 * Broker bugs the fuzzer has found and that are still open (see fuzz/FINDINGS.md). With
 * `--skip-known`, iterations whose valid request matches one are skipped (and counted as skipped),
 * so a long exploratory run can look past them. CI runs without it: an open bug fails CI.
 */
import { decodeRequest } from '../src/protocol/index.ts';

/** Kafka's bound on the partitions one CreateTopics or CreatePartitions request may create. */
const PARTITIONS_PER_REQUEST_MAX = 10_000;

export interface KnownBug {
  readonly id: string;
  readonly summary: string;
  /** The commit that fixed it, or null while it is open. Only open bugs are skipped. */
  readonly fixedIn: string | null;
  /** Whether this decoded request (api key, version, body) would trigger the bug. */
  matches(apiKey: number, apiVersion: number, body: Record<string, unknown>): boolean;
}

export const KNOWN_BUGS: readonly KnownBug[] = [
  {
    id: 'F1',
    fixedIn: 'abbbfae',
    summary:
      "Metadata v0-v11 asking for a topic named '' or null: the answer carries a null name, which v0-v11 cannot encode, so the broker closes the connection",
    matches: (apiKey, apiVersion, body) =>
      apiKey === 3 &&
      apiVersion < 12 &&
      Array.isArray(body.topics) &&
      body.topics.some((t) => {
        const name = (t as { name?: unknown }).name;
        return name === '' || name === null;
      }),
  },
  {
    id: 'F2',
    fixedIn: 'abbbfae',
    summary:
      "DeleteTopics v0-v5 naming a topic '': the answer carries a null name, which v0-v5 cannot encode, so the broker closes the connection",
    matches: (apiKey, apiVersion, body) =>
      apiKey === 20 && apiVersion < 6 && Array.isArray(body.topicNames) && body.topicNames.includes(''),
  },
  {
    id: 'F3',
    fixedIn: '57967dc',
    summary:
      'CreateTopics with explicit assignments whose partition indexes are not 0..n-1 (a gap, a duplicate, a negative one): a TypeError in the broker closes the connection',
    matches: (apiKey, _apiVersion, body) =>
      apiKey === 19 &&
      Array.isArray(body.topics) &&
      body.topics.some((t) => {
        const assignments = (t as { assignments?: { partitionIndex: number }[] }).assignments ?? [];
        const indexes = new Set(assignments.map((a) => a.partitionIndex));
        return assignments.some((_, i) => !indexes.has(i));
      }),
  },
  {
    id: 'F4',
    fixedIn: 'd497ba6',
    summary:
      'IncrementalAlterConfigs APPEND/SUBTRACT making cleanup.policy invalid (empty after SUBTRACT, "delete," after APPEND of null): a RangeError from storage closes the connection instead of an INVALID_CONFIG answer',
    matches: (apiKey, _apiVersion, body) =>
      apiKey === 44 &&
      Array.isArray(body.resources) &&
      body.resources.some((r) =>
        (
          (r as { configs?: { name: string; configOperation: number; value: string | null }[] }).configs ?? []
        ).some(
          (c) =>
            c.name === 'cleanup.policy' &&
            (c.configOperation === 2 || c.configOperation === 3 || c.value === ''),
        ),
      ),
  },
  {
    id: 'F5',
    fixedIn: 'e615915',
    summary:
      'CreateTopics or CreatePartitions asking for a huge partition count (e.g. 100000, 32767, 2^31-1): the broker creates them one by one and stops answering everyone for minutes (Kafka refuses more than 10,000 new partitions per request with POLICY_VIOLATION)',
    matches: (apiKey, _apiVersion, body) => {
      const topics = (body.topics ?? []) as { numPartitions?: number; count?: number }[];
      if (apiKey === 19) return topics.some((t) => (t.numPartitions ?? 0) > PARTITIONS_PER_REQUEST_MAX);
      if (apiKey === 37) return topics.some((t) => (t.count ?? 0) > PARTITIONS_PER_REQUEST_MAX);
      return false;
    },
  },
];

/** The open known bug a request frame (size prefix included) triggers, if any. */
export function knownBugOf(bytes: Uint8Array): KnownBug | null {
  try {
    const { header, body } = decodeRequest(bytes.subarray(4));
    return (
      KNOWN_BUGS.find(
        (bug) => bug.fixedIn === null && bug.matches(header.requestApiKey, header.requestApiVersion, body),
      ) ?? null
    );
  } catch {
    return null;
  }
}
