/**
 * What else the machine was doing while a benchmark ran, and what a process spent.
 * On a shared 2-core machine a latency tail is often other processes' doing, so every
 * latency run reports the load around it. Linux only (/proc); elsewhere the fields are
 * undefined and the report says n/a.
 */
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';

export interface MachineLoad {
  /** The 1-minute load average (runnable and uninterruptible tasks). */
  loadAverage1m: number;
  /**
   * Linux pressure stall information, `some avg10` of /proc/pressure/cpu: the share (0..100)
   * of the last 10 s during which at least one task waited for a CPU. Undefined without PSI.
   */
  cpuPressureSome10s: number | undefined;
}

export function machineLoad(): MachineLoad {
  let cpuPressureSome10s: number | undefined;
  try {
    const match = /^some avg10=([\d.]+)/m.exec(readFileSync('/proc/pressure/cpu', 'utf8'));
    if (match?.[1] !== undefined) cpuPressureSome10s = Number(match[1]);
  } catch {
    cpuPressureSome10s = undefined;
  }
  return { loadAverage1m: loadavg()[0] ?? 0, cpuPressureSome10s };
}

/** Linux's USER_HZ, the unit of utime and stime in /proc/PID/stat (100 on every mainstream kernel). */
const CLOCK_TICKS_PER_SECOND = 100;

/**
 * CPU time (user + system, every thread) a process has used so far, in milliseconds,
 * from /proc/PID/stat; undefined when unreadable. 10 ms resolution.
 */
export function processCpuMs(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) is in parentheses and may hold spaces: count from after it.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // After the name: state is field 3, so utime (14) and stime (15) are at 11 and 12 here.
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    if (!Number.isFinite(utime) || !Number.isFinite(stime)) return undefined;
    return ((utime + stime) * 1000) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return undefined;
  }
}

/**
 * CPU time the whole machine has spent busy so far (every CPU, user + nice + system + irq + softirq
 * + steal; guest time is already in user), in milliseconds, from /proc/stat's first line; undefined
 * when unreadable. The difference of two readings, less what known processes used, is everyone else's.
 */
export function machineBusyCpuMs(): number | undefined {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] ?? '';
    const [label, user, nice, system, , , irq, softirq, steal] = line.split(/\s+/);
    if (label !== 'cpu') return undefined;
    const busy = [user, nice, system, irq, softirq, steal].reduce(
      (sum, field) => sum + Number(field ?? 0),
      0,
    );
    return Number.isFinite(busy) ? (busy * 1000) / CLOCK_TICKS_PER_SECOND : undefined;
  } catch {
    return undefined;
  }
}
