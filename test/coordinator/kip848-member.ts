/**
 * A KIP-848 test member in its own process (python/kip848_member.py: librdkafka through PyPI
 * confluent-kafka, `group.protocol=consumer`, or classic with KIP848_GROUP_PROTOCOL=classic; or the
 * franz-go one), reading its JSON events; a producer; waits on conditions. Shared by
 * kip848-clients.slow.ts and kip848-migration.long.ts.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runTool } from '../engine/run-tool.ts';

const VENV_PYTHON = join(homedir(), '.cache', 'kstack', 'venv', 'bin', 'python');
const MEMBER = fileURLToPath(new URL('./python/kip848_member.py', import.meta.url));
const PRODUCE = fileURLToPath(new URL('./python/kip848_produce.py', import.meta.url));
const CONDITION_TIMEOUT_MS = 90_000;
/** The partitions of the tests' topics. */
export const PARTITIONS = 6;

export interface MemberEvent {
  event: string;
  partitions?: number[];
  p?: number;
  o?: number;
  v?: string;
  t: number;
}

export async function waitUntil(
  what: string,
  condition: () => boolean,
  timeoutMs = CONDITION_TIMEOUT_MS,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export interface MemberClient {
  readonly name: string;
  /** The member program and its first arguments (BOOTSTRAP GROUP TOPIC CLIENT_ID follow). */
  command(): string[];
}

export const LIBRDKAFKA: MemberClient = {
  name: 'librdkafka 2.16 (confluent-kafka)',
  command: () => [VENV_PYTHON, MEMBER],
};

const GO_MEMBER_DIR = fileURLToPath(new URL('./go/', import.meta.url));
/** Where `buildGoMember` put the franz-go member (null: not built in this process yet). */
let goBinary: string | null = null;

/** The franz-go member (go/, `kgo.ServerSideBalancer`): build it first with `buildGoMember`. */
export const FRANZ_GO: MemberClient = {
  name: 'franz-go 1.22 (ServerSideBalancer)',
  command: () => {
    assert.ok(goBinary !== null, 'buildGoMember() first');
    return [goBinary];
  },
};

/**
 * Builds the franz-go member from the Go module cache the setup filled (compat's franz-go driver
 * has the same requirements), once per process; returns what removes it.
 */
export async function buildGoMember(): Promise<() => void> {
  const dir = mkdtempSync(join(tmpdir(), 'kstack-kip848-go-'));
  const binary = join(dir, 'kip848-member');
  const result = await runTool('go', ['build', '-C', GO_MEMBER_DIR, '-o', binary, '.'], {
    timeoutMs: 300_000,
    env: { GOFLAGS: '-mod=mod', GOPROXY: 'off' },
  });
  assert.equal(result.code, 0, result.stderr);
  goBinary = binary;
  return () => {
    goBinary = null;
    rmSync(dir, { recursive: true, force: true });
  };
}

/** One group member in its own process (python/kip848_member.py or the franz-go one in go/). */
export class Member {
  readonly events: MemberEvent[] = [];
  readonly name: string;
  readonly #child: ChildProcess;
  #exited = false;
  stderr = '';

  constructor(
    client: MemberClient,
    bootstrap: string,
    group: string,
    topic: string,
    name: string,
    env: Record<string, string> = {},
    instanceId?: string,
  ) {
    this.name = name;
    const [command, ...args] = client.command();
    const extra = instanceId === undefined ? [] : [instanceId];
    this.#child = spawn(command!, [...args, bootstrap, group, topic, name, ...extra], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...env },
    });
    let pending = '';
    this.#child.stdout?.on('data', (chunk: Buffer) => {
      pending += chunk.toString();
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) if (line.trim() !== '') this.events.push(JSON.parse(line) as MemberEvent);
    });
    this.#child.stderr?.on('data', (chunk: Buffer) => {
      this.stderr += chunk.toString();
    });
    this.#child.on('exit', () => {
      this.#exited = true;
    });
  }

  /** The partitions held now: KIP-848 callbacks are incremental (added, then revoked). */
  assignment(): number[] {
    const held = new Set<number>();
    for (const e of this.events) {
      if (e.event === 'assign') for (const p of e.partitions ?? []) held.add(p);
      if (e.event === 'revoke') for (const p of e.partitions ?? []) held.delete(p);
    }
    return [...held].sort((a, b) => a - b);
  }

  values(): string[] {
    return this.events.filter((e) => e.event === 'msg').map((e) => e.v ?? '');
  }

  /** Milliseconds from the member's start to its first non-empty assignment. */
  firstAssignmentMs(): number {
    const start = this.events.find((e) => e.event === 'start');
    const first = this.events.find((e) => e.event === 'assign' && (e.partitions ?? []).length > 0);
    assert.ok(start && first, `${this.name}: no assignment yet`);
    return first.t - start.t;
  }

  async stop(signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM'): Promise<void> {
    if (this.#exited) return;
    const exited = new Promise<void>((resolve) => this.#child.once('exit', () => resolve()));
    this.#child.kill(signal);
    await exited;
  }
}

export async function produce(bootstrap: string, topic: string, first: number, count: number): Promise<void> {
  const result = await runTool(
    VENV_PYTHON,
    [PRODUCE, bootstrap, topic, String(PARTITIONS), String(first), String(count)],
    {
      timeoutMs: 120_000,
    },
  );
  assert.equal(result.code, 0, result.stderr.slice(-4000));
}

export function disjointUnion(members: readonly Member[]): number[] {
  const all = members.flatMap((m) => m.assignment());
  assert.equal(
    new Set(all).size,
    all.length,
    `a partition held twice: ${members.map((m) => `${m.name}=${m.assignment()}`)}`,
  );
  return all.sort((a, b) => a - b);
}
