import { createHash, createPublicKey, verify as verifySignature, type KeyObject } from 'node:crypto';
import type { WebhookHooks } from '../adapter.js';
import { ACCEPT, decodeSignature, jsonBody, refuse, text } from '../shared/signed-webhooks.js';

/*
 * Wise signs every delivery with its own RSA key: `X-Signature-SHA256` = base64 RSA (PKCS#1 v1.5)
 * signature over the SHA-256 digest of the raw body; receivers verify with Wise's public key, one
 * for production and one for sandbox, both published on
 * https://docs.wise.com/guides/developer/webhooks/event-handling (reference implementations:
 * https://github.com/transferwise/digital-signatures-examples/tree/main/verify-webhook-signature).
 *
 * There is no per-tenant secret, so "no secret → reject" has nothing to guard: an empty field
 * means Wise's production key, which is exactly as strong as a tenant-pasted one. The field
 * exists for Wise's sandbox (`sandbox`), a key Wise rotates before Keyhold ships it (a PEM), and
 * Keyhold's own sandbox (its PEM). It is never empty of meaning: no value is ever "accept unsigned".
 * The signature covers only the body (no timestamp), so replays are stopped by the dedupe, not by
 * a window; and since `X-Delivery-Id` is outside the signature, the dedupe key is the body's.
 */
export const WISE_PRODUCTION_PUBLIC_KEY = `-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAvO8vXV+JksBzZAY6GhSO
XdoTCfhXaaiZ+qAbtaDBiu2AGkGVpmEygFmWP4Li9m5+Ni85BhVvZOodM9epgW3F
bA5Q1SexvAF1PPjX4JpMstak/QhAgl1qMSqEevL8cmUeTgcMuVWCJmlge9h7B1CS
D4rtlimGZozG39rUBDg6Qt2K+P4wBfLblL0k4C4YUdLnpGYEDIth+i8XsRpFlogx
CAFyH9+knYsDbR43UJ9shtc42Ybd40Afihj8KnYKXzchyQ42aC8aZ/h5hyZ28yVy
Oj3Vos0VdBIs/gAyJ/4yyQFCXYte64I7ssrlbGRaco4nKF3HmaNhxwyKyJafz19e
HwIDAQAB
-----END PUBLIC KEY-----`;
export const WISE_SANDBOX_PUBLIC_KEY = `-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAwpb91cEYuyJNQepZAVfP
ZIlPZfNUefH+n6w9SW3fykqKu938cR7WadQv87oF2VuT+fDt7kqeRziTmPSUhqPU
ys/V2Q1rlfJuXbE+Gga37t7zwd0egQ+KyOEHQOpcTwKmtZ81ieGHynAQzsn1We3j
wt760MsCPJ7GMT141ByQM+yW1Bx+4SG3IGjXWyqOWrcXsxAvIXkpUD/jK/L958Cg
nZEgz0BSEh0QxYLITnW1lLokSx/dTianWPFEhMC9BgijempgNXHNfcVirg1lPSyg
z7KqoKUN0oHqWLr2U1A+7kqrl6O2nx3CKs1bj1hToT1+p4kcMoHXA7kA+VBLUpEs
VwIDAQAB
-----END PUBLIC KEY-----`;

const NAMED: Record<string, string> = { '': WISE_PRODUCTION_PUBLIC_KEY, production: WISE_PRODUCTION_PUBLIC_KEY, sandbox: WISE_SANDBOX_PUBLIC_KEY };
const parsed = new Map<string, KeyObject | null>();
/** The verification key a field value names; null for a value that is no RSA public key (refused, never skipped). */
function keyFor(value: string): KeyObject | null {
  const pem = NAMED[value.trim().toLowerCase()] ?? value.trim();
  if (!parsed.has(pem)) {
    let key: KeyObject | null = null;
    try {
      key = createPublicKey({ key: pem, format: 'pem' });
      if (key.asymmetricKeyType !== 'rsa') key = null;
    } catch {
      key = null;
    }
    if (parsed.size > 100) parsed.clear();
    parsed.set(pem, key);
  }
  return parsed.get(pem) ?? null;
}

/** The dedupe key of a Wise notification: its signed body's digest, `sent_at` aside. */
export function wiseEventId(body: Record<string, unknown>): string {
  const { sent_at: _sentAt, ...event } = body;
  return `sha256:${createHash('sha256').update(JSON.stringify(event)).digest('hex')}`;
}

export const wiseWebhooks: WebhookHooks = {
  scheme: 'wise_rsa_sha256',
  level: 'connection',
  secretField: 'webhookPublicKey',
  verify(req, secrets) {
    const values = secrets.some((s) => s.trim() !== '') ? secrets.filter((s) => s.trim() !== '') : [''];
    const header = req.headers['x-signature-sha256'];
    if (!header) return refuse('missing_signature');
    const signature = decodeSignature(header, 'base64');
    if (!signature) return refuse('malformed');
    const keys = values.map(keyFor);
    if (keys.every((k) => k === null)) return refuse('no_secret');
    let ok = false;
    for (const key of keys) if (key) ok = verifySignature('sha256', req.raw, key, signature) || ok;
    return ok ? ACCEPT : refuse('bad_signature');
  },
  // Envelope: `{ data, subscription_id, event_type, schema_version, sent_at }` (same page). The
  // body names no event id and `X-Delivery-Id` is unsigned (kept among the stored headers for
  // display only): the id is a digest of the signed body. `sent_at` is left out of it, since the
  // page does not say whether a retry keeps it; `data` (resource, state, `occurred_at`) tells events apart.
  events(req) {
    const body = jsonBody(req);
    const topic = text(body.event_type);
    if (!topic) throw new Error('Wise webhook without an event_type');
    return [{ externalId: wiseEventId(body), topic, routingKey: null, payload: body }];
  },
};
