// The sandbox's Shopify, in a process of its own (bench/syncs.mjs): prints its URL, then grows
// stores on request (IPC `{ store, token, count }` → `{ ready: store }`). Stores have the REST
// limits of the Commerce Components plan (40/s, bucket 800), so a 400-page store fits one bucket.
import { createSandbox } from '../packages/sandbox/dist/index.js';

const sandbox = await createSandbox();
sandbox.limits.configure('shopify', { bucket: 800, leakPerSecond: 40 });
process.on('message', ({ store, token, count }) => {
  sandbox.seed('shopify', { accessToken: token, storeDomain: store });
  sandbox.shopifyOrders.grow(store, count);
  process.send({ ready: store });
});
process.on('disconnect', () => void sandbox.close().then(() => process.exit(0)));
process.send({ url: sandbox.url });
