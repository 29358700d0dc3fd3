// mha-wasm/models in Node: loadModel also takes a folder path.
import { readdir, readFile, stat } from 'node:fs/promises';
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
  return fileSource(names, async (name) => new Uint8Array(await readFile(join(folder, name))), (name) => names.get(name));
}

/** As ./index.mjs's loadModel; `files` may also be a folder path. */
export async function loadModel(mha, files, options) {
  return loadFromFiles(mha, typeof files === 'string' ? await openFolder(files) : files, options);
}

export { SUPPORTED_ARCHITECTURES, createSampler, filterCandidates, seededRandom } from './index.mjs';
