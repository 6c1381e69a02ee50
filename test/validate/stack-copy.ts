/**
 * Test helper: a copy of the real stack (root file, .env.example, the messaging tier) in
 * a fresh temporary folder, optionally broken by exact text edits, so every rule is
 * tested against the files the project ships rather than a hand-made imitation.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

const STACK_PATHS = ['docker-compose.yml', '.env.example', 'infra/05-messaging/kafka'];

export const KAFKA_FILE = 'infra/05-messaging/kafka/docker-compose.yml';

export interface Edit {
  /** Path relative to the stack root. */
  readonly file: string;
  readonly from: string;
  readonly to: string;
}

export interface StackCopy {
  readonly dir: string;
  readonly rootFile: string;
  readonly envFile: string;
  remove(): void;
}

export function copyStack(edits: readonly Edit[] = []): StackCopy {
  const dir = mkdtempSync(join(tmpdir(), 'kstack-validate-'));
  for (const path of STACK_PATHS) cpSync(join(REPO_ROOT, path), join(dir, path), { recursive: true });
  for (const edit of edits) applyEdit(dir, edit);
  return {
    dir,
    rootFile: join(dir, 'docker-compose.yml'),
    envFile: join(dir, '.env.example'),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** The edit that sets `VARIABLE=value` of the shipped .env.example to `port` in a copy. */
export function envPortEdit(variable: string, port: number): Edit {
  const line = new RegExp(`^${variable}=\\d+$`, 'm').exec(
    readFileSync(join(REPO_ROOT, '.env.example'), 'utf8'),
  );
  if (line === null) throw new Error(`.env.example has no ${variable}=<number> line`);
  return { file: '.env.example', from: line[0], to: `${variable}=${port}` };
}

/** Replaces exactly one occurrence; an edit that no longer matches the stack fails loudly. */
function applyEdit(dir: string, edit: Edit): void {
  const path = join(dir, edit.file);
  const text = readFileSync(path, 'utf8');
  const count = text.split(edit.from).length - 1;
  if (count !== 1) {
    throw new Error(`edit of ${edit.file} expected exactly one '${edit.from}', found ${count}`);
  }
  writeFileSync(path, text.replace(edit.from, edit.to));
}
