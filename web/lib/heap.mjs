// Copies typed arrays into the WebAssembly heap for the length of one call.
//
// WebAssembly code can only read its own linear memory, so every input is
// copied in once and freed afterwards, whatever happens. Views of the heap
// are made fresh after each _malloc: a malloc may grow memory, which detaches
// every older view.

/**
 * entries: [{ name, data }] (typed arrays; the same array listed twice is
 * copied once). Calls fn(pointerOf) where pointerOf(data) gives its address.
 */
export function withHeapCopies(Module, entries, fn) {
  const pointers = new Map();
  try {
    for (const { name, data } of entries) {
      if (pointers.has(data)) continue;
      const bytes = data.byteLength;
      const pointer = Module._malloc(Math.max(bytes, 1));
      if (!pointer) {
        throw new RangeError(`${name}: could not allocate ${bytes} bytes in the WebAssembly heap`);
      }
      pointers.set(data, pointer);
      Module.HEAPU8.set(new Uint8Array(data.buffer, data.byteOffset, bytes), pointer);
    }
    return fn((data) => pointers.get(data));
  } finally {
    for (const pointer of pointers.values()) Module._free(pointer);
  }
}

/** The { ptr, length, shape } form the bindings read. */
export function heapTensor(pointerOf, tensor) {
  return { ptr: pointerOf(tensor.data), length: tensor.data.length, shape: tensor.shape };
}

export function heapMask(pointerOf, mask) {
  return mask === undefined ? undefined : { ...heapTensor(pointerOf, mask), kind: mask.kind };
}
