// `npm run test:camunda8`: the Camunda 8 tests alone, against the protocol
// fakes (and a real cluster when CAMUNDA8_REST_ADDRESS names one). They need
// no Operaton engine, so this config has no global setup.
import base from './jest.config.js';

export default {
  ...base,
  testMatch: ['<rootDir>/test/camunda8/**/*.test.ts'],
  globalSetup: undefined,
  globalTeardown: undefined,
};
