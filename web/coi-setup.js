// Settings for coi-serviceworker.js (loaded right after this file). `?nocoi` in the page URL keeps the
// service worker out, to see the page as a plain static host without COOP/COEP would serve it.
window.coi = {
  shouldRegister: () => !/[?&]nocoi\b/.test(location.search),
  shouldDeregister: () => /[?&]nocoi\b/.test(location.search),
  quiet: true,
};
