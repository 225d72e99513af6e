// `--scenarios cluster`: Tandem instances on Postgres and Redis against Hocuspocus instances
// on Redis, 1 to 3 of each, interleaved in rounds; the RESULTS.md section with the issue's
// targets checked.
import { cpus, totalmem } from 'node:os'
import { median } from '../statistics.js'
import type { ClusterKind } from './cluster-instances.js'
import { type ClusterLoad, type ClusterRun, measureCluster } from './measure-cluster.js'
import { SharedServices } from './shared-services.js'

const LOAD = { clients: 100, writers: 5, writeRate: 20 }
const INSTANCE_COUNTS = [1, 2, 3]
const KINDS: readonly ClusterKind[] = ['tandem', 'hocuspocus']
const NAMES: Record<ClusterKind, string> = {
  tandem: 'Tandem (Postgres + Redis)',
  hocuspocus: 'Hocuspocus 4.7 + extension-redis (stores nothing)',
}

export interface ClusterOptions {
  readonly rounds: number
  readonly warmupMs: number
  readonly measureMs: number
  /** The command line, for the section's heading. */
  readonly command: string
}

/** Runs the scenario and returns its RESULTS.md section. */
export async function clusterSection(options: ClusterOptions): Promise<string> {
  const load: ClusterLoad = { ...LOAD, warmupMs: options.warmupMs, measureMs: options.measureMs }
  const services = await SharedServices.open()
  const runs = new Map<string, ClusterRun[]>()
  const started = Date.now()
  try {
    for (let round = 1; round <= options.rounds; round++) {
      for (const instances of INSTANCE_COUNTS) {
        for (const kind of KINDS) {
          process.stderr.write(`cluster · ${NAMES[kind]} × ${instances} · round ${round} of ${options.rounds} …\n`)
          let run = await measureCluster(kind, instances, load, services)
          for (let retry = 1; run !== null && run.foreignCores > SHARED_CORES && retry <= SHARED_RETRIES; retry++) {
            process.stderr.write(`  other processes kept ${fixed(run.foreignCores, 2)} cores busy: measuring again\n`)
            run = await measureCluster(kind, instances, load, services)
          }
          if (run === null) continue
          if (disturbed(run)) {
            process.stderr.write(`  others at work during the window: ${fixed(run.foreignCores, 2)} cores busy, `
              + `${run.foreignRedisConnections} new Redis connections, ${run.foreignCommits} commits in other databases\n`)
          }
          runs.set(`${kind} ${instances}`, [...(runs.get(`${kind} ${instances}`) ?? []), run])
        }
      }
    }
  } finally {
    await services.close()
  }
  const rows = [...runs.values()].map(combine)
  return section(rows, options, (Date.now() - started) / 1000)
}

/** Other processes kept more than this many cores busy: the run shared the machine. */
const BUSY_CORES = 0.1
/** A run that shared this much of the machine is measured again, at most this often (the last one counts). */
const SHARED_CORES = 0.25
const SHARED_RETRIES = 2
const disturbed = (run: ClusterRun) =>
  run.foreignCores > BUSY_CORES || run.foreignRedisConnections !== 0 || run.foreignCommits !== 0

/** One row for several rounds: medians, except counts (summed). */
function combine(runs: ClusterRun[]): ClusterRun {
  const combined: Record<string, unknown> = { ...runs[0]! }
  for (const key of Object.keys(combined) as Array<keyof ClusterRun>) {
    if (key === 'kind' || key === 'instances') continue
    if (['written', 'delivered', 'expected', 'deliveredAcross', 'expectedAcross', 'foreignRedisConnections', 'foreignCommits'].includes(key)) {
      combined[key] = runs.reduce((sum, run) => sum + run[key], 0)
    } else combined[key] = median(runs.map((run) => run[key] as number))
  }
  return combined as unknown as ClusterRun
}

const fixed = (value: number, digits = 1) => (Number.isNaN(value) ? '–' : value.toFixed(digits))
const percent = (lost: number, of: number) => (of === 0 ? '–' : `${fixed((100 * Math.max(0, lost)) / of, 2)}%`)
const verdict = (met: boolean) => (met ? '**met**' : '**not met**')

