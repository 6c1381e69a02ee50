/**
 * Kafka's StandardAuthorizer decision, over the ACL store: turned on by
 * `authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer`, with
 * `super.users` (semicolon-separated principals, always allowed) and
 * `allow.everyone.if.no.acl.found` (what a resource no ACL names gets; default false).
 *
 * The rules, as StandardAuthorizerData applies them: an ACL applies to a resource when its type
 * matches and it is LITERAL with the same name, LITERAL `*`, or PREFIXED with a prefix of the name;
 * its principal must be the request's or `User:*`, its host the client's or `*`. A DENY that
 * applies wins; else an ALLOW that applies allows. ALL matches every operation; in ALLOW ACLs only,
 * READ, WRITE, DELETE and ALTER imply DESCRIBE, and ALTER_CONFIGS implies DESCRIBE_CONFIGS. When no
 * ACL names the resource at all, `allow.everyone.if.no.acl.found` decides; when some do but none
 * applies, the answer is DENIED.
 */
import {
  AclOperation,
  AclPermission,
  type AclStore,
  PatternType,
  type StoredAcl,
  WILDCARD,
  WILDCARD_PRINCIPAL,
} from './acls.ts';

/** The class name Kafka's KRaft brokers and controllers use; the one kstack serves. */
export const STANDARD_AUTHORIZER = 'org.apache.kafka.metadata.authorizer.StandardAuthorizer';

/** A broker setting the authorizer cannot serve; the message names it. */
export class AuthorizerConfigError extends Error {}

export interface AuthorizerSettings {
  readonly superUsers: ReadonlySet<string>;
  readonly allowIfNoAclFound: boolean;
}

/** Reads the authorizer's settings; undefined when `authorizer.class.name` is empty (no authorization). */
export function authorizerSettings(
  lookup: (name: string) => string | undefined,
): AuthorizerSettings | undefined {
  const className = (lookup('authorizer.class.name') ?? '').trim();
  if (className === '') return undefined;
  if (className !== STANDARD_AUTHORIZER) {
    throw new AuthorizerConfigError(
      `authorizer.class.name=${className} is not served by kstack; use ${STANDARD_AUTHORIZER} (or leave it empty)`,
    );
  }
  const superUsers = new Set(
    (lookup('super.users') ?? '')
      .split(';')
      .map((user) => user.trim())
      .filter((user) => user.length > 0),
  );
  for (const user of superUsers) {
    if (user.indexOf(':') <= 0) {
      throw new AuthorizerConfigError(
        `super.users: '${user}' is not a principal Type:name (e.g. User:admin)`,
      );
    }
  }
  const allow = (lookup('allow.everyone.if.no.acl.found') ?? 'false').trim().toLowerCase();
  if (allow !== 'true' && allow !== 'false') {
    throw new AuthorizerConfigError(`allow.everyone.if.no.acl.found must be true or false, not '${allow}'`);
  }
  return { superUsers, allowIfNoAclFound: allow === 'true' };
}

/** Who asks, from where. */
export interface RequestPrincipal {
  /** `User:<name>`; `User:ANONYMOUS` when the connection did not authenticate. */
  readonly principal: string;
  /** The client's IP address, as Kafka prints it (no `::ffff:` prefix for IPv4). */
  readonly host: string;
}

const IMPLIES_DESCRIBE: ReadonlySet<number> = new Set([
  AclOperation.DESCRIBE,
  AclOperation.READ,
  AclOperation.WRITE,
  AclOperation.DELETE,
  AclOperation.ALTER,
]);
const IMPLIES_DESCRIBE_CONFIGS: ReadonlySet<number> = new Set([
  AclOperation.DESCRIBE_CONFIGS,
  AclOperation.ALTER_CONFIGS,
]);

