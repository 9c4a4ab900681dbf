/** @type {import('jest').Config} */
const base = {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  // Sources import './x.js' (NodeNext ESM); jest resolves the .ts file.
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: {
    '^.+\\.ts$': ['ts-jest', { useESM: true }],
    // ESM-only packages that CommonJS dependencies require() (jest on Node < 24 cannot require ESM):
    // compiled to CommonJS for the tests only; production Node loads them natively.
    '/node_modules/content-disposition/.+\\.js$': ['babel-jest', { plugins: ['@babel/plugin-transform-modules-commonjs'] }],
  },
  transformIgnorePatterns: ['/node_modules/(?!content-disposition/)'],
};

export default {
  maxWorkers: 2,
  // A worker's event loop is empty within milliseconds of jest's "end" (no handle left open), but
  // the process itself (V8 and libuv teardown) takes 300–600 ms more on a busy 2-core machine: past
  // jest's default 500 ms it was killed and reported as "failed to exit gracefully". A worker
  // that a leaked handle really keeps alive still gets the warning, after 5 s.
  workerGracefulExitTimeout: 5000,
  // e2e tests start real servers on a 2-core machine; per-test limits are set where tests need more.
  testTimeout: 60000,
  projects: [
    { ...base, displayName: 'unit', testMatch: ['<rootDir>/src/**/*.spec.ts', '<rootDir>/packages/*/src/**/*.spec.ts'] },
    {
      ...base,
      displayName: 'e2e',
      testMatch: ['<rootDir>/test/**/*.e2e-spec.ts'],
      // e2e and integration tests share one PostgreSQL: started (or taken from TEST_DATABASE_URL),
      // given a fresh database whose name contains "test", and migrated once here. Unit tests (pure
      // domain logic) need none: a run of the unit project alone starts no database.
      globalSetup: '<rootDir>/test/global-setup.mjs',
      globalTeardown: '<rootDir>/test/global-teardown.mjs',
    },
  ],
};
