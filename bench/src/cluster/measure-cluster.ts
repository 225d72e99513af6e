// One run of the cluster scenario: the clients of one document spread over the instances,
// one load process per instance, so "written by another load process" means "written on
// another instance"; one measured window shared by every process.
import { forkWorker } from '../load/fork-worker.js'
import type { StartMessage, WorkerResult } from '../load/worker.js'
import { cpuSeconds, cpuSecondsBetween, machineBusySeconds } from '../proc-stats.js'
import { percentile } from '../statistics.js'
import { within } from '../within.js'
import { type ClusterKind, startCluster } from './cluster-instances.js'
import type { ServicesSnapshot, SharedServices } from './shared-services.js'

/** The load of every run: the same for each server and number of instances. */
export interface ClusterLoad {
  readonly clients: number
  /** Writers, placed on the instances in turn (writer k on instance k mod n). */
  readonly writers: number
  /** Updates a second per writer. */
  readonly writeRate: number
  readonly warmupMs: number
  readonly measureMs: number
}

/** What one run measured; CPU figures are per delivered update, in microseconds. */
export interface ClusterRun {
  readonly kind: ClusterKind
  readonly instances: number
  readonly written: number
  readonly delivered: number
  readonly expected: number
  readonly deliveredAcross: number
  readonly expectedAcross: number
  readonly sameP50: number
  readonly sameP99: number
  readonly acrossP50: number
  readonly acrossP99: number
  readonly serversCpuUs: number
  readonly redisCpuUs: number
  readonly postgresCpuUs: number
  /** PUBLISH commands per update written. */
  readonly publishesPerUpdate: number
  /** Signs of another Redis or Postgres client at work during the window (see {@link ServicesSnapshot}). */
  readonly foreignRedisConnections: number
  readonly foreignCommits: number
  /**
   * Cores other processes kept busy on average: the machine's busy time less this bench's
   * own tree (instances, load processes), Redis and Postgres.
   */
  readonly foreignCores: number
}

/** How long every client may take to connect and sync before the run is given up. */
const CONNECT_LIMIT_MS = 120_000
const DRAIN_MS = 2000
const DOCUMENT = 'bench-cluster'

const nowMicros = () => Number(process.hrtime.bigint() / 1000n)
const until = (micros: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, (micros - nowMicros()) / 1000)))

/** Starts `instances` of `kind`, runs `load` on them, stops them; null when the clients could not all sync. */
export async function measureCluster(
  kind: ClusterKind,
  instances: number,
  load: ClusterLoad,
  services: SharedServices,
): Promise<ClusterRun | null> {
  const cluster = await startCluster(kind, instances, services)
  try {
    await new Promise((resolve) => setTimeout(resolve, 500))
    const loads = cluster.ports.map((port, index) => forkWorker({
      urlTemplate: cluster.target.urlTemplate(port),
      protocol: cluster.target.protocol,
      documents: [DOCUMENT],
      clientsPerDocument: Math.floor(load.clients / instances) + (index < load.clients % instances ? 1 : 0),
      writersPerDocument: Math.floor(load.writers / instances) + (index < load.writers % instances ? 1 : 0),
      writeRate: load.writeRate,
      awarenessRate: 0,
      warmupMs: load.warmupMs,
      measureMs: load.measureMs,
      drainMs: DRAIN_MS,
      waitForSync: true,
      awaitStart: true,
    }))
    const ready = await within(Promise.all(loads.map((worker) => worker.connected)), CONNECT_LIMIT_MS)
    if (ready === null) {
      process.stderr.write(`${cluster.target.name} × ${instances}: clients not all synced within ${CONNECT_LIMIT_MS / 1000} s; no result\n`)
      for (const worker of loads) worker.child.kill()
      return null
    }
    const windowStart = nowMicros() + load.warmupMs * 1000
    const start: StartMessage = { type: 'start', windowStart, windowEnd: windowStart + load.measureMs * 1000 }
    for (const worker of loads) worker.child.send(start)
    await until(start.windowStart)
    const before = await snapshot()
    await until(start.windowEnd)
    const after = await snapshot()
    const results = await Promise.all(loads.map((worker) => worker.result))
    if (results.some((result) => result === null)) throw new Error(`${cluster.target.name}: a load process ended without a result`)
    return summarize(kind, instances, results as WorkerResult[], before, after)
  } finally {
    await cluster.stop()
  }

  async function snapshot(): Promise<Snapshot> {
    const shared = await services.snapshot(cluster.databaseName)
    return {
      ...shared,
      at: nowMicros(),
      serversCpuS: cluster.pids.reduce((sum, pid) => sum + cpuSeconds(pid), 0),
      benchCpuS: cpuSeconds(process.pid),
      machineBusyS: machineBusySeconds(),
    }
  }
}

interface Snapshot extends ServicesSnapshot {
  readonly at: number
  readonly serversCpuS: number
  /** This process's tree: itself, the instances and the load processes. */
  readonly benchCpuS: number
  readonly machineBusyS: number
}

function summarize(kind: ClusterKind, instances: number, results: WorkerResult[], before: Snapshot, after: Snapshot): ClusterRun {
  const clients = results.reduce((sum, result) => sum + result.connected, 0)
  const written = results.reduce((sum, result) => sum + result.sent, 0)
  const delivered = results.reduce((sum, result) => sum + result.delivered, 0)
  const deliveredAcross = results.reduce((sum, result) => sum + result.deliveredFromOthers, 0)
  const same = results.flatMap((result) => result.latenciesFromThisProcessMs).sort((a, b) => a - b)
  const across = results.flatMap((result) => result.latenciesFromOthersMs).sort((a, b) => a - b)
  const redisCpuS = cpuSecondsBetween(before.redisCpu, after.redisCpu)
  const postgresCpuS = cpuSecondsBetween(before.postgresCpu, after.postgresCpu)
  const perDelivered = (seconds: number) => (delivered === 0 ? Number.NaN : (seconds * 1e6) / delivered)
  return {
    kind,
    instances,
    written,
    delivered,
    expected: written * (clients - 1),
    deliveredAcross,
    // Each update goes to every client outside its writer's instance.
    expectedAcross: results.reduce((sum, result) => sum + result.sent * (clients - result.connected), 0),
    sameP50: percentile(same, 0.5),
    sameP99: percentile(same, 0.99),
    acrossP50: percentile(across, 0.5),
    acrossP99: percentile(across, 0.99),
    serversCpuUs: perDelivered(after.serversCpuS - before.serversCpuS),
    redisCpuUs: perDelivered(redisCpuS),
    postgresCpuUs: perDelivered(postgresCpuS),
    publishesPerUpdate: written === 0 ? Number.NaN : (after.publishes - before.publishes) / written,
    foreignRedisConnections: after.redisConnections - before.redisConnections,
    foreignCommits: after.foreignCommits - before.foreignCommits,
    foreignCores: (after.machineBusyS - before.machineBusyS - (after.benchCpuS - before.benchCpuS) - redisCpuS - postgresCpuS)
      / ((after.at - before.at) / 1e6),
  }
}
