// Finds client drivers (compat/clients/*/manifest.json) and runs one job through one of them, as
// compat/PROTOCOL.md describes: JSON job on stdin, JSON result on stdout, stderr kept for reports.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { Json } from './match.ts';

export const CLIENTS_DIR = path.join(import.meta.dirname, '..', 'clients');

/** Every client issue 6 names. A client without a driver is reported as a failure, never skipped. */
export const EXPECTED_CLIENTS = [
  'java',
  'kcat',
  'python3-confluent-kafka',
  'confluent-kafka',
  'kafka-python',
  'kafkajs',
  'platformatic',
  'franz-go',
  'confluent-js',
] as const;

export interface ClientSpec {
  name: string;
  command: string[];
  env: Record<string, string>;
  dir: string;
  description: string;
}

interface Manifest {
  clients?: { name?: string; command?: string[]; env?: Record<string, string>; description?: string }[];
}

export function loadClients(dir = CLIENTS_DIR): ClientSpec[] {
  const clients: ClientSpec[] = [];
  if (!fs.existsSync(dir)) return clients;
  for (const entry of fs.readdirSync(dir).sort()) {
    const manifestFile = path.join(dir, entry, 'manifest.json');
    if (!fs.existsSync(manifestFile)) continue;
    const manifest = JSON.parse(fs.readFileSync(manifestFile, 'utf8')) as Manifest;
    for (const client of manifest.clients ?? []) {
      if (!client.name || !Array.isArray(client.command) || client.command.length === 0) {
        throw new Error(`${manifestFile}: every client needs a "name" and a non-empty "command"`);
      }
      clients.push({
        name: client.name,
        command: client.command,
        env: client.env ?? {},
        dir: path.join(dir, entry),
        description: client.description ?? '',
      });
    }
  }
  return clients;
}

export interface StepResult {
  id: string;
  op: string;
  status: 'ok' | 'error' | 'unsupported';
  value?: Json;
  error?: string;
  message?: string;
  reason?: string;
  durationMs?: number;
}

export interface DriverResult {
  protocol: number;
  client?: { name?: string; version?: string; library?: string };
  results: StepResult[];
}

export type JobOutcome =
  | { ok: true; result: DriverResult; stderrTail: string; durationMs: number }
  | { ok: false; problem: string; stderrTail: string; durationMs: number };

const STDERR_TAIL_BYTES = 4096;
const STDOUT_BYTES_MAX = 64 * 1024 * 1024;
/** Grace beyond the steps' own budgets before the runner kills a driver (PROTOCOL.md section 1). */
const KILL_GRACE_MS = 30_000;
const DEFAULT_STEP_TIMEOUT_MS = 30_000;

export function jobBudgetMs(steps: Record<string, Json>[]): number {
  let total = 0;
  for (const step of steps) {
    total += typeof step.timeoutMs === 'number' ? step.timeoutMs : DEFAULT_STEP_TIMEOUT_MS;
    if (step.op === 'sleep' && typeof step.ms === 'number') total += step.ms;
  }
  return total + KILL_GRACE_MS;
}

export function runJob(
  client: ClientSpec,
  job: { bootstrap: string; jobId: string; steps: Record<string, Json>[] },
): Promise<JobOutcome> {
  const started = Date.now();
  const [command, ...args] = client.command as [string, ...string[]];
  return new Promise((resolve) => {
    const child = spawn(command, args, {
      cwd: client.dir,
      env: { ...process.env, ...client.env, KSTACK_COMPAT_CLIENT: client.name },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let killedForTime = false;
    const timer = setTimeout(() => {
      killedForTime = true;
      child.kill('SIGKILL');
    }, jobBudgetMs(job.steps));
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      if (stdout.length < STDOUT_BYTES_MAX) stdout += chunk;
    });
    child.stderr.on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-STDERR_TAIL_BYTES);
    });
    child.stdin.on('error', () => {
      // The driver exited without reading its job; reported below from its exit.
    });
    child.stdin.end(JSON.stringify({ protocol: 1, client: client.name, ...job }));
    const finish = (outcome: JobOutcome) => {
      clearTimeout(timer);
      resolve(outcome);
    };
    child.on('error', (error) =>
      finish({
        ok: false,
        problem: `cannot start ${command}: ${error.message}`,
        stderrTail: stderr,
        durationMs: Date.now() - started,
      }),
    );
    child.on('close', (code, signal) => {
      const durationMs = Date.now() - started;
      if (killedForTime) {
        return finish({
          ok: false,
          problem: `killed after ${jobBudgetMs(job.steps)} ms (driver hung)`,
          stderrTail: stderr,
          durationMs,
        });
      }
      const line = stdout.trim().split('\n').filter(Boolean).pop() ?? '';
      try {
        const result = JSON.parse(line) as DriverResult;
        if (!Array.isArray(result.results)) throw new Error('no "results" array');
        return finish({ ok: true, result, stderrTail: stderr, durationMs });
      } catch (error) {
        return finish({
          ok: false,
          problem: `driver exited (${signal ?? code}) without a valid result: ${(error as Error).message}; stdout: ${stdout.slice(0, 300)}`,
          stderrTail: stderr,
          durationMs,
        });
      }
    });
  });
}
