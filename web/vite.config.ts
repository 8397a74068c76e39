import { defineConfig } from 'vitest/config';
import react from '@vitejs/plugin-react';

// `npm run dev` proxies the API to a running `pika open` (PIKA_URL, e.g.
// http://127.0.0.1:8123); open the printed ?token= address on that server once
// so the cookie is set for 127.0.0.1, then use the dev server on the same host.
const target = process.env.PIKA_URL ?? 'http://127.0.0.1:8123';

export default defineConfig({
  plugins: [react()],
  build: {
    outDir: 'dist',
    assetsDir: 'assets',
    sourcemap: true,
    chunkSizeWarningLimit: 1500,
  },
  server: {
    host: '127.0.0.1',
    proxy: { '/api': { target, ws: true, changeOrigin: false } },
  },
  test: {
    include: ['test/**/*.test.ts'],
    environment: 'node',
  },
});
