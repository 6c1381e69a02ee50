import { UsageError } from '../common/cli-errors.ts';

/**
 * Input that cannot be validated at all: a file that is not YAML, a missing include,
 * a key the Compose specification does not know, an unreadable env file. The command
 * prints it (file, line, what to do) and exits 2 without a stack trace.
 */
export class InputError extends UsageError {
  readonly file: string;
  readonly line: number | undefined;
  readonly detail: string;

  constructor(file: string, line: number | undefined, detail: string) {
    super(`${line === undefined ? file : `${file}:${line}`}: ${detail}`);
    this.file = file;
    this.line = line;
    this.detail = detail;
  }
}