function section(rows: ClusterRun[], options: ClusterOptions, seconds: number): string {
  const find = (kind: ClusterKind, instances: number) => rows.find((row) => row.kind === kind && row.instances === instances)
  const lines = [
    `### cluster: 1 document, ${LOAD.clients} clients spread over the instances, ${LOAD.writers} writers at ${LOAD.writeRate} updates/s on the instances in turn, Hocuspocus protocol for both`,
    '',
    `Run ${new Date().toISOString()} on ${machine()}: \`${options.command}\` (${fixed(seconds / 60)} minutes)`,
    '',
    `Medians of ${options.rounds} round${options.rounds === 1 ? '' : 's'} (delivered / expected: all rounds together). `
    + 'One load process per instance; "cross-instance" is an update written on one instance and read on another. '
    + 'CPU per delivered update, in µs, from /proc over the measured window: the instances, the Redis process, and every '
    + 'process of the Postgres server (Tandem stores each update there before relaying it; Hocuspocus here has no database '
    + 'extension and stores nothing, which favours it). PUBLISH per update: `INFO commandstats` over the window / updates written. '
    + `A run during which other processes kept more than ${SHARED_CORES} cores busy was measured again, up to ${SHARED_RETRIES} times.`,
    '',
    '| server | instances | delivered / expected | loss | cross-instance loss | same-instance p50 / p99 ms | cross-instance p50 / p99 ms '
    + '| servers µs | Redis µs | Postgres µs | total without Postgres µs | total µs | PUBLISH per update | other processes, cores |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|',
  ]
  for (const row of rows) {
    lines.push(`| ${NAMES[row.kind]} | ${row.instances} | ${row.delivered} / ${row.expected} | ${percent(row.expected - row.delivered, row.expected)} `
      + `| ${percent(row.expectedAcross - row.deliveredAcross, row.expectedAcross)} | ${fixed(row.sameP50)} / ${fixed(row.sameP99)} `
      + `| ${fixed(row.acrossP50)} / ${fixed(row.acrossP99)} | ${fixed(row.serversCpuUs)} | ${fixed(row.redisCpuUs)} | ${fixed(row.postgresCpuUs)} `
      + `| ${fixed(row.serversCpuUs + row.redisCpuUs)} | ${fixed(row.serversCpuUs + row.redisCpuUs + row.postgresCpuUs)} `
      + `| ${fixed(row.publishesPerUpdate, 2)} | ${fixed(row.foreignCores, 2)} |`)
  }
  const single = find('tandem', 1)
  lines.push('', 'Targets from the issue:', '')
  for (const instances of INSTANCE_COUNTS.filter((count) => count > 1)) {
    const tandem = find('tandem', instances)
    const hocuspocus = find('hocuspocus', instances)
    if (tandem !== undefined && single !== undefined) {
      const ratio = tandem.acrossP99 / single.sameP99
      lines.push(`- ${instances} instances, cross-instance p99 ≤ 2× Tandem's single-instance p99: ${fixed(tandem.acrossP99)} ms against `
        + `${fixed(single.sameP99)} ms, ${fixed(ratio, 2)}×: ${verdict(ratio <= 2)}`)
    }
    if (tandem !== undefined && hocuspocus !== undefined) {
      const withPostgres = total(tandem, true) / total(hocuspocus, true)
      const withoutPostgres = total(tandem, false) / total(hocuspocus, false)
      lines.push(`- ${instances} instances, total CPU per delivered update ≤ 0.5× Hocuspocus + Redis: ${fixed(withPostgres, 2)}× counting `
        + `Postgres (${verdict(withPostgres <= 0.5)}), ${fixed(withoutPostgres, 2)}× without it (${verdict(withoutPostgres <= 0.5)})`)
    }
  }
  for (const kind of KINDS) {
    const counts = INSTANCE_COUNTS.flatMap((instances) => {
      const row = find(kind, instances)
      return row === undefined ? [] : [row.publishesPerUpdate]
    })
    // Constant: bounded by one PUBLISH per update at every size. Tandem publishes once per
    // store write, and a write may carry several updates, so fewer writers per instance can
    // raise the figure towards 1 but never past it.
    const bounded = Math.max(...counts) <= 1
    lines.push(`- PUBLISH per update constant in the number of instances (at most 1 at every size), ${NAMES[kind]}: `
      + `${counts.map((count) => fixed(count, 2)).join(' / ')} for ${INSTANCE_COUNTS.join(' / ')} instances: `
      + `${kind === 'tandem' ? verdict(bounded) : bounded ? 'bounded' : 'grows with the instances'}`)
  }
  if (rows.some(disturbed)) {
    const connections = rows.reduce((sum, row) => sum + row.foreignRedisConnections, 0)
    const commits = rows.reduce((sum, row) => sum + row.foreignCommits, 0)
    lines.push('', 'The machine was shared during some windows: "other processes, cores" is the median of what processes '
    + 'outside the bench, Redis and Postgres kept busy (of 2), and over all runs Redis accepted '
    + `${connections} connections and other databases ${commits} commits that were not the cluster's. Latency suffers `
    + 'most from that; the Redis and Postgres columns may include some of the others\' work.')
  }
  return lines.join('\n')
}

/** CPU µs per delivered update of the whole cluster, with or without the Postgres server's processes. */
function total(row: ClusterRun, withPostgres: boolean): number {
  return row.serversCpuUs + row.redisCpuUs + (withPostgres ? row.postgresCpuUs : 0)
}

/** The machine, named in the section: RESULTS.md's header may describe another one. */
function machine(): string {
  return `${cpus().length} × ${cpus()[0]?.model ?? 'CPU'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`
}
