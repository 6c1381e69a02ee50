/** The spec, plan and ARD trace what the validator checks. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { RULES } from '../../src/validate/rules/index.ts';
import { REPO_ROOT } from './stack-copy.ts';

const read = (path: string) => readFileSync(`${REPO_ROOT}${path}`, 'utf8');

describe('traceability', () => {
  it('spec section 7 lists every rule with its traces', () => {
    const rows = read('specs/infra/messaging/spec.md')
      .split('\n')
      .filter((line) => line.startsWith('| RULE-MSG-'));
    for (const rule of RULES) {
      const row = rows.find((line) => line.startsWith(`| ${rule.id} |`));
      assert.ok(row !== undefined, `spec has no row for ${rule.id}`);
      for (const trace of rule.traces) assert.ok(row.includes(trace), `${rule.id}: spec row lacks ${trace}`);
    }
    assert.equal(rows.length, RULES.length);
  });

  it('spec and plan trace the seed requirement and verification IDs', () => {
    const ids = ['REQ-SPC-MSG-001', 'REQ-SPC-MSG-002', 'REQ-SPC-MSG-003', 'AC-MSG-001'];
    const verifications = ['VAL-MSG-PLN-001', 'VAL-MSG-PLN-002', 'VAL-MSG-PLN-003'];
    for (const path of ['specs/infra/messaging/spec.md', 'specs/infra/messaging/plan.md']) {
      const text = read(path);
      for (const id of [...ids, ...verifications]) assert.ok(text.includes(id), `${path} lacks ${id}`);
    }
  });

  it('says where TASK-009 is superseded by KRaft', () => {
    for (const path of [
      'specs/infra/messaging/spec.md',
      'docs/ard/messaging-ard.md',
      'infra/05-messaging/kafka/README.md',
    ]) {
      assert.match(read(path), /TASK-009[\s\S]{0,200}superseded|superseded[\s\S]{0,200}TASK-009/, path);
    }
  });
});
