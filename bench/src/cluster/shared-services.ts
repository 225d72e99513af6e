// Redis and Postgres as the cluster scenario measures them: the CPU of their processes, the
// PUBLISH commands Redis ran, and whether anyone else used them meanwhile.
import { Redis } from 'ioredis'
import pg from 'pg'
import { cpuSecondsByProcess, mainProcessNamed } from '../proc-stats.js'

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test'

/** Counters of the shared services at one moment; subtract two to get a window's work. */
export interface ServicesSnapshot {
  /** CPU seconds so far of each process (see `cpuSecondsBetween`). */
  readonly redisCpu: Map<number, number>
  readonly postgresCpu: Map<number, number>
  /** PUBLISH commands Redis has run (INFO commandstats): every client's, not only the cluster's. */
  readonly publishes: number
  /** Connections Redis has accepted: a new one during a window means another client was at work. */
  readonly redisConnections: number
  /** Transactions committed in databases other than `ownDatabase`, for the same reason. */
  readonly foreignCommits: number
}

/** Connections to Redis and Postgres for reading their counters, and their processes. */
export class SharedServices {
  private constructor(
    readonly redis: Redis,
    private readonly postgres: pg.Client,
    private readonly redisPid: number,
    private readonly postgresPid: number,
  ) {}

  /** Finds Redis's process (INFO server) and Postgres's main process (/proc); both must run here. */
  static async open(): Promise<SharedServices> {
    const redis = new Redis(REDIS_URL, { lazyConnect: true })
    await redis.connect()
    const postgres = new pg.Client({ connectionString: DATABASE_URL })
    try {
      await postgres.connect()
      const redisPid = Number(/process_id:(\d+)/.exec(await redis.info('server'))?.[1])
      const postgresPid = mainProcessNamed('postgres')
      if (!(redisPid > 0) || postgresPid === undefined) {
        throw new Error('the cluster scenario needs Redis and Postgres running on this machine (it reads their CPU from /proc)')
      }
      return new SharedServices(redis, postgres, redisPid, postgresPid)
    } catch (error) {
      redis.disconnect()
      await postgres.end()
      throw error
    }
  }

  async snapshot(ownDatabase: string | undefined): Promise<ServicesSnapshot> {
    const [commandstats, stats, commits] = await Promise.all([
      this.redis.info('commandstats'),
      this.redis.info('stats'),
      this.postgres.query<{ commits: string }>(
        'SELECT coalesce(sum(xact_commit), 0) AS commits FROM pg_stat_database WHERE datname IS DISTINCT FROM $1 AND datname <> current_database()',
        [ownDatabase ?? null],
      ),
    ])
    return {
      redisCpu: cpuSecondsByProcess(this.redisPid),
      postgresCpu: cpuSecondsByProcess(this.postgresPid),
      publishes: Number(/cmdstat_publish:calls=(\d+)/.exec(commandstats)?.[1] ?? 0),
      redisConnections: Number(/total_connections_received:(\d+)/.exec(stats)?.[1] ?? 0),
      foreignCommits: Number(commits.rows[0]!.commits),
    }
  }

  /** Deletes the keys under `prefix` (what a cluster leaves behind). */
  async deleteKeysUnder(prefix: string): Promise<void> {
    let cursor = '0'
    do {
      const [next, keys] = await this.redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000)
      if (keys.length > 0) await this.redis.del(...keys)
      cursor = next
    } while (cursor !== '0')
  }

  async close(): Promise<void> {
    this.redis.disconnect()
    await this.postgres.end()
  }
}
