// CommonJS entry of `vitrine/preload` (`require('vitrine/preload')`): the same function as the ES module's,
// which it imports on the first call (see index.cjs for why).
'use strict';

module.exports = {
  preload: async (options) => (await import('./preload.js')).preload(options),
};
