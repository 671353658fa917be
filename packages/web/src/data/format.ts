/** Shared formatting of times, durations and statuses on the data screens. */
export const when = (iso: string | null | undefined, never = 'never') => (iso ? new Date(iso).toLocaleString() : never);

export function every(minutes: number) {
  if (minutes % 1440 === 0) return minutes === 1440 ? 'daily' : `every ${minutes / 1440} days`;
  if (minutes % 60 === 0) return minutes === 60 ? 'hourly' : `every ${minutes / 60} h`;
  return `every ${minutes} min`;
}

export function took(startedAt: string, finishedAt: string | null) {
  if (!finishedAt) return '…';
  const ms = new Date(finishedAt).getTime() - new Date(startedAt).getTime();
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`;
}

/** Badge colours by status word (runs, deliveries, inbound events, notifications). */
export const STATUS_COLOR: Record<string, string> = {
  succeeded: 'green', delivered: 'green', processed: 'green', sent: 'green',
  running: 'blue', pending: 'blue', received: 'blue',
  failed: 'red', bounced: 'orange', skipped: 'gray',
};
