// Emscripten JS library, linked into the ES module glue of the threads build
// (mha-mt.mjs) only. Emscripten 3.1.6 would create each pool worker itself,
// as a classic worker running its generated mha-mt.worker.js, which loads the
// glue with a dynamic import() of a URL. Bundlers cannot follow that (Vite 5
// and 7 refuse to build it, webpack warns and embeds build-machine paths,
// esbuild and Rollup cannot see it at all), and with a locateFile the worker
// URL ended up relative to the page.
//
// Instead the loader (web/lib/browser_threads.mjs) passes Module.mhaCreateWorker,
// which creates a module worker with the literal
//   new Worker(new URL('./mha-mt.worker.mjs', import.meta.url), { type: 'module' })
// that every bundler understands (or with the URL the caller gave), and
// watches it for load errors. web/lib/mha-mt.worker.mjs imports the glue
// statically and speaks the same protocol as Emscripten's worker.js.
LibraryManager.library.$PThread.allocateUnusedWorker = function() {
  PThread.unusedWorkers.push(Module['mhaCreateWorker']());
};
