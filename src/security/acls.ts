/**
 * ACLs as Kafka's KRaft controller keeps them: each ACL binding (resource pattern + entry) is an
 * AccessControlEntryRecord with its own id in the metadata log, removed by a
 * RemoveAccessControlEntryRecord naming that id, replayed at start. Also the codes of Kafka's
 * resource types, pattern types, operations and permission types, the checks CreateAcls applies,
 * and the binding filters of DescribeAcls and DeleteAcls (ResourcePatternFilter and
 * AccessControlEntryFilter semantics, MATCH included).
 */
import { randomBytes } from 'node:crypto';
import { type SlotKey, slotKey } from '../broker/services.ts';
import { uuidFromRandomBytes } from '../protocol/index.ts';

/** Kafka's ResourceType codes. */
export const ResourceType = {
  UNKNOWN: 0,
  ANY: 1,
  TOPIC: 2,
  GROUP: 3,
  CLUSTER: 4,
  TRANSACTIONAL_ID: 5,
  DELEGATION_TOKEN: 6,
  USER: 7,
} as const;

/** Kafka's PatternType codes. */
export const PatternType = { UNKNOWN: 0, ANY: 1, MATCH: 2, LITERAL: 3, PREFIXED: 4 } as const;

/** Kafka's AclOperation codes. */
export const AclOperation = {
  UNKNOWN: 0,
  ANY: 1,
  ALL: 2,
  READ: 3,
  WRITE: 4,
  CREATE: 5,
  DELETE: 6,
  ALTER: 7,
  DESCRIBE: 8,
  CLUSTER_ACTION: 9,
  DESCRIBE_CONFIGS: 10,
  ALTER_CONFIGS: 11,
  IDEMPOTENT_WRITE: 12,
  CREATE_TOKENS: 13,
  DESCRIBE_TOKENS: 14,
  TWO_PHASE_COMMIT: 15,
} as const;

/** Kafka's AclPermissionType codes. */
export const AclPermission = { UNKNOWN: 0, ANY: 1, DENY: 2, ALLOW: 3 } as const;

/** The one name of the CLUSTER resource. */
export const CLUSTER_NAME = 'kafka-cluster';
/** The wildcard resource name (a LITERAL pattern matching every name) and host. */
export const WILDCARD = '*';
/** The principal matching every principal. */
export const WILDCARD_PRINCIPAL = 'User:*';

const LARGEST_RESOURCE_TYPE = ResourceType.USER;
const LARGEST_OPERATION = AclOperation.TWO_PHASE_COMMIT;

/** One ACL binding: a resource pattern and an access control entry. */
export interface AclBinding {
  readonly resourceType: number;
  readonly resourceName: string;
  readonly patternType: number;
  readonly principal: string;
  readonly host: string;
  readonly operation: number;
  readonly permissionType: number;
}

/** A binding filter (DescribeAcls, DeleteAcls): null names match anything, ANY codes any code. */
export interface AclBindingFilter {
  readonly resourceType: number;
  readonly resourceName: string | null;
  readonly patternType: number;
  readonly principal: string | null;
  readonly host: string | null;
  readonly operation: number;
  readonly permissionType: number;
}

/** An ACL as the metadata log holds it. */
export interface StoredAcl extends AclBinding {
  readonly id: string;
}

export type AclMetadataRecord =
  | ({ readonly type: 'AccessControlEntryRecord' } & StoredAcl)
  | { readonly type: 'RemoveAccessControlEntryRecord'; readonly id: string };

/** A principal is `Type:name` with a non-empty type (Kafka's SecurityUtils.parseKafkaPrincipal). */
export function principalProblem(principal: string): string | null {
  const colon = principal.indexOf(':');
  if (colon <= 0) {
    return `Could not parse principal from \`${principal}\` (no colon is present separating the principal type from the principal name)`;
  }
  return null;
}

/** Why a creation is refused: the error code and message Kafka 4.1.1 answers it with. */
export interface AclCreateRefusal {
  readonly errorCode: number;
  readonly errorMessage: string | null;
}

