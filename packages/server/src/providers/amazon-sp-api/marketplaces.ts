/**
 * Amazon's marketplaces: the selling region whose SP-API endpoint serves each, and the Seller
 * Central where its sellers consent.
 * - Regions and ids: https://developer-docs.amazon.com/sp-api/docs/marketplace-ids and
 *   https://developer-docs.amazon.com/sp-api/docs/sp-api-endpoints (checked 2026-11-27).
 * - Seller Central hosts: https://developer-docs.amazon.com/sp-api/docs/seller-central-urls, as
 *   Amazon's developer guide tabulates them (github.com/amzn/selling-partner-api-docs,
 *   guides/en-US/developer-guide/SellingPartnerApiDeveloperGuide.md, "Seller Central URLs"):
 *   the UK, Germany, France, Italy and Spain share sellercentral-europe.amazon.com. Ireland,
 *   Belgium, South Africa, Egypt and Saudi Arabia joined later and are not in that table; they
 *   consent on the region's shared Seller Central, since authorizations are regional
 *   ("authorizations are regional, so … your application will have access to the seller's
 *   account in any marketplace in the … region", same guide, "Constructing an OAuth authorization URI").
 */
export type Region = 'na' | 'eu' | 'fe';
export type Marketplace = { country: string; region: Region; sellerCentral: string };

const EUROPE = 'sellercentral-europe.amazon.com';
export const MARKETPLACES: Record<string, Marketplace> = {
  A2EUQ1WTGCTBG2: { country: 'CA', region: 'na', sellerCentral: 'sellercentral.amazon.ca' },
  ATVPDKIKX0DER: { country: 'US', region: 'na', sellerCentral: 'sellercentral.amazon.com' },
  A1AM78C64UM0Y8: { country: 'MX', region: 'na', sellerCentral: 'sellercentral.amazon.com.mx' },
  A2Q3Y263D00KWC: { country: 'BR', region: 'na', sellerCentral: 'sellercentral.amazon.com.br' },
  A28R8C7NBKEWEA: { country: 'IE', region: 'eu', sellerCentral: EUROPE },
  A1RKKUPIHCS9HS: { country: 'ES', region: 'eu', sellerCentral: EUROPE },
  A1F83G8C2ARO7P: { country: 'UK', region: 'eu', sellerCentral: EUROPE },
  A13V1IB3VIYZZH: { country: 'FR', region: 'eu', sellerCentral: EUROPE },
  AMEN7PMS3EDWL: { country: 'BE', region: 'eu', sellerCentral: EUROPE },
  A1805IZSGTT6HS: { country: 'NL', region: 'eu', sellerCentral: 'sellercentral.amazon.nl' },
  A1PA6795UKMFR9: { country: 'DE', region: 'eu', sellerCentral: EUROPE },
  APJ6JRA9NG5V4: { country: 'IT', region: 'eu', sellerCentral: EUROPE },
  A2NODRKZP88ZB9: { country: 'SE', region: 'eu', sellerCentral: 'sellercentral.amazon.se' },
  AE08WJ6YKNBMC: { country: 'ZA', region: 'eu', sellerCentral: EUROPE },
  A1C3SOZRARQ6R3: { country: 'PL', region: 'eu', sellerCentral: 'sellercentral.amazon.pl' },
  ARBP9OOSHTCHU: { country: 'EG', region: 'eu', sellerCentral: EUROPE },
  A33AVAJ2PDY3EV: { country: 'TR', region: 'eu', sellerCentral: 'sellercentral.amazon.com.tr' },
  A17E79C6D8DWNP: { country: 'SA', region: 'eu', sellerCentral: EUROPE },
  A2VIGQ35RCS4UG: { country: 'AE', region: 'eu', sellerCentral: 'sellercentral.amazon.ae' },
  A21TJRUUN4KGV: { country: 'IN', region: 'eu', sellerCentral: 'sellercentral.amazon.in' },
  A19VAU5U5O7RUS: { country: 'SG', region: 'fe', sellerCentral: 'sellercentral.amazon.sg' },
  A39IBJ37TRP1C6: { country: 'AU', region: 'fe', sellerCentral: 'sellercentral.amazon.com.au' },
  A1VC38T7YXB528: { country: 'JP', region: 'fe', sellerCentral: 'sellercentral.amazon.co.jp' },
};

/** North America's US marketplace: what a connection without a marketplace has always meant. */
export const DEFAULT_MARKETPLACE = 'ATVPDKIKX0DER';

/** Amazon's own Seller Central hosts (a consent URL pointed elsewhere, e.g. at the sandbox, is left alone). */
export const isSellerCentralHost = (host: string) => /^sellercentral(-europe)?\.amazon\.[a-z.]+$/.test(host);
