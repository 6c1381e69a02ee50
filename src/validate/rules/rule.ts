import type { Location, Stack } from '../stack.ts';

/** One way the stack breaks a rule: where, and what to do about it. */
export interface Finding {
  readonly location: Location | undefined;
  readonly message: string;
}

/**
 * A check with a stable ID. IDs never change meaning and are never reused; the spec
 * (specs/infra/messaging/spec.md, section "Validation rules") traces each to requirements.
 */
export interface Rule {
  readonly id: string;
  readonly title: string;
  /** Requirement IDs of the spec and plan that this rule proves. */
  readonly traces: readonly string[];
  check(stack: Stack): Finding[];
}

export const EXPECTED_BROKERS = ['kafka-1', 'kafka-2', 'kafka-3'] as const;

export function finding(location: Location | undefined, message: string): Finding {
  return { location, message };
}

export function rootLocation(stack: Stack): Location {
  return { file: stack.root.source.displayPath, line: 1 };
}
