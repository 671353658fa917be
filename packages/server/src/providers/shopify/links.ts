import type { ConnectionValues } from '../adapter.js';

/**
 * REST pagination answers carry `Link: <https://{store}/admin/api/{version}/{resource}.json?page_info=…&limit=…>; rel="next", <…>; rel="previous"`
 * (https://shopify.dev/docs/api/admin-rest/usage/pagination). Through Keyhold's proxy those URLs
 * would send the client to the store itself, where it holds no credentials; they are rewritten to
 * the same path and query under Keyhold's proxy. A URL at any other host is left as it is.
 */
export function linksToProxy(headers: Record<string, string | string[]>, ctx: { values: ConnectionValues; upstreamBase: string; proxyBase: string }): Record<string, string | string[]> {
  const link = headers.link;
  if (link === undefined) return headers;
  const store = ctx.values.config.storeDomain?.toLowerCase();
  const rewrite = (target: string) => {
    if (target.startsWith(`${ctx.upstreamBase}/`)) return ctx.proxyBase + target.slice(ctx.upstreamBase.length);
    let url: URL;
    try {
      url = new URL(target);
    } catch {
      return target;
    }
    return url.protocol === 'https:' && store !== undefined && url.host.toLowerCase() === store ? `${ctx.proxyBase}${url.pathname}${url.search}` : target;
  };
  const value = (Array.isArray(link) ? link.join(', ') : link).replace(/<([^>]*)>/g, (_, target: string) => `<${rewrite(target)}>`);
  return { ...headers, link: value };
}
