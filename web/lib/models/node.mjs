// mha-wasm/models in Node: loadModel also takes a folder path.
import { open, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fileSource } from './files.mjs';
import { loadModel as loadFromFiles } from './index.mjs';

async function openFolder(folder) {
  let entries;
  try {
    entries = await readdir(folder, { withFileTypes: true });
  } catch (error) {
    throw new Error(`loadModel: cannot read the folder ${folder} (${error.code ?? error.message})`);
  }
  const names = new Map();
  for (const entry of entries) if (entry.isFile()) names.set(entry.name, (await stat(join(folder, entry.name))).size);
  const read = async (name, start, end) => {
    const file = await open(join(folder, name));
    try {
      const bytes = new Uint8Array(end - start);
      let done = 0;
      while (done < bytes.length) {
        const { bytesRead } = await file.read(bytes, done, bytes.length - done, start + done);
        if (bytesRead === 0) break;
        done += bytesRead;
      }
      return bytes.subarray(0, done);
    } finally {
      await file.close();
    }
  };
  return fileSource(names, read, (name) => names.get(name));
}

/** As ./index.mjs's loadModel; `files` may also be a folder path. */
export async function loadModel(mha, files, options) {
  return loadFromFiles(mha, typeof files === 'string' ? await openFolder(files) : files, options);
}

export { SUPPORTED_ARCHITECTURES, createSampler, filterCandidates, seededRandom } from './index.mjs';
