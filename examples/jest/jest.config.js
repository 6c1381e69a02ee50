/**
 * Jest for kstack's Node API: ESM (run Jest with NODE_OPTIONS=--experimental-vm-modules), .ts files
 * through Node's type stripping (strip-types.cjs), including kstack's own source, which Jest would
 * otherwise leave untransformed (in a project of your own it sits in node_modules/kstack: keep it
 * out of transformIgnorePatterns, as below).
 */
export default {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  moduleFileExtensions: ['ts', 'js', 'cjs', 'mjs', 'json'],
  transform: { '\\.ts$': '<rootDir>/strip-types.cjs' },
  transformIgnorePatterns: ['/node_modules/(?!kstack/)'],
  testTimeout: 60_000,
};
