/**
 * Stripe API versions: `YYYY-MM-DD` before the named releases, `YYYY-MM-DD.<release>` since
 * 2024-09-30.acacia (a monthly version carries the name of the major release it belongs to).
 * https://docs.stripe.com/api-versions — checked 2026-11-27 (names and start dates of the major
 * releases from https://docs.stripe.com/changelog; Dahlia's 2026-03-25 start from a secondary summary)
 * An unknown version is a 400 "Invalid Stripe API version: …" (the message clients report:
 * https://github.com/stripe/stripe-java/issues/682), so the sandbox refuses what Stripe would.
 */
const RELEASES: Array<[since: string, name: string]> = [
  ['2026-09-30', 'endive'],
  ['2026-03-25', 'dahlia'],
  ['2025-09-30', 'clover'],
  ['2025-03-31', 'basil'],
  ['2024-09-30', 'acacia'],
];

/**
 * What a Stripe account created long ago answers with when a request names no version: the
 * account's default, which differs per account (https://docs.stripe.com/api-versions). Old on
 * purpose, so a request that forgot to pin a version is visible in tests.
 */
export const ACCOUNT_DEFAULT_VERSION = '2020-08-27';

const isDate = (d: string) => {
  const t = Date.parse(`${d}T00:00:00Z`);
  return !Number.isNaN(t) && new Date(t).toISOString().slice(0, 10) === d;
};

/** Whether Stripe would accept `version` in a `Stripe-Version` header. */
export function isKnownVersion(version: string, now = Date.now()): boolean {
  const m = /^(\d{4}-\d{2}-\d{2})(?:\.([a-z]+))?$/.exec(version);
  if (!m || !isDate(m[1]!) || m[1]! < '2011-01-01' || Date.parse(m[1]!) > now) return false;
  const release = RELEASES.find(([since]) => m[1]! >= since)?.[1];
  if (!release) return m[2] === undefined;
  return m[2] === release || m[2] === 'preview';
}
