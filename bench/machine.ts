/**
 * What `npm run bench` needs to know about the machine and the processes it measures: the
 * machine description for the report (CPU, cores, RAM, Node and workerd versions, load average),
 * the workerd processes Miniflare starts (found as new children of this process, so their CPU
 * and RSS can be read from /proc), and a process's resident memory. Everything is Linux /proc;
 * the bench runs where the platform runs.
 */
import { readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { currentLoad, describeMachine, type Machine } from "./tokenizer/measure.ts";

export interface BenchMachine extends Machine {
  workerd: string;
  miniflare: string;
  /** load average samples taken at each phase boundary, to make the noise visible */
  loadByPhase: { phase: string; load: number }[];
}

function packageVersion(name: string): string {
  try {
    const require = createRequire(import.meta.url);
    return (require(`${name}/package.json`) as { version: string }).version;
  } catch {
    return "unknown";
  }
}

export function benchMachine(): BenchMachine {
  return {
    ...describeMachine(),
    workerd: packageVersion("workerd"),
    miniflare: packageVersion("miniflare"),
    loadByPhase: [],
  };
}

export function notePhase(machine: BenchMachine, phase: string): void {
  machine.loadByPhase.push({ phase, load: currentLoad() });
}

/** Resident set size of `pid` in MiB (VmRSS in /proc/<pid>/status); NaN once it has gone. */
export function rssMiB(pid: number): number {
  try {
    const line = readFileSync(`/proc/${pid}/status`, "utf8")
      .split("\n")
      .find((l) => l.startsWith("VmRSS:"));
    return line ? Number(line.replace(/\D+/g, "")) / 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

function parentOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
  } catch {
    return -1;
  }
}

function commOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, "utf8").trim();
  } catch {
    return "";
  }
}

/** Every workerd process descended from this one (Miniflare spawns workerd as a child). */
export function workerdPids(): number[] {
  const all = readdirSync("/proc")
    .filter((d) => /^\d+$/.test(d))
    .map(Number);
  const mine = (pid: number): boolean => {
    for (let p = pid, hops = 0; p > 1 && hops < 6; p = parentOf(p), hops++) {
      if (p === process.pid) return true;
    }
    return false;
  };
  return all.filter((pid) => commOf(pid) === "workerd" && mine(pid));
}

/** The workerd that appeared since `before` was taken (the one a Miniflare just started). */
export function newWorkerd(before: readonly number[]): number {
  const fresh = workerdPids().filter((p) => !before.includes(p));
  const pid = fresh[0];
  if (pid === undefined) throw new Error("no new workerd process found under this one");
  return pid;
}