/**
 * Why Kafka would refuse to create this binding, or null. The broker's own checks answer
 * INVALID_REQUEST with a message: an empty name, a CLUSTER resource not named `kafka-cluster`, a
 * principal that is not `Type:name`. The controller's (a resource type, pattern type, operation or
 * permission that names no single value: ANY, MATCH) reach the client of Kafka 4.1.1 as
 * UNKNOWN_SERVER_ERROR without a message, measured against it (test/security/security-reference.slow.ts).
 */
export function aclCreateRefusal(binding: AclBinding): AclCreateRefusal | null {
  const { resourceType, patternType, operation, permissionType, resourceName } = binding;
  const invalid = (errorMessage: string): AclCreateRefusal => ({ errorCode: 42, errorMessage });
  if (resourceType === ResourceType.CLUSTER && resourceName !== CLUSTER_NAME) {
    return invalid(`The only valid name for the CLUSTER resource is ${CLUSTER_NAME}`);
  }
  if (resourceName.length === 0) return invalid('Invalid empty resource name');
  const principal = principalProblem(binding.principal);
  if (principal !== null) return invalid(principal);
  const concrete =
    resourceType > ResourceType.ANY &&
    resourceType <= LARGEST_RESOURCE_TYPE &&
    (patternType === PatternType.LITERAL || patternType === PatternType.PREFIXED) &&
    operation > AclOperation.ANY &&
    operation <= LARGEST_OPERATION &&
    (permissionType === AclPermission.ALLOW || permissionType === AclPermission.DENY);
  return concrete ? null : { errorCode: -1, errorMessage: null };
}

/** Why a filter cannot be used (it names UNKNOWN codes), or null, as Kafka's request checks it. */
export function aclFilterProblem(filter: AclBindingFilter): string | null {
  const unknown =
    filter.resourceType === ResourceType.UNKNOWN ||
    filter.patternType === PatternType.UNKNOWN ||
    filter.operation === AclOperation.UNKNOWN ||
    filter.permissionType === AclPermission.UNKNOWN;
  const outOfRange =
    filter.resourceType < 0 ||
    filter.resourceType > LARGEST_RESOURCE_TYPE ||
    filter.patternType < 0 ||
    filter.patternType > PatternType.PREFIXED ||
    filter.operation < 0 ||
    filter.operation > LARGEST_OPERATION ||
    filter.permissionType < 0 ||
    filter.permissionType > AclPermission.ALLOW;
  return unknown || outOfRange ? 'The filter contains UNKNOWN elements' : null;
}

/** Kafka's ResourcePatternFilter.matches. */
function patternMatches(filter: AclBindingFilter, acl: AclBinding): boolean {
  if (filter.resourceType !== ResourceType.ANY && filter.resourceType !== acl.resourceType) return false;
  const anyType = filter.patternType === PatternType.ANY;
  if (!anyType && filter.patternType !== PatternType.MATCH && filter.patternType !== acl.patternType) {
    return false;
  }
  const name = filter.resourceName;
  if (name === null) return true;
  if (anyType || filter.patternType === acl.patternType) return name === acl.resourceName;
  // MATCH: the patterns that would apply to a resource of this name.
  if (acl.patternType === PatternType.LITERAL)
    return name === acl.resourceName || acl.resourceName === WILDCARD;
  return name.startsWith(acl.resourceName);
}

/** Kafka's AclBindingFilter.matches: resource pattern and entry (no operation implications here). */
export function filterMatches(filter: AclBindingFilter, acl: AclBinding): boolean {
  return (
    patternMatches(filter, acl) &&
    (filter.principal === null || filter.principal === acl.principal) &&
    (filter.host === null || filter.host === acl.host) &&
    (filter.operation === AclOperation.ANY || filter.operation === acl.operation) &&
    (filter.permissionType === AclPermission.ANY || filter.permissionType === acl.permissionType)
  );
}

function sameBinding(a: AclBinding, b: AclBinding): boolean {
  return (
    a.resourceType === b.resourceType &&
    a.resourceName === b.resourceName &&
    a.patternType === b.patternType &&
    a.principal === b.principal &&
    a.host === b.host &&
    a.operation === b.operation &&
    a.permissionType === b.permissionType
  );
}