/** Whether an ACL's entry applies to this principal, host and operation (the resource already matches). */
function entryResult(acl: StoredAcl, who: RequestPrincipal, operation: number): 'allow' | 'deny' | null {
  if (acl.principal !== who.principal && acl.principal !== WILDCARD_PRINCIPAL) return null;
  if (acl.host !== WILDCARD && acl.host !== who.host) return null;
  if (acl.operation !== AclOperation.ALL) {
    if (acl.permissionType === AclPermission.ALLOW) {
      if (operation === AclOperation.DESCRIBE) {
        if (!IMPLIES_DESCRIBE.has(acl.operation)) return null;
      } else if (operation === AclOperation.DESCRIBE_CONFIGS) {
        if (!IMPLIES_DESCRIBE_CONFIGS.has(acl.operation)) return null;
      } else if (operation !== acl.operation) return null;
    } else if (operation !== acl.operation) return null;
  }
  return acl.permissionType === AclPermission.ALLOW ? 'allow' : 'deny';
}

function resourceMatches(acl: StoredAcl, resourceType: number, name: string): boolean {
  if (acl.resourceType !== resourceType) return false;
  if (acl.patternType === PatternType.LITERAL)
    return acl.resourceName === name || acl.resourceName === WILDCARD;
  return acl.patternType === PatternType.PREFIXED && name.startsWith(acl.resourceName);
}

export class Authorizer {
  readonly settings: AuthorizerSettings;
  readonly #store: AclStore;

  constructor(settings: AuthorizerSettings, store: AclStore) {
    this.settings = settings;
    this.#store = store;
  }

  isSuperUser(who: RequestPrincipal): boolean {
    return this.settings.superUsers.has(who.principal);
  }

  /** StandardAuthorizer's answer for one operation on one resource. */
  authorize(who: RequestPrincipal, operation: number, resourceType: number, name: string): boolean {
    if (this.isSuperUser(who)) return true;
    let namesResource = false;
    let allowed = false;
    for (const acl of this.#store.all()) {
      if (!resourceMatches(acl, resourceType, name)) continue;
      namesResource = true;
      const result = entryResult(acl, who, operation);
      if (result === 'deny') return false;
      if (result === 'allow') allowed = true;
    }
    if (allowed) return true;
    return namesResource ? false : this.settings.allowIfNoAclFound;
  }

  /**
   * Kafka's Authorizer.authorizeByResourceType: may the principal do `operation` on at least one
   * resource of this type? (InitProducerId without a transactional id asks it for WRITE on topics.)
   * A super user, or `allow.everyone.if.no.acl.found` with no ACL naming a made-up resource, is
   * allowed; a DENY on LITERAL `*` refuses; an ALLOW on LITERAL `*` allows; else an ALLOW on a
   * literal name no DENY covers, or on a prefix no DENY prefix of it covers, allows.
   */
  authorizeByResourceType(who: RequestPrincipal, operation: number, resourceType: number): boolean {
    if (this.authorize(who, operation, resourceType, 'hardcode')) return true;
    const allows: StoredAcl[] = [];
    const denies: StoredAcl[] = [];
    for (const acl of this.#store.all()) {
      if (acl.resourceType !== resourceType) continue;
      const result = entryResult(acl, who, operation);
      if (result === 'allow') allows.push(acl);
      else if (result === 'deny') denies.push(acl);
    }
    const literal = (list: StoredAcl[], name: string): boolean =>
      list.some((acl) => acl.patternType === PatternType.LITERAL && acl.resourceName === name);
    const deniedByPrefix = (name: string): boolean =>
      denies.some((acl) => acl.patternType === PatternType.PREFIXED && name.startsWith(acl.resourceName));
    if (literal(denies, WILDCARD)) return false;
    if (literal(allows, WILDCARD)) return true;
    return allows.some((acl) =>
      acl.patternType === PatternType.LITERAL
        ? !literal(denies, acl.resourceName) && !deniedByPrefix(acl.resourceName)
        : !deniedByPrefix(acl.resourceName),
    );
  }
}

/** `::ffff:127.0.0.1` → `127.0.0.1`, as Java prints an IPv4 client. */
export function clientHost(remoteAddress: string): string {
  return remoteAddress.startsWith('::ffff:') ? remoteAddress.slice('::ffff:'.length) : remoteAddress;
}
