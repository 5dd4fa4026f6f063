// The browser test (test/browser/): Chromium through playwright-core against the demo stack (local
// IdP, demo site, gateway under `wrangler dev`), all started by the test itself on free ports. It
// runs in Node, not in workerd, hence a config of its own; `npm test` runs both configs.
//
// Its files end in .e2e.mts: outside the workerd config's `test/**/*.test.ts`, and outside the root
// tsconfig's `test/**/*.ts` (that program has Workers types, not Node's); test/browser/tsconfig.json
// checks them.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    environment: 'node',
    include: ['test/browser/**/*.e2e.mts'],
    // Starting wrangler dev and Chromium takes a few seconds; a sign-in takes ~2 s.
    testTimeout: 60_000,
    hookTimeout: 90_000,
    teardownTimeout: 30_000,
    fileParallelism: false,
    outputFile: { json: 'test-results/vitest-browser.json' },
  },
});
