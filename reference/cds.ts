/**
 * Class data sharing for the reference's JVMs (brokers, kafka-storage), as reference/bin/java-cds
 * does for the tools: the first run of a main class writes Java's dynamic archive of the classes it
 * loaded, later runs map it and start sooner. Done here rather than through the bash script because
 * tests SIGKILL the brokers: the child must be the JVM itself.
 */
import fs from 'node:fs';
import path from 'node:path';

/** JVM flags that keep its CDS notes off stderr (an unusable archive is ignored: -Xshare:auto). */
const QUIET = ['-Xshare:auto', '-Xlog:cds=off', '-Xlog:cds+dynamic=off'];

export interface CdsRun {
  /** JVM flags to put before the class path. */
  args: string[];
  /** Call once the JVM has exited: keeps the archive it wrote if it ended by itself (not SIGKILL). */
  finish(signal: NodeJS.Signals | null): void;
}

function javaBinaryMtimeMs(): number {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    try {
      return fs.statSync(path.join(dir, 'java')).mtimeMs;
    } catch {
      // Not in this directory.
    }
  }
  return 0;
}

/** Flags for one JVM run whose archive is `<dir>/<mainClass>.jsa`. */
export function cdsRun(dir: string, mainClass: string): CdsRun {
  if (process.env.KSTACK_CDS === 'off') return { args: [], finish: () => {} }; // to measure without it
  const archive = path.join(dir, `${mainClass}.jsa`);
  try {
    if (fs.statSync(archive).mtimeMs >= javaBinaryMtimeMs()) {
      return { args: [...QUIET, `-XX:SharedArchiveFile=${archive}`], finish: () => {} };
    }
  } catch {
    // No archive yet: this run writes it.
  }
  try {
    fs.mkdirSync(dir, { recursive: true });
    fs.accessSync(dir, fs.constants.W_OK);
  } catch {
    return { args: [], finish: () => {} };
  }
  const partial = `${archive}.${process.pid}.${Math.random().toString(36).slice(2)}.partial`;
  return {
    args: [...QUIET, `-XX:ArchiveClassesAtExit=${partial}`],
    finish(signal) {
      try {
        if (signal !== 'SIGKILL' && fs.statSync(partial).size > 0) fs.renameSync(partial, archive);
        else fs.rmSync(partial, { force: true });
      } catch {
        fs.rmSync(partial, { force: true });
      }
    },
  };
}
