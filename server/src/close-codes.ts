/**
 * Every close code Tandem sends, with the reason text sent along and what it means.
 * Code, docs (PROTOCOL.md) and tests all read this one table.
 */
export const CloseCode = {
  normal: 1000,
  goingAway: 1001,
  protocolError: 1002,
  unsupportedData: 1003,
  policyViolation: 1008,
  messageTooBig: 1009,
  internalError: 1011,
  serviceRestart: 1012,
  tryAgainLater: 1013,
  invalidDocumentName: 4400,
  unauthorized: 4401,
  forbidden: 4403,
  documentDeleted: 4404,
  authenticationTimeout: 4408,
} as const

export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode]

/** The reason text sent with each close code, and when it is sent. */
export const closeReasons: Readonly<Record<CloseCode, { reason: string, when: string }>> = {
  1000: { reason: 'normal closure', when: 'the server closed the connection on purpose' },
  1001: {
    reason: 'server shutting down',
    when: 'the code embedding Tandem stopped it for good with stop(CloseCode.goingAway); reconnect later',
  },
  1002: {
    reason: 'malformed message',
    when: 'a frame could not be decoded, or carried an invalid Yjs update or awareness state',
  },
  1003: { reason: 'binary frames only', when: 'a text frame arrived' },
  1008: {
    reason: 'policy violation',
    when: 'the connection broke a policy (message rate, too much sent before its document opened)',
  },
  1009: { reason: 'message too big', when: 'a frame was larger than MAX_MESSAGE_BYTES' },
  1011: {
    reason: 'internal error',
    when: 'the document could not be loaded or stored; reconnect to resend',
  },
  1012: {
    reason: 'server restarting',
    when: 'the server is stopping (SIGTERM, SIGINT, stop()) after storing every write, or a document was opened while it stopped; reconnect at once',
  },
  1013: {
    reason: 'too slow',
    when: 'the client did not read its messages and its send buffer passed the limit, or the server holds too much for documents still opening',
  },
  4400: { reason: 'invalid document name', when: 'the document name breaks the naming rules' },
  4401: { reason: 'unauthorized', when: 'no token, a bad one, or an expired one' },
  4403: { reason: 'forbidden', when: 'the token does not cover this document or action' },
  4404: { reason: 'document deleted', when: 'the document was deleted, while connected or before joining' },
  4408: { reason: 'authentication timeout', when: 'no authentication arrived in time' },
}

/** The reason text for a close code. */
export function reasonFor(code: CloseCode): string {
  return closeReasons[code].reason
}
