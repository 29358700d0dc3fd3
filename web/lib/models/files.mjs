// Where a checkpoint's files come from: a list of browser Files (names from
// File.name, e.g. a picked or dropped folder), or an object from file name to
// ArrayBuffer / Uint8Array / Blob, in any environment. (Node folder paths are
// added by ./node.mjs.) Every source answers the same questions.

const describeSource = (value) => (value === null ? 'null' : Array.isArray(value) ? 'an Array' : typeof value);

/** Base name of a path-like File name ("folder/model.safetensors" -> "model.safetensors"). */
const baseName = (name) => String(name).split(/[\\/]/).pop();

function isBlob(value) {
  return typeof Blob !== 'undefined' && value instanceof Blob;
}

// Bytes [start, end) of a value (the whole of it by default).
async function toBytes(value, name, start = 0, end = sizeOf(value)) {
  if (value instanceof ArrayBuffer) return new Uint8Array(value, start, end - start);
  if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer, value.byteOffset + start, end - start);
  if (isBlob(value)) return new Uint8Array(await value.slice(start, end).arrayBuffer());
  throw new TypeError(`files['${name}']: expected an ArrayBuffer, Uint8Array or Blob, got ${describeSource(value)}`);
}

function sizeOf(value) {
  if (value instanceof ArrayBuffer || ArrayBuffer.isView(value)) return value.byteLength;
  if (isBlob(value)) return value.size;
  return undefined;
}

/**
 * { names, has(name), size(name), bytes(name, start?, end?) -> Promise<Uint8Array>, text(name), json(name) }
 * over an object of name -> bytes, or a list of Files. Ranges let a checkpoint
 * be read header first, then one tensor at a time.
 */
export function openFiles(files) {
  let entries;
  if (Array.isArray(files) || (typeof FileList !== 'undefined' && files instanceof FileList)) {
    entries = [...files].map((file) => {
      if (!isBlob(file) || typeof file.name !== 'string') throw new TypeError(`files: expected File objects (with names), got ${describeSource(file)}`);
      return [baseName(file.webkitRelativePath || file.name), file];
    });
  } else if (files && typeof files === 'object') {
    entries = Object.entries(files).map(([name, value]) => [baseName(name), value]);
  } else {
    throw new TypeError(`files: expected a list of Files or an object of file names to bytes${typeof process === 'object' ? ', or a folder path' : ''}, got ${describeSource(files)}`);
  }
  const byName = new Map(entries);
  for (const [name, value] of byName) {
    if (sizeOf(value) === undefined) throw new TypeError(`files['${name}']: expected an ArrayBuffer, Uint8Array or Blob, got ${describeSource(value)}`);
  }
  return fileSource(byName, (name, start, end) => toBytes(byName.get(name), name, start, end), (name) => sizeOf(byName.get(name)));
}

/** A source over `names` with read(name, start, end) and size(name) (./node.mjs builds one over a folder). */
export function fileSource(names, read, size) {
  const has = (name) => names.has(name);
  const bytes = async (name, start = 0, end = size(name)) => {
    if (!has(name)) throw new Error(`loadModel: ${name} is missing (files given: ${[...names.keys()].sort().join(', ') || 'none'})`);
    return read(name, start, Math.min(end, size(name)));
  };
  const text = async (name) => new TextDecoder().decode(await bytes(name));
  const json = async (name) => {
    const t = await text(name);
    try {
      return JSON.parse(t);
    } catch (error) {
      throw new Error(`loadModel: ${name} is not valid JSON (${error.message})`);
    }
  };
  return { names: [...names.keys()], has, size, bytes, text, json };
}