function nameOf(table: Record<string, number>, code: number): string {
  return Object.entries(table).find(([, value]) => value === code)?.[0] ?? String(code);
}
export const resourceTypeName = (code: number): string => nameOf(ResourceType, code);
export const patternTypeName = (code: number): string => nameOf(PatternType, code);
export const operationName = (code: number): string => nameOf(AclOperation, code);
export const permissionName = (code: number): string => nameOf(AclPermission, code);

/**
 * Kafka's bound on ACLs: none in Kafka (its controller keeps them all in memory); kstack names one
 * so a runaway script cannot grow the metadata log without end.
 */
export const ACLS_MAX = 100_000;

/** The ACLs of the cluster, from the metadata log. */
export class AclStore {
  /** By id, in creation order. */
  readonly #acls = new Map<string, StoredAcl>();
  readonly #commit: (records: readonly AclMetadataRecord[]) => boolean | undefined;
  /** Bumped on every change, so callers may cache decisions per version. */
  version = 0;

  /**
   * `commit` appends records to the metadata log (fsynced) before they are applied here; it returns
   * false when they take effect only once replayed (a cluster's quorum commits them later).
   */
  constructor(commit: (records: readonly AclMetadataRecord[]) => boolean | undefined) {
    this.#commit = commit;
  }

  /** Applies replayed metadata records (the ACL ones are kept). */
  replay(records: Iterable<{ readonly type: string }>): void {
    for (const record of records) this.#apply(record);
  }

  #apply(record: { readonly type: string }): void {
    if (record.type === 'AccessControlEntryRecord') {
      const { type: _type, ...acl } = record as Extract<
        AclMetadataRecord,
        { type: 'AccessControlEntryRecord' }
      >;
      this.#acls.set(acl.id, acl);
      this.version++;
    } else if (record.type === 'RemoveAccessControlEntryRecord') {
      this.#acls.delete(
        (record as Extract<AclMetadataRecord, { type: 'RemoveAccessControlEntryRecord' }>).id,
      );
      this.version++;
    }
  }

  #write(records: readonly AclMetadataRecord[]): void {
    if (records.length === 0) return;
    if (this.#commit(records) === false) return;
    for (const record of records) this.#apply(record);
  }

  get size(): number {
    return this.#acls.size;
  }

  all(): Iterable<StoredAcl> {
    return this.#acls.values();
  }

  /**
   * Creates the valid bindings in one append; per binding, null or its refusal. A binding that
   * exists already is accepted and not written twice, as Kafka does.
   */
  create(bindings: readonly AclBinding[]): (AclCreateRefusal | null)[] {
    const records: AclMetadataRecord[] = [];
    const pending: AclBinding[] = [];
    const outcomes = bindings.map((binding) => {
      const refusal = aclCreateRefusal(binding);
      if (refusal !== null) return refusal;
      const exists = (acl: AclBinding): boolean => sameBinding(acl, binding);
      if ([...this.#acls.values()].some(exists) || pending.some(exists)) return null;
      if (this.#acls.size + pending.length >= ACLS_MAX) {
        return {
          errorCode: 42,
          errorMessage: `The cluster holds ACLS_MAX (${ACLS_MAX}) ACLs already; delete some first`,
        };
      }
      pending.push(binding);
      records.push({
        type: 'AccessControlEntryRecord',
        id: uuidFromRandomBytes(randomBytes(16)),
        ...binding,
      });
      return null;
    });
    this.#write(records);
    return outcomes;
  }

  /** The ACLs each filter matches, all deleted in one append. */
  delete(filters: readonly AclBindingFilter[]): StoredAcl[][] {
    const removed = new Set<string>();
    const matches = filters.map((filter) =>
      [...this.#acls.values()].filter((acl) => filterMatches(filter, acl)),
    );
    const records: AclMetadataRecord[] = [];
    for (const acl of matches.flat()) {
      if (removed.has(acl.id)) continue;
      removed.add(acl.id);
      records.push({ type: 'RemoveAccessControlEntryRecord', id: acl.id });
    }
    this.#write(records);
    return matches;
  }

  describe(filter: AclBindingFilter): StoredAcl[] {
    return [...this.#acls.values()].filter((acl) => filterMatches(filter, acl));
  }
}

/** Where the broker keeps its ACL store (handlers 29, 30, 31 and the authorizer). */
export const ACLS: SlotKey<AclStore> = slotKey<AclStore>('acls');
