// Several instances of one server on one Redis prefix (and, for Tandem, one fresh Postgres
// database), started together and removed together with everything they stored.
import { randomBytes } from 'node:crypto'
import { temporaryDatabase, type TemporaryDatabase } from '@tandem/persistence/test-support/postgres'
import { freePort } from '../free-port.js'
import { hocuspocusRedisInstance, launch, type Target, tandemClusterInstance } from '../targets.js'
import { REDIS_URL, type SharedServices } from './shared-services.js'

/** Which server the cluster runs. */
export type ClusterKind = 'tandem' | 'hocuspocus'

export interface RunningCluster {
  /** What each instance is, as the load generator needs it (protocol, URL). */
  readonly target: Target
  readonly ports: readonly number[]
  readonly pids: readonly number[]
  /** Tandem's database name, for telling its Postgres work from anyone else's. */
  readonly databaseName: string | undefined
  /** Stops every instance, then drops the database and deletes the Redis keys. */
  stop(): Promise<void>
}

type Instance = Awaited<ReturnType<typeof launch>>

/** Starts `count` instances at once (Tandem's migrate under an advisory lock, as in a rollout). */
export async function startCluster(kind: ClusterKind, count: number, services: SharedServices): Promise<RunningCluster> {
  const prefix = `bench-cluster:${randomBytes(6).toString('hex')}:`
  const database: TemporaryDatabase | undefined = kind === 'tandem' ? await temporaryDatabase() : undefined
  const env = { REDIS_URL, REDIS_PREFIX: prefix, ...(database === undefined ? {} : { DATABASE_URL: database.url }) }
  const target = kind === 'tandem' ? tandemClusterInstance(env) : hocuspocusRedisInstance(env)
  const ports = await Promise.all(Array.from({ length: count }, () => freePort()))
  const launched = await Promise.allSettled(ports.map((port) => launch(target, port)))
  const instances = launched.flatMap((outcome) => (outcome.status === 'fulfilled' ? [outcome.value] : []))
  const stop = async () => {
    await Promise.all(instances.map((instance: Instance) => instance.stop()))
    await database?.dispose()
    await services.deleteKeysUnder(prefix)
  }
  const failure = launched.find((outcome) => outcome.status === 'rejected')
  if (failure !== undefined) {
    await stop()
    throw failure.reason
  }
  return {
    target,
    ports,
    pids: instances.map((instance) => instance.process.pid!),
    databaseName: database === undefined ? undefined : new URL(database.url).pathname.slice(1),
    stop,
  }
}
