// The test runner's watchdog for one test file's process, preloaded by package.json's test scripts
// (`node --import ./test/watchdog.ts --test …`). node --test runs each file in a child process and
// waits for that process to exit: a file whose tests all finished but which left a server, a socket,
// a child process or a timer open never exits, and CI waits for its 90-minute limit. --test-timeout
// bounds tests, not files (a file left alive is "still running" forever), and --test-force-exit
// would end such a file as a pass, hiding the leak it has. So, once every test of the file has
// finished (the root `after` hook), this waits AFTER_TESTS_GRACE_MS for the file's own cleanup and
// the process's natural exit; if the process is still alive then, it prints the file and what keeps
// it alive (servers with their ports, sockets with both ends, child processes with their command) and
// exits with status 1, which fails the file; the child processes it left are killed first.
import { after } from 'node:test';
import { isMainThread } from 'node:worker_threads';

/**
 * How long a file may stay alive once its tests have finished. The root `after` hook this starts
 * from runs before the file's own `after` hooks, which stop brokers and JVMs (a reference broker's
 * stop waits up to its STOP_TIMEOUT_MS before a SIGKILL), so this is generous on a loaded machine.
 */
export const AFTER_TESTS_GRACE_MS = 120_000;
/** The grace in milliseconds for this run: KSTACK_TEST_WATCHDOG_GRACE_MS (watchdog.test.ts's short one) or the default. */
const graceMs = Number(process.env.KSTACK_TEST_WATCHDOG_GRACE_MS ?? AFTER_TESTS_GRACE_MS);
/** Exit status of a file stopped by the watchdog: a failure, whatever its tests said. */
const LEFT_OPEN_EXIT_CODE = 1;

interface HandleLike {
  constructor?: { name?: string };
  address?: () => unknown;
  localAddress?: string;
  localPort?: number;
  remoteAddress?: string;
  remotePort?: number;
  pid?: number;
  spawnargs?: string[];
  kill?: (signal: NodeJS.Signals) => boolean;
}

/** One line per handle still open, naming what a person would look for (ports, pids, commands). */
function describeHandle(handle: HandleLike): string {
  const kind = handle.constructor?.name ?? 'handle';
  if (handle.pid !== undefined) return `${kind} pid ${handle.pid}: ${(handle.spawnargs ?? []).join(' ')}`;
  if (handle.remotePort !== undefined)
    return `${kind} ${handle.localAddress}:${handle.localPort} -> ${handle.remoteAddress}:${handle.remotePort}`;
  const address = typeof handle.address === 'function' ? safeAddress(handle) : undefined;
  if (typeof address === 'object' && address !== null && Object.keys(address).length > 0)
    return `${kind} listening on ${JSON.stringify(address)}`;
  // A Socket without an address is a pipe: the runner's stdio pipes are always two of these.
  return address === undefined ? kind : `${kind} (a pipe)`;
}

function safeAddress(handle: HandleLike): unknown {
  try {
    return handle.address?.() ?? undefined;
  } catch {
    return undefined;
  }
}

/** What keeps the event loop alive: resource kinds (timers included) and the handles behind them. */
function openResources(): string {
  const kinds = process.getActiveResourcesInfo().join(', ');
  // _getActiveHandles is undocumented but is the only way to name the port or pid behind a handle.
  const handles = (process as unknown as { _getActiveHandles(): HandleLike[] })._getActiveHandles();
  return [`resources: ${kinds}`, ...handles.map((h) => `  ${describeHandle(h)}`)].join('\n');
}

/** SIGKILLs the child processes the file left running, so no broker or JVM outlives the failed file. */
function killChildren(): void {
  const handles = (process as unknown as { _getActiveHandles(): HandleLike[] })._getActiveHandles();
  for (const handle of handles) if (handle.pid !== undefined) handle.kill?.('SIGKILL');
}

function fileUnderTest(): string {
  const file = process.argv[1] ?? '(unknown file)';
  return file.startsWith(process.cwd()) ? file.slice(process.cwd().length + 1) : file;
}

// Only in a test file's own process (node --test sets NODE_TEST_CONTEXT there), never in the runner,
// and not in the worker threads a test starts (they inherit the --import).
if (process.env.NODE_TEST_CONTEXT !== undefined && isMainThread) {
  after(() => {
    const timer = setTimeout(() => {
      process.stderr.write(
        `[test watchdog] ${fileUnderTest()}: every test finished ${graceMs / 1000} s ago ` +
          `but the process is still alive; failing it (child processes killed). Still open:\n${openResources()}\n`,
      );
      killChildren();
      process.exit(LEFT_OPEN_EXIT_CODE);
    }, graceMs);
    // Unreferenced: the watchdog itself never keeps the file alive.
    timer.unref();
  });
}
