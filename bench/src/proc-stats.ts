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
  let ticks = 0
  for (const pid of tree(root)) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      ticks += Number(fields[11]) + Number(fields[12])
    } catch {
      // ended
    }
  }
  return ticks / TICKS_PER_SECOND
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
