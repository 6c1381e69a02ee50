// Scenario 23's nemesis: a schedule of faults drawn from a seed alone (printed, replayed with
// KSTACK_CHAOS_SEED), and the target it is applied to (a kstack cluster through its fault control,
// or the reference's JVMs). Clock skew (`skew`) moves the wall clock of every node of the cluster
// at once, ahead or back, for the step's hold, then back to the host's time (chaos.slow.ts: the
// nodes run under libfaketime; their monotonic clock stays real, as an NTP step leaves it).
import { execFileSync } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { join } from 'node:path';
import { Prng } from '../../fuzz/prng.ts';

const ROOT = join(import.meta.dirname, '..', '..');
export const NODES = [1, 2, 3] as const;
export const NEMESIS_STEPS = 6;
/** A step faults two nodes at once (a lost majority for its hold) this often, else one. */
export const NEMESIS_TWO_NODES_CHANCE = 0.25;
export const HOLD_MS = [1_000, 4_000] as const;
export const GAP_MS = [300, 1_500] as const;
export const SLOW_DELAY_MS = [50, 500] as const;
/** How far a skew moves the nodes' wall clocks, ahead or back: seconds to minutes. */
export const SKEW_S = [5, 600] as const;

export type FaultKind = 'kill' | 'pause' | 'isolate' | 'slow' | 'skew';
export const FAULT_KINDS: readonly FaultKind[] = ['kill', 'pause', 'isolate', 'slow', 'skew'];
const SIDES = ['peers', 'clients', 'all'] as const;

export type Fault =
  | { readonly kind: 'kill' }
  | { readonly kind: 'pause' }
  | { readonly kind: 'isolate'; readonly from: (typeof SIDES)[number] }
  | { readonly kind: 'slow'; readonly delayMs: number; readonly from: (typeof SIDES)[number] }
  /** Every node's wall clock `offsetS` seconds off the host's (negative: behind). */
  | { readonly kind: 'skew'; readonly offsetS: number };

export interface Step {
  readonly nodes: readonly number[];
  readonly fault: Fault;
  readonly holdMs: number;
  readonly gapMs: number;
}

/** What the nemesis drives: a fault applied to a node, then healed (the node serving again). */
export interface ChaosTarget {
  readonly name: string;
  /** The faults it can apply. */
  readonly faults: readonly FaultKind[];
  apply(node: number, fault: Fault): Promise<void>;
  /** Undoes `fault` and waits until the node is back (a killed one restarted and registered). */
  heal(node: number, fault: Fault): Promise<void>;
}

/** KSTACK_CHAOS_SEED to replay; in CI the commit under test (a red run replays from it); else random. */
export function chooseSeed(): { value: number; source: string } {
  const given = process.env.KSTACK_CHAOS_SEED;
  if (given !== undefined && given !== '') {
    const value = Number(given);
    if (!Number.isInteger(value)) throw new Error(`KSTACK_CHAOS_SEED must be an integer, got '${given}'`);
    return { value: value | 0, source: 'KSTACK_CHAOS_SEED' };
  }
  if (process.env.CI === 'true') {
    const head = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
    return { value: Number.parseInt(head.slice(0, 8), 16) | 0, source: 'the commit under test' };
  }
  return { value: randomInt(-(2 ** 31), 2 ** 31 - 1), source: 'random' };
}

function randomFault(prng: Prng, kinds: readonly FaultKind[]): Fault {
  const kind = prng.pick(kinds);
  if (kind === 'isolate') return { kind, from: prng.pick(SIDES) };
  if (kind === 'slow') return { kind, delayMs: prng.int(...SLOW_DELAY_MS), from: prng.pick(SIDES) };
  if (kind === 'skew') return { kind, offsetS: prng.int(...SKEW_S) * (prng.chance(0.5) ? 1 : -1) };
  return { kind };
}

/** The nemesis's schedule, from the seed and the target's faults alone. */
export function schedule(seed: number, kinds: readonly FaultKind[]): Step[] {
  const prng = new Prng(seed);
  return Array.from({ length: NEMESIS_STEPS }, () => {
    const first = prng.pick(NODES);
    const picked = prng.chance(NEMESIS_TWO_NODES_CHANCE)
      ? [first, prng.pick(NODES.filter((node) => node !== first))]
      : [first];
    const fault = randomFault(prng, kinds);
    return {
      // A skew moves every node's clock (the nodes share one libfaketime file).
      nodes: fault.kind === 'skew' ? [...NODES] : picked,
      fault,
      holdMs: prng.int(...HOLD_MS),
      gapMs: prng.int(...GAP_MS),
    };
  });
}

export function describeStep({ nodes, fault, holdMs }: Step): string {
  const how = fault.kind === 'isolate' || fault.kind === 'slow' ? ` from ${fault.from}` : '';
  const delay = fault.kind === 'slow' ? ` ${fault.delayMs} ms` : '';
  const offset = fault.kind === 'skew' ? ` ${fault.offsetS > 0 ? '+' : ''}${fault.offsetS} s` : '';
  return `${fault.kind}${how}${delay}${offset} node ${nodes.join('+')} for ${holdMs} ms`;
}
