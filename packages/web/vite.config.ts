import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// Served by the Keyhold server under /admin (packages/server/src/admin-ui); `npm run build` writes dist/.
export default defineConfig({
  base: '/admin/',
  plugins: [react()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // Source maps stay out of the served files: the console ships no source of its own to strangers.
    sourcemap: false,
    chunkSizeWarningLimit: 800,
    // Two pages: the console (index.html, /admin) and the hosted Connect page (connect.html, /connect).
    rollupOptions: { input: { index: 'index.html', connect: 'connect.html' } },
  },
  server: { proxy: { '/api': 'http://127.0.0.1:3000' } },
});
