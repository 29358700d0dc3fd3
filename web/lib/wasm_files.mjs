// Where the package's files come from, and loading them with errors that
// name the URL and what came back.
//
// Every file is resolved against the entry module's own URL by default (the
// entry points write `new URL('./mha.wasm', import.meta.url)` literally, the
// form bundlers follow), or taken from the caller's wasmURL / workerURL /
// locateFile options.

/** A string, or an object with a string `href` (a URL). */
export const isURLLike = (value) => typeof value === 'string' || (typeof value === 'object' && value !== null && typeof value.href === 'string');
export const hrefOf = (value) => (typeof value === 'string' ? value : value.href);

/**
 * The location of `file`: `explicit` if given, else `locateFile(file)` if the
 * caller gave one, else `fallback()` (the entry point's module-relative URL).
 */
export function locate(file, explicit, locateFile, fallback) {
  if (explicit !== undefined) return explicit;
  if (locateFile !== undefined) {
    const located = locateFile(file);
    if (!isURLLike(located)) {
      throw new TypeError(`locateFile(${JSON.stringify(file)}): expected a string or URL, got ${located === null ? 'null' : typeof located}`);
    }
    return located;
  }
  return fallback();
}

// import.meta.url is empty when a bundler turned the entry module into a
// classic script (esbuild --format=iife, for example): say so.
export function moduleRelative(file, resolve) {
  try {
    return resolve();
  } catch (error) {
    throw new Error(`init: cannot locate ${file} next to mha-wasm's JavaScript (${error?.message ?? error}); bundle mha-wasm as an ES module, or pass init({ wasmURL })`);
  }
}

// "\0asm": every WebAssembly binary starts with it.
const MAGIC = [0x00, 0x61, 0x73, 0x6d];
const startsWithMagic = (bytes) => bytes.length >= 4 && MAGIC.every((b, i) => bytes[i] === b);

function preview(bytes) {
  const text = Array.from(bytes.subarray(0, 16), (b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.')).join('');
  return JSON.stringify(text);
}

// Vite 5 and 7 (dev server) pre-bundle dependencies into node_modules/.vite/deps/,
// where the .wasm is not, and answer with index.html.
function hint(url) {
  return /\/\.vite\/deps\//.test(url)
    ? "; Vite's dependency pre-bundling moved mha-wasm away from its .wasm: add optimizeDeps: { exclude: ['mha-wasm'] } to vite.config"
    : '';
}

/** Throws unless `bytes` start like a WebAssembly binary; `where` names the source. */
export function checkWasmBytes(bytes, where, details = '') {
  if (!startsWithMagic(bytes)) {
    throw new Error(`init: ${where} is not a WebAssembly file (${details}starts with ${preview(bytes)})${hint(where)}`);
  }
}

async function fetchChecked(url) {
  let response;
  try {
    response = await fetch(url, { credentials: 'same-origin' });
  } catch (error) {
    throw new Error(`init: could not fetch ${url}: ${error?.message ?? error}`);
  }
  if (!response.ok) {
    throw new Error(`init: could not load ${url}: HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ''}${hint(url)}`);
  }
  return response;
}

const contentType = (response) => response.headers.get('Content-Type') ?? '';

/** Fetches a .wasm over HTTP(S) and returns its bytes (Node, or a browser without streaming). */
export async function fetchWasmBytes(url) {
  const response = await fetchChecked(url);
  const bytes = new Uint8Array(await response.arrayBuffer());
  checkWasmBytes(bytes, url, `HTTP ${response.status}, Content-Type ${contentType(response) || 'none'}, `);
  return bytes;
}

async function compile(bytes, where) {
  try {
    return await WebAssembly.compile(bytes);
  } catch (error) {
    throw new Error(`init: ${where} is not a valid mha-wasm module: ${error?.message ?? error}`);
  }
}

/**
 * A compiled WebAssembly.Module from the caller's bytes, or fetched from `url`
 * (streaming compilation when it is served as application/wasm).
 */
// The URL a relative one stands for on this page, for messages.
function absolute(url) {
  try {
    return new URL(url, globalThis.location?.href).href;
  } catch {
    return String(url);
  }
}

export async function compileWasm({ wasmBinary, url }) {
  if (wasmBinary !== undefined) {
    const bytes = ArrayBuffer.isView(wasmBinary) ? new Uint8Array(wasmBinary.buffer, wasmBinary.byteOffset, wasmBinary.byteLength) : new Uint8Array(wasmBinary);
    checkWasmBytes(bytes, 'wasmBinary');
    return compile(bytes, 'wasmBinary');
  }
  const where = absolute(hrefOf(url));
  const response = await fetchChecked(where);
  const type = contentType(response);
  if (type.split(';')[0].trim().toLowerCase() === 'application/wasm' && typeof WebAssembly.compileStreaming === 'function') {
    try {
      return await WebAssembly.compileStreaming(response);
    } catch (error) {
      throw new Error(`init: ${where} (HTTP ${response.status}, application/wasm) is not a valid mha-wasm module: ${error?.message ?? error}`);
    }
  }
  const bytes = new Uint8Array(await response.arrayBuffer());
  checkWasmBytes(bytes, where, `HTTP ${response.status}, Content-Type ${type || 'none'}, `);
  return compile(bytes, where);
}

/** Module.instantiateWasm for the Emscripten glue, with an already compiled module. */
export function instantiateWith(module, onError) {
  return (imports, receiveInstance) => {
    WebAssembly.instantiate(module, imports).then(
      (instance) => receiveInstance(instance, module),
      (error) => onError(new Error(`init: instantiating the WebAssembly module failed: ${error?.message ?? error}`)),
    );
    return {};
  };
}
