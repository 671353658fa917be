/**
 * Emailed links carry their token in the fragment (`#token=…`), which browsers never send to a
 * server, so it stays out of access logs. Read once, then cleared from the address bar.
 */
export function takeTokenFromHash(): string {
  const token = new URLSearchParams(window.location.hash.slice(1)).get('token') ?? '';
  if (token) window.history.replaceState(window.history.state, '', window.location.pathname + window.location.search);
  return token;
}
