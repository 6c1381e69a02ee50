/**
 * The group protocol Schema Registry instances use to elect their leader, in Confluent's format so
 * that kstack's instances and Confluent's can share one group: protocol type `sr`, one protocol
 * named `v0`. Each member's JoinGroup metadata is its identity as JSON; the group leader (the member
 * the coordinator picked to assign, not necessarily the registry leader) gives every member the
 * same assignment JSON naming the registry leader. Sans I/O: bytes in, values out.
 */

export const GROUP_PROTOCOL_TYPE = 'sr';
export const GROUP_PROTOCOL_NAME = 'v0';
/** Confluent's `schema.registry.group.id` default. */
export const GROUP_ID_DEFAULT = 'schema-registry';
const IDENTITY_VERSION = 1;
const ASSIGNMENT_VERSION = 1;
/** Assignment error codes (Confluent's): none, and two members advertising the same URL. */
export const ASSIGNMENT_NO_ERROR = 0;
export const ASSIGNMENT_DUPLICATE_URLS = 1;

/** Who a registry instance is: where its HTTP API answers, and whether it may lead. */
export interface RegistryIdentity {
  readonly scheme: string;
  readonly host: string;
  readonly port: number;
  readonly leaderEligible: boolean;
}

export interface LeaderAssignment {
  readonly error: number;
  /** The Kafka member id of the registry leader; null when no member is eligible. */
  readonly leaderMemberId: string | null;
  readonly leader: RegistryIdentity | null;
}

export interface GroupMember {
  readonly memberId: string;
  readonly identity: RegistryIdentity;
}

export function identityUrl(identity: RegistryIdentity): string {
  return `${identity.scheme}://${identity.host}:${identity.port}`;
}

export function sameIdentity(a: RegistryIdentity | null, b: RegistryIdentity | null): boolean {
  if (a === null || b === null) return a === b;
  return identityUrl(a) === identityUrl(b) && a.leaderEligible === b.leaderEligible;
}

/** The identity as Confluent writes it (field names from its first, "master", era). */
function identityJson(identity: RegistryIdentity): Record<string, unknown> {
  return {
    version: IDENTITY_VERSION,
    host: identity.host,
    port: identity.port,
    master_eligibility: identity.leaderEligible,
    scheme: identity.scheme,
  };
}

export function encodeIdentity(identity: RegistryIdentity): Buffer {
  return Buffer.from(JSON.stringify(identityJson(identity)));
}

function identityFrom(value: unknown, where: string): RegistryIdentity {
  const v = value as Record<string, unknown> | null;
  if (v === null || typeof v !== 'object' || Array.isArray(v)) {
    throw new Error(`${where}: a registry identity must be a JSON object`);
  }
  if (typeof v.host !== 'string' || v.host === '')
    throw new Error(`${where}: "host" must be a non-empty string`);
  if (typeof v.port !== 'number' || !Number.isInteger(v.port) || v.port < 0 || v.port > 65535) {
    throw new Error(`${where}: "port" must be a port number`);
  }
  if (typeof v.master_eligibility !== 'boolean') {
    throw new Error(`${where}: "master_eligibility" must be true or false`);
  }
  // Confluent's identity defaults the scheme to http when it is absent.
  const scheme = v.scheme === undefined || v.scheme === null ? 'http' : v.scheme;
  if (scheme !== 'http' && scheme !== 'https') throw new Error(`${where}: "scheme" must be http or https`);
  return { scheme, host: v.host, port: v.port, leaderEligible: v.master_eligibility };
}

function parseJson(bytes: Buffer, where: string): unknown {
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch (error) {
    throw new Error(`${where}: not JSON (${(error as Error).message})`);
  }
}

export function decodeIdentity(bytes: Buffer): RegistryIdentity {
  return identityFrom(parseJson(bytes, 'member metadata'), 'member metadata');
}

export function encodeAssignment(assignment: LeaderAssignment): Buffer {
  const json: Record<string, unknown> = { version: ASSIGNMENT_VERSION, error: assignment.error };
  // Confluent leaves empty fields out; a group without an eligible member has neither.
  if (assignment.leaderMemberId !== null) json.master = assignment.leaderMemberId;
  if (assignment.leader !== null) json.master_identity = identityJson(assignment.leader);
  return Buffer.from(JSON.stringify(json));
}

export function decodeAssignment(bytes: Buffer): LeaderAssignment {
  const value = parseJson(bytes, 'assignment') as Record<string, unknown> | null;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new Error('assignment: must be a JSON object');
  }
  const error = value.error === undefined ? ASSIGNMENT_NO_ERROR : value.error;
  if (typeof error !== 'number' || !Number.isInteger(error))
    throw new Error('assignment: "error" must be a number');
  const leaderMemberId = typeof value.master === 'string' && value.master !== '' ? value.master : null;
  const leader =
    value.master_identity === undefined || value.master_identity === null
      ? null
      : identityFrom(value.master_identity, 'assignment master_identity');
  return { error, leaderMemberId, leader };
}

/**
 * Confluent's choice: the leader-eligible member with the smallest URL (compared as strings), so
 * the same members always elect the same leader; DUPLICATE_URLS when two members advertise one
 * URL (a follower could not forward to the right one). Every member gets this same assignment.
 */
export function chooseLeader(members: readonly GroupMember[]): LeaderAssignment {
  let chosen: GroupMember | null = null;
  const urls = new Set<string>();
  for (const member of members) {
    const url = identityUrl(member.identity);
    urls.add(url);
    if (member.identity.leaderEligible && (chosen === null || url < identityUrl(chosen.identity))) {
      chosen = member;
    }
  }
  return {
    error: urls.size === members.length ? ASSIGNMENT_NO_ERROR : ASSIGNMENT_DUPLICATE_URLS,
    leaderMemberId: chosen?.memberId ?? null,
    leader: chosen?.identity ?? null,
  };
}
