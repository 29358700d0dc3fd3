// A module Worker of the application that uses mha-wasm itself.
import { run } from './run.js';

self.onmessage = async (event) => {
  self.postMessage(await run(event.data.threads, (stage) => self.postMessage({ stage })));
};
