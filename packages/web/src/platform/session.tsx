import { type ReactNode, createContext, useContext, useEffect, useMemo, useState } from 'react';
import { platformData, refreshPlatformSession, setPlatformSessionLostHandler, setPlatformToken } from './client';

export type PlatformAdminMe = { id: string; email: string; role: string; mfaEnabled: boolean; lastLoginAt: string | null };
type State = { phase: 'loading' } | { phase: 'signed-out' } | { phase: 'signed-in'; admin: PlatformAdminMe };
type SignedIn = { accessToken: string; admin: PlatformAdminMe };
type Session = {
  state: State;
  signIn(input: { email: string; password: string }): Promise<{ mfaToken: string } | null>;
  completeMfa(input: { mfaToken: string; code: string }): Promise<void>;
  signOut(): Promise<void>;
};

const Ctx = createContext<Session | null>(null);

/** Platform admins' session: its own token and cookie, never mixed with a tenant's. */
export function PlatformSessionProvider({ children }: { children: ReactNode }) {
  const [state, setState] = useState<State>({ phase: 'loading' });
  useEffect(() => setPlatformSessionLostHandler(() => setState({ phase: 'signed-out' })), []);
  useEffect(() => {
    let cancelled = false;
    (async () => {
      const admin = (await refreshPlatformSession()) ? await platformData<PlatformAdminMe>('GET', '/api/admin/auth/me').catch(() => null) : null;
      if (!cancelled) setState(admin ? { phase: 'signed-in', admin } : { phase: 'signed-out' });
    })();
    return () => void (cancelled = true);
  }, []);
  const session = useMemo<Session>(() => {
    const enter = (s: SignedIn) => {
      setPlatformToken(s.accessToken);
      setState({ phase: 'signed-in', admin: s.admin });
    };
    return {
      state,
      async signIn(input) {
        const res = await platformData<SignedIn | { mfaRequired: true; mfaToken: string }>('POST', '/api/admin/auth/login', input);
        if ('mfaRequired' in res) return { mfaToken: res.mfaToken };
        enter(res);
        return null;
      },
      async completeMfa(input) {
        enter(await platformData<SignedIn>('POST', '/api/admin/auth/mfa/verify', input));
      },
      async signOut() {
        await platformData('POST', '/api/admin/auth/logout', {}).catch(() => undefined);
        setPlatformToken(null);
        setState({ phase: 'signed-out' });
      },
    };
  }, [state]);
  return <Ctx.Provider value={session}>{children}</Ctx.Provider>;
}

export function usePlatformSession(): Session {
  const s = useContext(Ctx);
  if (!s) throw new Error('usePlatformSession outside PlatformSessionProvider');
  return s;
}

/** Mirrors domains/platform-admins/permissions.ts for showing buttons; the API refuses anyway. */
const PERMISSIONS: Record<string, readonly string[]> = {
  'tenants:update': ['SUPER_ADMIN', 'ADMIN', 'FINANCE', 'SALES'],
  'tenants:suspend': ['SUPER_ADMIN', 'ADMIN', 'SUPPORT'],
  'platform:read': ['SUPER_ADMIN', 'ADMIN', 'DEVELOPER', 'SUPPORT'],
};
export function usePlatformAdmin() {
  const { state } = usePlatformSession();
  if (state.phase !== 'signed-in') throw new Error('usePlatformAdmin while signed out');
  return { ...state.admin, may: (permission: keyof typeof PERMISSIONS) => PERMISSIONS[permission]!.includes(state.admin.role) };
}
