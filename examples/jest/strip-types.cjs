// A Jest transform for TypeScript that needs no compiler: Node's own type stripping (Node 22.13+),
// the same erasable-syntax TypeScript Node runs directly. kstack/testing ships as .ts source, so a
// Jest project that imports it needs this for those files too (see jest.config.js).
const { stripTypeScriptTypes } = require('node:module');

module.exports = {
  process(sourceText) {
    return { code: stripTypeScriptTypes(sourceText) };
  },
};
