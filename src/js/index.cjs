// CommonJS entry (`require('vitrine')`). The API is an ES module (it locates its WebAssembly files through
// import.meta.url), which CommonJS can only reach through import(): `load` here is the same function, loaded on
// first call, and `esm()` resolves to the whole module (VitrineError, Model, …).
'use strict';

let api;
const esm = () => (api ??= import('./index.js'));

module.exports = {
  esm,
  load: async (source, options) => (await esm()).load(source, options),
};
