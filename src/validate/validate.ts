/**
 * `validateStack`: load the stack (throws InputError for unusable input) and run every
 * rule. The report is plain data; report.ts renders it as text or JSON.
 */
import { type LoadOptions, loadStack } from './load.ts';
import { RULES } from './rules/index.ts';
import type { Finding, Rule } from './rules/rule.ts';
import type { VariableReference } from './stack.ts';

export interface RuleResult {
  readonly id: string;
  readonly title: string;
  readonly traces: readonly string[];
  readonly passed: boolean;
  readonly findings: readonly Finding[];
}

export interface Report {
  readonly ok: boolean;
  readonly file: string;
  readonly envFile: string | undefined;
  readonly services: readonly string[];
  readonly rules: readonly RuleResult[];
  /** Variables the env file does not set, with or without a default. */
  readonly unsetVariables: readonly VariableReference[];
  readonly summary: { readonly rules: number; readonly passed: number; readonly failed: number };
}

export function validateStack(options: LoadOptions, rules: readonly Rule[] = RULES): Report {
  const stack = loadStack(options);
  const results = rules.map((rule): RuleResult => {
    const findings = dedupe(rule.check(stack));
    return { id: rule.id, title: rule.title, traces: rule.traces, passed: findings.length === 0, findings };
  });
  const failed = results.filter((result) => !result.passed).length;
  return {
    ok: failed === 0,
    file: options.file,
    envFile: stack.env?.displayPath,
    services: stack.services.map((service) => service.name),
    rules: results,
    unsetVariables: stack.variables.filter((variable) => !variable.set),
    summary: { rules: results.length, passed: results.length - failed, failed },
  };
}

/** A value written once in an anchor and merged into three services is one finding. */
function dedupe(findings: readonly Finding[]): Finding[] {
  const seen = new Set<string>();
  return findings.filter((item) => {
    const key = `${item.location?.file}:${item.location?.line}:${item.message.replace(/^kafka-\d: /, '')}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
