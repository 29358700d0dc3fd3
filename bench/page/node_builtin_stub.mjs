// Stand-in for the Node built-ins (fs, path, os, perf_hooks, worker_threads)
// that tf-backend-wasm's ES build imports but only calls when it runs in Node.
export default {};
