/**
 * CPU time a process has used (user + system, from /proc/<pid>/stat), in milliseconds. On a
 * machine shared with other work, throughput moves with the neighbours' load; the CPU a process
 * spends per request moves far less, so the scenarios report both.
 */
import { readFileSync } from 'node:fs'

const TICKS_PER_SECOND = 100

export function cpuMs (pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // Fields after the command name (which may hold spaces, inside parentheses): utime is the 14th field, stime the 15th.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return (Number(fields[11]) + Number(fields[12])) * 1000 / TICKS_PER_SECOND
  } catch {
    return Number.NaN
  }
}
