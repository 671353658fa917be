import { useEffect, useState } from 'react';

/**
 * Emailed links carry their token in the fragment (`#token=…`), which browsers never send to a
 * server, so it stays out of access logs. Cleared from the address bar once the page is shown
 * (after commit: a render React throws away and retries must still find it).
 */
export function useTokenFromHash(): string {
  const [token] = useState(() => new URLSearchParams(window.location.hash.slice(1)).get('token') ?? '');
  useEffect(() => {
    if (token && window.location.hash) window.history.replaceState(window.history.state, '', window.location.pathname + window.location.search);
  }, [token]);
  return token;
}
