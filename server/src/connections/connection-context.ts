import type { Logger } from 'pino'
import type { Authenticator } from '../auth/authenticator.js'
import type { Metrics } from '../metrics.js'
import type { RoomRegistry } from '../room/room-registry.js'
import type { QueueBudget } from './queue-budget.js'
import type { SendBudget } from './send-budget.js'

export interface ConnectionLimits {
  /** A peer whose unsent bytes pass this (besides one larger frame) is closed with 1013. */
  readonly maxBufferedBytes: number
  /** Frames kept per document while it authenticates or loads; more closes with 1008. */
  readonly maxQueuedMessages: number
  /** Bytes of such frames kept per socket, all its documents together; more closes with 1008. */
  readonly maxQueuedBytesPerSocket: number
  /** Sustained messages a second a connection may send; beyond the burst it is closed (1008). */
  readonly messagesPerSecond: number
  readonly messageBurst: number
  /**
   * How long a Hocuspocus socket may go without authenticating a document, and each of its
   * documents without authenticating after its first frame (4408).
   */
  readonly authTimeoutMs: number
  /** How often Hocuspocus sockets get an application ping, so providers see traffic. */
  readonly appPingIntervalMs: number
}

/** What every connection needs, whichever protocol it speaks. */
export interface ConnectionContext {
  readonly registry: RoomRegistry
  readonly authenticator: Authenticator
  readonly metrics: Metrics
  readonly logger: Logger
  readonly limits: ConnectionLimits
  /** Bytes of frames waiting for their document, across every socket; past it, close 1013. */
  readonly queueBudget: QueueBudget
  /** Bytes queued for slow clients across every socket; past it, the largest queues close (1013). */
  readonly sendBudget: SendBudget
}
