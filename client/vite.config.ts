/**
 * Builds the dashboard into client/dist, which the gateway serves at `/`. `npm run dev:dashboard`
 * runs Vite's dev server and forwards /graphql (HTTP and WebSocket) to a gateway on PATCHBAY_URL.
 */
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

export default defineConfig({
  plugins: [react()],
  build: {
    target: 'es2022',
    // Hashed file names under assets/ are what the gateway caches for a year.
    assetsDir: 'assets',
  },
  server: {
    proxy: {
      '/graphql': { target: process.env.PATCHBAY_URL ?? 'http://127.0.0.1:4000', ws: true },
    },
  },
});
