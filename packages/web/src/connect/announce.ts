import type { CompletedWithTargets } from './api';

/**
 * Tells the embedding application: a message to the window that opened or frames this page, sent
 * once per allowed origin with that origin as the target (the browser delivers it only when the
 * window is really at that origin, so no other site receives it), or the redirect to returnTo.
 */
export function announce(result: CompletedWithTargets): { redirected: boolean } {
  const message = { type: 'keyhold:connected', connectionId: result.connectionId, provider: result.provider, label: result.label };
  const target = window.opener ?? (window.parent !== window ? window.parent : null);
  if (target) for (const origin of result.allowedOrigins) (target as Window).postMessage(message, origin);
  // A page opened in a popup or a frame answers its opener; one the application navigated to
  // itself (no opener) goes back to returnTo.
  if (result.returnTo && !target) {
    const url = new URL(result.returnTo);
    url.searchParams.set('connectionId', result.connectionId);
    window.location.assign(url.toString());
    return { redirected: true };
  }
  return { redirected: false };
}
