import { readdirSync, readFileSync } from "node:fs";

/**
 * user+system CPU ms of every workerd process below an ancestor picked by `isAncestor` (by pid or
 * command line), read from /proc: Linux only, USER_HZ 100.
 */
export function workerdCpuMs(isAncestor: (pid: number, cmdline: string) => boolean): number {
  const tick = 100;
  const procs = new Map<number, { ppid: number; cmd: string; cpu: number }>();
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, "utf8");
      const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      const cmd = readFileSync(`/proc/${d}/cmdline`, "utf8").replace(/\0/g, " ");
      procs.set(Number(d), { ppid: Number(rest[1]), cmd, cpu: ((Number(rest[11]) + Number(rest[12])) * 1000) / tick });
    } catch {
      /* the process ended */
    }
  }
  let total = 0;
  for (const p of procs.values()) {
    if (!p.cmd.includes("workerd")) continue;
    for (let up = p.ppid; up; up = procs.get(up)?.ppid ?? 0) {
      if (isAncestor(up, procs.get(up)?.cmd ?? "")) {
        total += p.cpu;
        break;
      }
      if (!procs.has(up)) break;
    }
  }
  return total;
}
