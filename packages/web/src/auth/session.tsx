import { type ReactNode, createContext, useCallback, useContext, useEffect, useMemo, useState } from 'react';
import { api, refreshSession, setAccessToken, setSessionLostHandler } from '../api/client';
import type { LoginResponse, Me, Role, SignedIn } from '../api/types';

type SessionState =
  | { phase: 'loading' }
  | { phase: 'signed-out' }
  | { phase: 'signed-in'; me: Me };

type Session = {
  state: SessionState;
  /** Resolves to an MFA token when the account asks for a second step. */
  signIn(input: { tenant: string; email: string; password: string }): Promise<{ mfaToken: string } | null>;
  completeMfa(input: { mfaToken: string; code: string }): Promise<void>;
  signUp(input: { organizationName: string; slug?: string; email: string; password: string; invitation?: string }): Promise<void>;
  signOut(): Promise<void>;
  /** The person chose their own password: the temporary one no longer holds them. */
  passwordChanged(): void;
};

const SessionContext = createContext<Session | null>(null);

const meOf = (s: SignedIn): Me => ({ user: s.user, tenant: s.tenant, role: s.user.role, scopes: null });

export function SessionProvider({ children }: { children: ReactNode }) {
  const [state, setState] = useState<SessionState>({ phase: 'loading' });

  const enter = useCallback((s: SignedIn) => {
    setAccessToken(s.accessToken);
    setState({ phase: 'signed-in', me: meOf(s) });
  }, []);

  useEffect(() => setSessionLostHandler(() => setState({ phase: 'signed-out' })), []);

  // A reload keeps nobody's token: the refresh cookie decides whether the person is still signed in.
  useEffect(() => {
    let cancelled = false;
    (async () => {
      const me = (await refreshSession()) ? await api<Me>('GET', '/api/auth/me').catch(() => null) : null;
      if (!cancelled) setState(me ? { phase: 'signed-in', me } : { phase: 'signed-out' });
    })();
    return () => {
      cancelled = true;
    };
  }, []);

  const session = useMemo<Session>(() => ({
    state,
    async signIn(input) {
      const res = await api<LoginResponse>('POST', '/api/auth/login', { body: input });
      if ('mfaRequired' in res) return { mfaToken: res.mfaToken };
      enter(res);
      return null;
    },
    async completeMfa(input) {
      enter(await api<SignedIn>('POST', '/api/auth/mfa/verify', { body: input }));
    },
    async signUp(input) {
      enter(await api<SignedIn>('POST', '/api/auth/signup', { body: input }));
    },
    async signOut() {
      await api('POST', '/api/auth/logout', { body: {} }).catch(() => undefined);
      setAccessToken(null);
      setState({ phase: 'signed-out' });
    },
    passwordChanged() {
      setState((s) => (s.phase === 'signed-in' && s.me.user ? { phase: 'signed-in', me: { ...s.me, user: { ...s.me.user, mustChangePassword: false } } } : s));
    },
  }), [state, enter]);

  return <SessionContext.Provider value={session}>{children}</SessionContext.Provider>;
}

export function useSession(): Session {
  const s = useContext(SessionContext);
  if (!s) throw new Error('useSession outside SessionProvider');
  return s;
}

const RANK: Record<Role, number> = { viewer: 0, member: 1, admin: 2, owner: 3 };

/** The signed-in person; only rendered inside the signed-in shell. */
export function useMe(): Me & { atLeast(role: Role): boolean } {
  const { state } = useSession();
  if (state.phase !== 'signed-in') throw new Error('useMe while signed out');
  return { ...state.me, atLeast: (role) => RANK[state.me.role] >= RANK[role] };
}
