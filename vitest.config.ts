import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Tests talk to real processes and servers; give slow machines room, but never use time as an assertion.
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
