/**
 * The reason the server gives when a document was deleted (close code 4404): in the Close
 * message of a document that was open, and in PermissionDenied when a client joins one.
 * The same text as `closeReasons[4404]` in server/src/close-codes.ts.
 */
export const DOCUMENT_DELETED_REASON = 'document deleted'

/** Whether a Hocuspocus close or refusal says the document was deleted. */
export function saysDeleted(event: { code?: number, reason?: string } | undefined): boolean {
  return event?.code === 4404 || event?.reason === DOCUMENT_DELETED_REASON
}
