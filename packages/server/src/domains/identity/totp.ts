import { randomInt } from 'node:crypto';
import { generateSecret, generateURI, verify } from 'otplib';
import { Secret } from '../../platform/crypto/secret.js';
import { sha256 } from './tokens.js';

/** RFC 6238: 30 s steps, 6 digits, SHA-1 (what authenticator apps expect); ±1 step of drift. */
const STEP_SECONDS = 30;

export const newTotpSecret = () => new Secret(generateSecret());

export const otpauthUrl = (account: string, secret: Secret) =>
  generateURI({ issuer: 'Keyhold', label: account, secret: secret.reveal() });

/**
 * The time step of a valid code newer than `lastStep`, or null. Refusing steps at or before the
 * last accepted one makes every code — and every code of an earlier step — single use.
 */
export async function acceptTotp(secret: Secret, code: string, lastStep: number | null, now: Date): Promise<number | null> {
  if (!/^\d{6}$/.test(code)) return null;
  const result = await verify({
    secret: secret.reveal(),
    token: code,
    epoch: Math.floor(now.getTime() / 1000),
    epochTolerance: STEP_SECONDS,
    ...(lastStep === null ? {} : { afterTimeStep: lastStep }),
  }).catch(() => ({ valid: false as const }));
  return result.valid && 'timeStep' in result ? result.timeStep : null;
}

const RECOVERY_ALPHABET = 'abcdefghjkmnpqrstuvwxyz23456789';
export const RECOVERY_CODE = /^[a-z2-9]{4}(-[a-z2-9]{4}){3}$/;

/** Ten codes of 16 symbols (~79 bits each), shown once; only SHA-256 hashes are kept. */
export function newRecoveryCodes(count = 10): { codes: string[]; hashes: string[] } {
  const codes = Array.from({ length: count }, () => {
    const chars = Array.from({ length: 16 }, () => RECOVERY_ALPHABET[randomInt(RECOVERY_ALPHABET.length)]).join('');
    return chars.match(/.{4}/g)!.join('-');
  });
  return { codes, hashes: codes.map(hashRecoveryCode) };
}

export const hashRecoveryCode = (code: string) => sha256(`recovery:${code.trim().toLowerCase()}`);
