import { AppError } from '../../platform/errors.js';
import type { ProviderHttp } from '../../platform/http/provider-http.js';

/** GET with a bearer token during account discovery; anything but a 200 JSON answer ends the connect attempt. */
export async function getJson(http: Pick<ProviderHttp, 'request'>, url: string, accessToken: string): Promise<unknown> {
  const res = await http.request(url, {
    headers: { accept: 'application/json', authorization: `Bearer ${accessToken}` },
  }).catch(() => null);
  if (!res || res.statusCode !== 200) {
    await res?.body.dump();
    throw new AppError('OAUTH_EXCHANGE_FAILED', 'The provider did not list the authorised accounts; try connecting again');
  }
  return res.body.json();
}

export const callbackInvalid = (message: string) => new AppError('OAUTH_CALLBACK_INVALID', message);
