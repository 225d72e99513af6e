/**
 * Bytes queued for clients across every socket, as last seen by each. A socket's queue is
 * known when something is written to it and when it drains, which is when this is told;
 * between those the figure is what it was, an overestimate while the socket sends.
 */
export class SendBudget {
  readonly #backlogs = new Map<object, number>()
  #total = 0

  constructor(readonly limit: number) {}

  /** Records the bytes queued on `socket` now; true while every socket together is within the limit. */
  record(socket: object, backlog: number): boolean {
    this.#total += backlog - (this.#backlogs.get(socket) ?? 0)
    if (backlog === 0) this.#backlogs.delete(socket)
    else this.#backlogs.set(socket, backlog)
    return this.#total <= this.limit
  }

  /** Forgets a closed socket. */
  forget(socket: object): void {
    this.record(socket, 0)
  }
}
