/**
 * Measuring helpers: CPU time of this process (`process.cpuUsage`, all threads, µs) and of a child
 * process (`/proc/<pid>/stat` utime + stime, all threads, in clock ticks — proc(5)), percentiles,
 * and a description of the machine for the report. CPU time rather than wall time is what the
 * overhead ratio compares, because other work on the machine stretches wall time but not the CPU
 * a process spends; latency figures are wall time and say so.
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { cpus, loadavg, totalmem } from "node:os";

/** CPU milliseconds this process has used (user + system, every thread). */
export function selfCpuMs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

let ticksPerSecond: number | null = null;

/** USER_HZ from `getconf CLK_TCK` (100 on every Linux we know of). */
function clockTicks(): number {
  if (ticksPerSecond === null) {
    try {
      ticksPerSecond = Number(execFileSync("getconf", ["CLK_TCK"]).toString().trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/**
 * CPU milliseconds process `pid` has used (utime + stime, fields 14 and 15 of /proc/<pid>/stat,
 * counted after the parenthesised command name, which may itself hold spaces). 10 ms resolution.
 */
export function processCpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // fields[0] is field 3 (state): utime is field 14 → index 11, stime field 15 → index 12
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return ((utime + stime) * 1000) / clockTicks();
}

/** Nearest-rank percentile (p in 0..100) of `values`; NaN when empty. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(sorted.length, rank) - 1] ?? Number.NaN;
}

export const round = (value: number, digits = 1): number => {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
};

export interface Machine {
  cpuModel: string;
  logicalCores: number;
  memoryGiB: number;
  node: string;
  date: string;
  /** 1-minute load average at the start and end of the run: other work on the machine */
  loadAverage: { start: number; end: number | null };
}

export function describeMachine(): Machine {
  let cpuModel = cpus()[0]?.model ?? "unknown";
  try {
    const line = readFileSync("/proc/cpuinfo", "utf8")
      .split("\n")
      .find((l) => l.startsWith("model name"));
    if (line) cpuModel = line.split(":").slice(1).join(":").trim();
  } catch {
    // not Linux: keep os.cpus()'s name
  }
  return {
    cpuModel,
    logicalCores: cpus().length,
    memoryGiB: round(totalmem() / 2 ** 30, 1),
    node: process.version,
    date: new Date().toISOString(),
    loadAverage: { start: round(loadavg()[0] ?? 0, 2), end: null },
  };
}

export function currentLoad(): number {
  return round(loadavg()[0] ?? 0, 2);
}

export const sleep = (ms: number): Promise<void> => new Promise((done) => setTimeout(done, ms));

/**
 * Waits until process `pid` is idle (under 5 % of a core over 500 ms), at most `maxMs`: between
 * phases, so a saturated run's queued batches are not billed to the next phase.
 */
export async function waitIdle(pid: number, maxMs = 20_000): Promise<void> {
  const until = Date.now() + maxMs;
  while (Date.now() < until) {
    const before = processCpuMs(pid);
    await sleep(500);
    if (processCpuMs(pid) - before <= 25) return;
  }
}
