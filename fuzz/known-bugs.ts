/**
 * Broker bugs the fuzzer has found and that are still open (see fuzz/FINDINGS.md). With
 * `--skip-known`, iterations whose valid request matches one are skipped (and counted as skipped),
 * so a long exploratory run can look past them. CI runs without it: an open bug fails CI.
 */
import { decodeRequest } from '../src/protocol/index.ts';

export interface KnownBug {
  readonly id: string;
  readonly summary: string;
  /** Whether this decoded request (api key, version, body) would trigger the bug. */
  matches(apiKey: number, apiVersion: number, body: Record<string, unknown>): boolean;
}

export const KNOWN_BUGS: readonly KnownBug[] = [
  {
    id: 'F1',
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
    summary:
      "DeleteTopics v0-v5 naming a topic '': the answer carries a null name, which v0-v5 cannot encode, so the broker closes the connection",
    matches: (apiKey, apiVersion, body) =>
      apiKey === 20 && apiVersion < 6 && Array.isArray(body.topicNames) && body.topicNames.includes(''),
  },
  {
    id: 'F3',
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
];

/** The known bug a request frame (size prefix included) triggers, if any. */
export function knownBugOf(bytes: Uint8Array): KnownBug | null {
  try {
    const { header, body } = decodeRequest(bytes.subarray(4));
    return (
      KNOWN_BUGS.find((bug) => bug.matches(header.requestApiKey, header.requestApiVersion, body)) ?? null
    );
  } catch {
    return null;
  }
}
