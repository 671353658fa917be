/**
 * @keyhold/connect: opens Keyhold's hosted Connect page for a session your back end created
 * (`POST /api/connect/sessions` → `url`) and resolves with the connection your end user made.
 * No dependencies; runs in the browser.
 */

/** What the Connect page announces to your page when an account is connected. */
export type ConnectResult = { connectionId: string; provider: string; label: string };

export type OpenConnectOptions = {
  /** `popup` (default): a small window, needed for OAuth providers. `iframe`: inside `container`. */
  mode?: 'popup' | 'iframe';
  /** Where the iframe goes (required for `iframe`). */
  container?: HTMLElement;
  /** Popup size in CSS pixels. */
  width?: number;
  height?: number;
  /** Stops waiting (removes the iframe, closes the popup) and rejects with an AbortError. */
  signal?: AbortSignal;
};

/** Why `openConnect` rejected: `closed` (the user closed the popup), `blocked`, `aborted`. */
export class ConnectError extends Error {
  constructor(readonly reason: 'closed' | 'blocked' | 'aborted', message: string) {
    super(message);
    this.name = 'ConnectError';
  }
}

const MESSAGE_TYPE = 'keyhold:connected';

function isResult(data: unknown): data is ConnectResult & { type: string } {
  if (typeof data !== 'object' || data === null) return false;
  const d = data as Record<string, unknown>;
  return d.type === MESSAGE_TYPE && typeof d.connectionId === 'string' && typeof d.provider === 'string' && typeof d.label === 'string';
}

/**
 * Opens the Connect page at `url` and resolves once it reports a connection. Only messages from
 * the Connect URL's own origin and from the window this call opened are believed; the page itself
 * sends them only to origins the session allows.
 */
export function openConnect(url: string, opts: OpenConnectOptions = {}): Promise<ConnectResult> {
  const origin = new URL(url, window.location.href).origin;
  const mode = opts.mode ?? 'popup';
  return new Promise<ConnectResult>((resolve, reject) => {
    let target: Window | null = null;
    let frame: HTMLIFrameElement | null = null;
    let popup: Window | null = null;
    let timer: ReturnType<typeof setInterval> | undefined;

    const cleanUp = () => {
      window.removeEventListener('message', onMessage);
      if (timer !== undefined) clearInterval(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      frame?.remove();
      if (popup && !popup.closed) popup.close();
    };
    const fail = (err: ConnectError) => {
      cleanUp();
      reject(err);
    };
    function onMessage(event: MessageEvent) {
      if (event.origin !== origin || event.source !== target || !isResult(event.data)) return;
      const { connectionId, provider, label } = event.data;
      cleanUp();
      resolve({ connectionId, provider, label });
    }
    function onAbort() {
      fail(new ConnectError('aborted', 'Connecting was cancelled'));
    }

    if (opts.signal?.aborted) return onAbort();
    opts.signal?.addEventListener('abort', onAbort);
    window.addEventListener('message', onMessage);

    if (mode === 'iframe') {
      if (!opts.container) return fail(new ConnectError('aborted', "openConnect: mode 'iframe' needs a container element"));
      frame = document.createElement('iframe');
      frame.src = url;
      frame.title = 'Connect an account';
      frame.style.border = '0';
      frame.style.width = '100%';
      frame.style.height = `${opts.height ?? 640}px`;
      opts.container.appendChild(frame);
      target = frame.contentWindow;
      return;
    }

    const width = opts.width ?? 520;
    const height = opts.height ?? 720;
    const left = Math.max(0, window.screenX + (window.outerWidth - width) / 2);
    const top = Math.max(0, window.screenY + (window.outerHeight - height) / 2);
    popup = window.open(url, 'keyhold-connect', `popup,width=${width},height=${height},left=${left},top=${top}`);
    if (!popup) return fail(new ConnectError('blocked', 'The browser blocked the Connect window; call openConnect from a click'));
    target = popup;
    // A closed popup sends no message: look for it, so the promise does not wait forever.
    timer = setInterval(() => {
      if (popup?.closed) fail(new ConnectError('closed', 'The Connect window was closed before an account was connected'));
    }, 400);
  });
}
