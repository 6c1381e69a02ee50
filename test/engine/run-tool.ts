/** Runs a client tool (kcat, python3) as a separate process and collects its output. */
import { spawn } from 'node:child_process';
import { join } from 'node:path';

export const PYTHON = '/usr/bin/python3';
export const PYTHON_DIR = join(import.meta.dirname, 'python');

export interface ToolResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export function runTool(
  command: string,
  args: readonly string[],
  options: { input?: string | Buffer; timeoutMs?: number; env?: Record<string, string> } = {},
): Promise<ToolResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, [...args], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, ...options.env },
    });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 120_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout: Buffer.concat(stdout).toString(), stderr: Buffer.concat(stderr).toString() });
    });
    child.stdin.end(options.input ?? '');
  });
}

/** Runs test/engine/python/roundtrip.py and returns its JSON summary. */
export async function pythonRoundTrip(
  bootstrap: string,
  topic: string,
  codec: string,
  count: number,
  partitions: number,
  verifyOnly = false,
): Promise<{ ok: boolean; seen?: number; [key: string]: unknown }> {
  const result = await runTool(
    PYTHON,
    [join(PYTHON_DIR, 'roundtrip.py'), bootstrap, topic, codec, String(count), String(partitions)],
    { timeoutMs: 300_000, env: verifyOnly ? { VERIFY_ONLY: '1' } : {} },
  );
  const line = result.stdout.trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(line) as { ok: boolean };
  } catch {
    throw new Error(`roundtrip.py failed (${result.code}): ${result.stdout}\n${result.stderr}`);
  }
}
