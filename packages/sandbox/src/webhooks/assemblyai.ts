/**
 * An AssemblyAI webhook delivery: `{ transcript_id, status }` with the header the caller chose
 * when submitting the transcript (`webhook_auth_header_name` / `_value`); nothing is signed.
 * https://www.assemblyai.com/docs/deployment/webhooks
 */
export function assemblyaiDelivery(opts: { headerName: string; headerValue: string; transcriptId: string; status: 'completed' | 'error' }): { headers: Record<string, string>; body: string } {
  return {
    headers: { 'content-type': 'application/json', [opts.headerName.toLowerCase()]: opts.headerValue },
    body: JSON.stringify({ transcript_id: opts.transcriptId, status: opts.status }),
  };
}
