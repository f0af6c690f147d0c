// How many cores other processes keep busy right now, for choosing compute threads. The 1-minute load
// average is a poor guide: it still counts this process's own earlier work (the steps before
// finetune in `pipeline all`, or the previous benchmark run), so it picked 1 thread on idle machines.
import { readFileSync } from "node:fs";
import { availableParallelism, loadavg } from "node:os";

let cached: number | undefined;

/** Busy cores of all processes (from /proc/stat) over `ms`, minus this process's own CPU time. */
export function sampleOtherLoad(ms: number): number | undefined {
  const read = (): number[] | undefined => {
    try {
      const line = readFileSync("/proc/stat", "utf8").split("\n", 1)[0]!;
      return line.trim().split(/\s+/).slice(1).map(Number);
    } catch {
      return undefined;
    }
  };
  const a = read();
  if (!a) return undefined;
  const own0 = process.cpuUsage();
  const t0 = performance.now();
  // A synchronous sleep: callers are synchronous and this runs once per process.
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
  const b = read()!;
  const seconds = (performance.now() - t0) / 1000;
  const own = process.cpuUsage(own0);
  // Fields: user nice system idle iowait irq softirq steal ...; idle + iowait are not busy.
  const delta = b.map((v, i) => v - a[i]!);
  const total = delta.slice(0, 8).reduce((s, v) => s + v, 0);
  const idle = delta[3]! + (delta[4] ?? 0);
  if (total <= 0) return undefined;
  const cores = availableParallelism();
  const busyCores = ((total - idle) / total) * cores;
  const ownCores = (own.user + own.system) / 1e6 / seconds;
  return Math.max(0, busyCores - ownCores);
}

/** Cores busy with other processes: sampled once (150 ms) per process; the load average where /proc is absent. */
export function otherCpuLoad(): number {
  cached ??= sampleOtherLoad(150) ?? loadavg()[0]!;
  return cached;
}

/**
 * Threads for compute: `wanted` (default all cores), fewer when other processes keep cores busy.
 * Parallel kernels wait at barriers for their slowest thread, and on an oversubscribed machine that
 * thread is usually descheduled — measured here at load ≈ 10 on 2 cores: tiny full training 133
 * tokens/s with 2 threads, 849 with 1.
 */
export function computeThreads(wanted = availableParallelism()): number {
  const cores = availableParallelism();
  const free = Math.round(cores - otherCpuLoad());
  return Math.max(1, Math.min(wanted, cores, free));
}
