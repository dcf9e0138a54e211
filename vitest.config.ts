import { defineConfig } from 'vitest/config';

export default defineConfig({
  // Pothos and graphql-yoga load graphql's CommonJS build; point every import at it so the
  // schema and `execute` come from one module instance.
  resolve: { alias: [{ find: /^graphql$/, replacement: 'graphql/index.js' }] },
  test: {
    include: ['tests/**/*.test.ts'],
    // PGlite starts cold in seconds and each file opens its own; PostgreSQL is shared.
    hookTimeout: 60_000,
    testTimeout: 30_000,
    // Two cores: keep file-level parallelism modest so PGlite instances do not starve each other.
    maxWorkers: 2,
    globalSetup: ['tests/support/global-setup.ts'],
    // Test servers listen on loopback: each file starts with the outbound guard allowing it.
    setupFiles: ['tests/support/outbound.ts'],
  },
});
