// Jest runs the JS tests as native ES modules (no Babel): `npm test` sets
// NODE_OPTIONS=--experimental-vm-modules. Tests import the built package
// from dist/, exactly what users get.
export default {
  testEnvironment: 'node',
  transform: {},
  testMatch: ['<rootDir>/tests/js/**/*.test.mjs', '<rootDir>/tests/browser/**/*.test.mjs', '<rootDir>/tests/package/**/*.test.mjs'],
  moduleFileExtensions: ['mjs', 'cjs', 'js', 'json'],
  testTimeout: 60000,
};
