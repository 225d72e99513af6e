import { readFileSync } from 'node:fs'

// A client that never reads never sees the server's close frame nor its FIN, so whether the
// server let go of a connection is read from the kernel's side of it instead.
const STATES: Record<string, string> = {
  '01': 'ESTABLISHED',
  '02': 'SYN_SENT',
  '03': 'SYN_RECV',
  '04': 'FIN_WAIT1',
  '05': 'FIN_WAIT2',
  '06': 'TIME_WAIT',
  '07': 'CLOSE',
  '08': 'CLOSE_WAIT',
  '09': 'LAST_ACK',
  '0A': 'LISTEN',
  '0B': 'CLOSING',
}

/**
 * The TCP state of the server's end of each loopback connection from `clientPorts` to
 * `serverPort` (IPv4, this network namespace), or `gone` once the kernel has forgotten it.
 */
export function serverSideStates(serverPort: number, clientPorts: readonly number[]): Map<number, string> {
  const found = new Map<number, string>()
  for (const line of readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    // sl local_address rem_address st ...; addresses are HEXIP:HEXPORT
    const [, local, remote, state] = line.trim().split(/\s+/)
    if (local === undefined || remote === undefined || state === undefined) continue
    if (portOf(local) !== serverPort) continue
    found.set(portOf(remote), STATES[state] ?? state)
  }
  return new Map(clientPorts.map((port) => [port, found.get(port) ?? 'gone']))
}

function portOf(address: string): number {
  return Number.parseInt(address.slice(address.indexOf(':') + 1), 16)
}
