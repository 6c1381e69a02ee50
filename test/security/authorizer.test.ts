/**
 * The StandardAuthorizer rules and the ACL store, without sockets: resource pattern matching
 * (LITERAL, `*`, PREFIXED), deny over allow, the operation implications (ALLOW only), `User:*`,
 * hosts, super.users, allow.everyone.if.no.acl.found, authorizeByResourceType, the binding filters
 * of DescribeAcls/DeleteAcls (MATCH, ANY), CreateAcls's refusals, and the records' replay.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeRequest, decodeResponse, encodeRequest, encodeResponse } from '../../src/protocol/index.ts';
import {
  type AclBinding,
  type AclMetadataRecord,
  AclStore,
  AclOperation as Op,
  PatternType as Pattern,
  AclPermission as Permission,
  ResourceType as Type,
} from '../../src/security/acls.ts';
import {
  Authorizer,
  AuthorizerConfigError,
  authorizerSettings,
  STANDARD_AUTHORIZER,
} from '../../src/security/authorizer.ts';

const ALICE = { principal: 'User:alice', host: '10.0.0.1' };
const BOB = { principal: 'User:bob', host: '10.0.0.2' };

function acl(overrides: Partial<AclBinding>): AclBinding {
  return {
    resourceType: Type.TOPIC,
    resourceName: 'orders',
    patternType: Pattern.LITERAL,
    principal: 'User:alice',
    host: '*',
    operation: Op.READ,
    permissionType: Permission.ALLOW,
    ...overrides,
  };
}

function setup(bindings: AclBinding[], settings: Record<string, string> = {}) {
  const log: AclMetadataRecord[] = [];
  const store = new AclStore((records) => {
    log.push(...records);
    return true;
  });
  assert.deepEqual(
    store.create(bindings),
    bindings.map(() => null),
  );
  const parsed = authorizerSettings(
    (name) => ({ 'authorizer.class.name': STANDARD_AUTHORIZER, ...settings })[name],
  );
  assert.ok(parsed !== undefined);
  return { store, log, authorizer: new Authorizer(parsed, store) };
}

describe('StandardAuthorizer rules', () => {
  it('LITERAL, wildcard and PREFIXED patterns; a DENY wins over any ALLOW', () => {
    const { authorizer } = setup([
      acl({}),
      acl({ resourceName: 'logs-', patternType: Pattern.PREFIXED, operation: Op.WRITE }),
      acl({ resourceName: '*', principal: 'User:bob', operation: Op.READ }),
      acl({
        resourceName: 'logs-secret',
        principal: 'User:*',
        permissionType: Permission.DENY,
        operation: Op.WRITE,
      }),
    ]);
    assert.equal(authorizer.authorize(ALICE, Op.READ, Type.TOPIC, 'orders'), true);
    assert.equal(
      authorizer.authorize(ALICE, Op.READ, Type.TOPIC, 'orders2'),
      false,
      'a literal is not a prefix',
    );
    assert.equal(authorizer.authorize(ALICE, Op.WRITE, Type.TOPIC, 'logs-app'), true);
    assert.equal(authorizer.authorize(ALICE, Op.WRITE, Type.TOPIC, 'logs'), false);
    assert.equal(authorizer.authorize(ALICE, Op.WRITE, Type.TOPIC, 'logs-secret'), false, 'User:* DENY');
    assert.equal(
      authorizer.authorize(BOB, Op.READ, Type.TOPIC, 'anything'),
      true,
      'LITERAL * matches any name',
    );
    assert.equal(authorizer.authorize(ALICE, Op.READ, Type.GROUP, 'orders'), false, 'another resource type');
  });

  it('DESCRIBE is implied by READ, WRITE, DELETE, ALTER and DESCRIBE_CONFIGS by ALTER_CONFIGS, in ALLOW ACLs only', () => {
    for (const operation of [Op.READ, Op.WRITE, Op.DELETE, Op.ALTER, Op.DESCRIBE, Op.ALL]) {
      const { authorizer } = setup([acl({ operation })]);
      assert.equal(authorizer.authorize(ALICE, Op.DESCRIBE, Type.TOPIC, 'orders'), true, `op ${operation}`);
    }
    for (const operation of [Op.CREATE, Op.ALTER_CONFIGS, Op.DESCRIBE_CONFIGS, Op.IDEMPOTENT_WRITE]) {
      const { authorizer } = setup([acl({ operation })]);
      assert.equal(authorizer.authorize(ALICE, Op.DESCRIBE, Type.TOPIC, 'orders'), false, `op ${operation}`);
    }
    const configs = setup([acl({ operation: Op.ALTER_CONFIGS })]).authorizer;
    assert.equal(configs.authorize(ALICE, Op.DESCRIBE_CONFIGS, Type.TOPIC, 'orders'), true);
    assert.equal(configs.authorize(ALICE, Op.ALTER, Type.TOPIC, 'orders'), false);
    // A DENY of READ does not deny DESCRIBE, which the ALLOW of WRITE implies.
    const deny = setup([
      acl({ operation: Op.WRITE }),
      acl({ operation: Op.READ, permissionType: Permission.DENY }),
    ]);
    assert.equal(deny.authorizer.authorize(ALICE, Op.DESCRIBE, Type.TOPIC, 'orders'), true);
    assert.equal(deny.authorizer.authorize(ALICE, Op.READ, Type.TOPIC, 'orders'), false);
    // A DENY of ALL denies every operation.
    const all = setup([
      acl({ operation: Op.ALL }),
      acl({ operation: Op.ALL, permissionType: Permission.DENY }),
    ]);
    assert.equal(all.authorizer.authorize(ALICE, Op.DESCRIBE, Type.TOPIC, 'orders'), false);
  });

  it('hosts, super.users and allow.everyone.if.no.acl.found', () => {
    const { authorizer } = setup([acl({ host: '10.0.0.1' })], { 'super.users': 'User:root; User:ops' });
    assert.equal(authorizer.authorize(ALICE, Op.READ, Type.TOPIC, 'orders'), true);
    assert.equal(authorizer.authorize({ ...ALICE, host: '10.0.0.9' }, Op.READ, Type.TOPIC, 'orders'), false);
    assert.equal(
      authorizer.authorize({ principal: 'User:ops', host: 'h' }, Op.ALTER, Type.CLUSTER, 'kafka-cluster'),
      true,
    );
    assert.equal(authorizer.authorize(BOB, Op.READ, Type.TOPIC, 'free'), false, 'no ACL: denied by default');
    const open = setup([acl({})], { 'allow.everyone.if.no.acl.found': 'true' }).authorizer;
    assert.equal(open.authorize(BOB, Op.READ, Type.TOPIC, 'free'), true, 'no ACL names it');
    assert.equal(open.authorize(BOB, Op.READ, Type.TOPIC, 'orders'), false, 'ACLs name it, none for bob');
  });

  it('authorizeByResourceType: some topic allowed and not denied (InitProducerId for idempotence)', () => {
    const cases: [AclBinding[], boolean][] = [
      [[], false],
      [[acl({ operation: Op.WRITE })], true],
      [[acl({ operation: Op.WRITE }), acl({ operation: Op.WRITE, permissionType: Permission.DENY })], false],
      [
        [
          acl({ operation: Op.WRITE, resourceName: 'p', patternType: Pattern.PREFIXED }),
          acl({ operation: Op.WRITE, resourceName: 'p-x' }),
        ],
        true,
      ],
      [
        [
          acl({ operation: Op.WRITE }),
          acl({
            operation: Op.WRITE,
            resourceName: 'or',
            patternType: Pattern.PREFIXED,
            permissionType: Permission.DENY,
          }),
        ],
        false,
      ],
      [
        [
          acl({ operation: Op.WRITE }),
          acl({ operation: Op.WRITE, resourceName: '*', permissionType: Permission.DENY }),
        ],
        false,
      ],
      [[acl({ operation: Op.READ })], false],
    ];
    for (const [bindings, expected] of cases) {
      assert.equal(
        setup(bindings).authorizer.authorizeByResourceType(ALICE, Op.WRITE, Type.TOPIC),
        expected,
        JSON.stringify(bindings),
      );
    }
  });

  it('settings: only StandardAuthorizer, principals in super.users, a boolean default', () => {
    assert.equal(
      authorizerSettings(() => undefined),
      undefined,
    );
    assert.throws(
      () =>
        authorizerSettings((n) =>
          n === 'authorizer.class.name' ? 'kafka.security.authorizer.AclAuthorizer' : undefined,
        ),
      AuthorizerConfigError,
    );
    const bad = (name: string, value: string) => () =>
      authorizerSettings((n) => ({ 'authorizer.class.name': STANDARD_AUTHORIZER, [name]: value })[n]);
    assert.throws(bad('super.users', 'admin'), /super.users: 'admin' is not a principal/);
    assert.throws(bad('allow.everyone.if.no.acl.found', 'yes'), /must be true or false/);
  });
});

describe('ACL store', () => {
  it('CreateAcls refusals name the fault; duplicates are written once', () => {
    const { store, log } = setup([]);
    const outcomes = store.create([
      acl({}),
      acl({}),
      acl({ resourceType: Type.ANY }),
      acl({ patternType: Pattern.MATCH }),
      acl({ operation: Op.ANY }),
      acl({ permissionType: Permission.ANY }),
      acl({ resourceName: '' }),
      acl({ principal: 'alice' }),
    ]);
    const invalid = (errorMessage: string) => ({ errorCode: 42, errorMessage });
    // What the controller refuses reaches Kafka 4.1.1's clients as UNKNOWN_SERVER_ERROR without a message.
    const controller = { errorCode: -1, errorMessage: null };
    assert.deepEqual(outcomes, [
      null,
      null,
      controller,
      controller,
      controller,
      controller,
      invalid('Invalid empty resource name'),
      invalid(
        'Could not parse principal from `alice` (no colon is present separating the principal type from the principal name)',
      ),
    ]);
    assert.deepEqual(store.create([acl({ resourceType: Type.CLUSTER, resourceName: 'other' })]), [
      invalid('The only valid name for the CLUSTER resource is kafka-cluster'),
    ]);
    assert.equal(log.length, 1);
    assert.equal(store.create([acl({})]).length, 1);
    assert.equal(log.length, 1, 'an existing ACL is not written again');
  });

  it('filters: MATCH finds the literal, wildcard and prefixed patterns applying to a name; ANY all patterns of a name', () => {
    const { store } = setup([
      acl({}),
      acl({ resourceName: '*' }),
      acl({ resourceName: 'ord', patternType: Pattern.PREFIXED }),
      acl({ resourceName: 'orders', patternType: Pattern.PREFIXED }),
      acl({ resourceName: 'other' }),
      acl({ resourceType: Type.GROUP }),
    ]);
    const names = (filter: Partial<Parameters<AclStore['describe']>[0]>) =>
      store
        .describe({
          resourceType: Type.ANY,
          resourceName: null,
          patternType: Pattern.ANY,
          principal: null,
          host: null,
          operation: Op.ANY,
          permissionType: Permission.ANY,
          ...filter,
        })
        .map((found) => `${found.resourceType}:${found.patternType}:${found.resourceName}`);
    assert.deepEqual(
      names({ resourceType: Type.TOPIC, resourceName: 'orders', patternType: Pattern.MATCH }),
      ['2:3:orders', '2:3:*', '2:4:ord', '2:4:orders'],
    );
    assert.deepEqual(names({ resourceName: 'orders' }), ['2:3:orders', '2:4:orders', '3:3:orders']);
    assert.deepEqual(names({ patternType: Pattern.PREFIXED }), ['2:4:ord', '2:4:orders']);
    assert.deepEqual(names({ principal: 'User:bob' }), []);
  });

  it('deletions are RemoveAccessControlEntryRecords; replaying the log rebuilds the same ACLs', () => {
    const { store, log } = setup([acl({}), acl({ operation: Op.WRITE }), acl({ resourceName: 'b' })]);
    const removed = store.delete([
      {
        resourceType: Type.TOPIC,
        resourceName: 'orders',
        patternType: Pattern.LITERAL,
        principal: null,
        host: null,
        operation: Op.ANY,
        permissionType: Permission.ANY,
      },
    ]);
    assert.equal(removed[0]?.length, 2);
    assert.deepEqual(
      log.map((record) => record.type),
      [
        'AccessControlEntryRecord',
        'AccessControlEntryRecord',
        'AccessControlEntryRecord',
        'RemoveAccessControlEntryRecord',
        'RemoveAccessControlEntryRecord',
      ],
    );
    const replayed = new AclStore(() => {});
    replayed.replay(JSON.parse(JSON.stringify(log)));
    assert.deepEqual([...replayed.all()], [...store.all()]);
    assert.equal(replayed.size, 1);
  });
});

describe('DescribeAcls, CreateAcls, DeleteAcls schemas', () => {
  it('DescribeAcls v1 request: the bytes the specification gives, decoded back', () => {
    const body = {
      resourceTypeFilter: 2,
      resourceNameFilter: 't',
      patternTypeFilter: 3,
      principalFilter: null,
      hostFilter: null,
      operation: 1,
      permissionType: 1,
    };
    const frame = encodeRequest(
      { requestApiKey: 29, requestApiVersion: 1, correlationId: 7, clientId: 'c' },
      body,
    );
    // size, then header v1 (key 29, version 1, correlation 7, client id "c"), then the fields in order.
    const expected = Buffer.from([
      0, 0, 0, 22, 0, 29, 0, 1, 0, 0, 0, 7, 0, 1, 0x63, 2, 0, 1, 0x74, 3, 0xff, 0xff, 0xff, 0xff, 1, 1,
    ]);
    assert.deepEqual(Buffer.from(frame), expected);
    assert.deepEqual(decodeRequest(frame.subarray(4)).body, body);
  });

  it('every version of the three APIs round-trips; v0 reads LITERAL patterns', () => {
    for (let version = 0; version <= 3; version++) {
      const creation = {
        resourceType: 2,
        resourceName: 'orders',
        resourcePatternType: version === 0 ? 3 : 4,
        principal: 'User:alice',
        host: '*',
        operation: 3,
        permissionType: 3,
      };
      const frame = encodeRequest(
        { requestApiKey: 30, requestApiVersion: version, correlationId: 1, clientId: null },
        { creations: [creation] },
      );
      assert.deepEqual(decodeRequest(frame.subarray(4)).body, { creations: [creation] }, `v${version}`);
      const deleted = {
        throttleTimeMs: 0,
        filterResults: [
          {
            errorCode: 0,
            errorMessage: null,
            matchingAcls: [
              {
                errorCode: 0,
                errorMessage: null,
                resourceType: 2,
                resourceName: 'o',
                patternType: 3,
                principal: 'User:a',
                host: '*',
                operation: 3,
                permissionType: 3,
              },
            ],
          },
        ],
      };
      const response = encodeResponse(31, version, 9, deleted);
      assert.deepEqual(decodeResponse(31, version, response.subarray(4)).body, deleted, `v${version}`);
    }
  });
});
