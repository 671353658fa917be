import { readFileSync } from 'node:fs';
import { hash, verify } from '@node-rs/argon2';
import { AppError } from '../../platform/errors.js';

/** argon2id, 19 MiB, t=2, p=1 — the OWASP minimum; ~20 ms per hash on one core here. */
const ARGON2 = { algorithm: 2 /* Algorithm.Argon2id (a const enum) */, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

export const PASSWORD_MIN = 12;
export const PASSWORD_MAX = 128;

let common: Set<string> | undefined;
/** Loaded on first use, not at import. */
function commonPasswords(): Set<string> {
  common ??= new Set(
    readFileSync(new URL('../../../data/common-passwords.txt', import.meta.url), 'utf8').split('\n').filter(Boolean),
  );
  return common;
}

/** Throws a 400 naming the rule the password breaks. */
export function assertPasswordPolicy(password: string, field = 'password'): void {
  const fail = (rule: string) => {
    throw new AppError('VALIDATION_FAILED', `${field}: ${rule}`);
  };
  if (password.length < PASSWORD_MIN) fail(`must be at least ${PASSWORD_MIN} characters`);
  if (password.length > PASSWORD_MAX) fail(`must be at most ${PASSWORD_MAX} characters`);
  const lower = password.toLowerCase();
  const base = lower.replace(/[\d\W_]+$/, '');
  if (commonPasswords().has(lower) || (base.length >= 4 && commonPasswords().has(base))) {
    fail('is too common; choose a password that is not on lists of breached passwords');
  }
}

export const hashPassword = (password: string) => hash(password, ARGON2);

export async function verifyPassword(passwordHash: string | null, password: string): Promise<boolean> {
  // With no hash (unknown user, pending invite) verify against a fixed hash anyway, so the
  // response takes as long as a wrong password does.
  const target = passwordHash ?? (await dummyHash());
  const ok = await verify(target, password).catch(() => false);
  return ok && passwordHash !== null;
}

let dummy: Promise<string> | undefined;
const dummyHash = () => (dummy ??= hash('keyhold-timing-equaliser', ARGON2));
