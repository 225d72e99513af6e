import { readdirSync, readFileSync } from 'node:fs'

const TICKS_PER_SECOND = 100

/** A process and every descendant, from /proc. */
function tree(root: number): number[] {
  const children = new Map<number, number[]>()
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
      const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
      const list = children.get(parent) ?? []
      list.push(Number(entry))
      children.set(parent, list)
    } catch {
      // the process ended while we looked
    }
  }
  const all = [root]
  for (let i = 0; i < all.length; i++) all.push(...(children.get(all[i]!) ?? []))
  return all
}

/** CPU seconds (user + system) used so far by a process tree. */
export function cpuSeconds(root: number): number {
  let seconds = 0
  for (const used of cpuSecondsByProcess(root).values()) seconds += used
  return seconds
}

/** CPU seconds used so far by each process of a tree. */
export function cpuSecondsByProcess(root: number): Map<number, number> {
  const used = new Map<number, number>()
  for (const pid of tree(root)) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      used.set(pid, (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND)
    } catch {
      // ended
    }
  }
  return used
}

/**
 * CPU seconds a tree used between two readings of {@link cpuSecondsByProcess}: what each
 * process alive at the end used since the start (all of it when it started since). A
 * process that ended in between is left out, rather than subtracting its whole life.
 */
export function cpuSecondsBetween(before: Map<number, number>, after: Map<number, number>): number {
  let seconds = 0
  for (const [pid, used] of after) seconds += used - (before.get(pid) ?? 0)
  return seconds
}

/** Resident and peak resident memory of a process tree, in bytes. */
export function memory(root: number): { rss: number, peak: number } {
  let rss = 0
  let peak = 0
  for (const pid of tree(root)) {
    try {
      const status = readFileSync(`/proc/${pid}/status`, 'utf8')
      rss += Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) * 1024
      peak += Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0) * 1024
    } catch {
      // ended
    }
  }
  return { rss, peak }
}

/**
 * The main process of a server named `name` in /proc/PID/comm (`postgres`): the one whose
 * parent has another name. Its tree holds the server's other processes.
 */
export function mainProcessNamed(name: string): number | undefined {
  const commOf = (pid: number | string) => {
    try {
      return readFileSync(`/proc/${pid}/comm`, 'utf8').trim()
    } catch {
      return undefined
    }
  }
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || commOf(entry) !== name) continue
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
      const parent = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]!
      if (commOf(parent) !== name) return Number(entry)
    } catch {
      // ended
    }
  }
  return undefined
}

/** CPU seconds every core of the machine has been busy so far (/proc/stat, all but idle and iowait). */
export function machineBusySeconds(): number {
  const [user, nice, system, , , irq, softirq, steal] = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number)
  return (user! + nice! + system! + irq! + softirq! + steal!) / TICKS_PER_SECOND
}
