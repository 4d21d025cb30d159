import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const src = (p: string) => fileURLToPath(new URL(p, import.meta.url));

export default defineConfig({
  resolve: {
    alias: [
      { find: /^@mailroom\/core\/post-office$/, replacement: src('./packages/core/src/post-office/index.ts') },
      { find: /^@mailroom\/core\/testing$/, replacement: src('./packages/core/src/testing/index.ts') },
      { find: /^@mailroom\/core$/, replacement: src('./packages/core/src/index.ts') },
      { find: /^@mailroom\/server$/, replacement: src('./packages/server/src/index.ts') },
      { find: /^@mailroom\/ai$/, replacement: src('./packages/ai/src/index.ts') },
      { find: /^@mailroom\/http$/, replacement: src('./packages/http/src/index.ts') },
    ],
  },
  test: {
    include: ['packages/*/src/**/*.test.ts', 'packages/*/test/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
