/** Exit codes fixed by the command-line contract (see README). */
export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;

/**
 * Bad usage or unusable input: the CLI prints the message (which must name the file,
 * line, field or flag at fault and say what to do) and exits 2, without a stack trace.
 */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}
