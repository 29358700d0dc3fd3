// The shipped .wasm must really contain SIMD128 float arithmetic in its hot
// kernels: xsimd's sse2 kernels are lowered to wasm SIMD by -msimd128, and a
// build-flag slip (or a kernel falling back to scalar code) would still pass
// every numerical test.
//
// dist/*.wasm carry no function names. scripts/test.sh also builds
// build/wasm/profile/{mha,mha-mt}.wasm (targets mha_wasm_profile and
// mha_wasm_mt_profile, src/bindings/CMakeLists.txt): the same objects linked
// with the same flags plus --profiling-funcs, which keeps a "name" section.
// This test
//   1. checks that each profile module holds exactly the code of its shipped
//      module (see `sameCode`), so that its names describe what ships;
//   2. finds the hot kernel functions by name, and requires f32x4.mul,
//      f32x4.add and v128.load inside each one's code in dist/*.wasm.
//
// Why not a byte comparison of the Code sections: with this toolchain
// (Emscripten 3.1.6, binaryen 108) the profile link's Code section holds the
// same function bodies in another order. wasm-metadce runs binaryen's
// reorder-functions pass, which sorts functions by call count and breaks ties
// by function name; --profiling-funcs changes the names (real ones instead of
// indices), hence the order, hence every call's function index. So the
// comparison is byte-for-byte per function instead, through the one-to-one
// correspondence of functions that `matchFunctions` finds: every body must be
// byte-identical, except that a call's target must be the corresponding
// function. When the Code sections happen to be byte-identical, that is
// checked first and suffices.
//
// Disassembly by wabt's wasm-objdump (Debian package wabt).
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { init } from '../../dist/node.mjs';

const path = (relative) => fileURLToPath(new URL(`../../${relative}`, import.meta.url));
const builds = {
  'mha.wasm': { shipped: path('dist/mha.wasm'), profile: path('build/wasm/profile/mha.wasm') },
  'mha-mt.wasm': { shipped: path('dist/mha-mt.wasm'), profile: path('build/wasm/profile/mha-mt.wasm') },
};
const BUILD_HINT = 'build it with: cmake --build build/wasm --target mha_wasm_profiles (scripts/test.sh does)';

// The hot kernels, by name (names as wasm-objdump prints them: demangled).
// Every function whose name matches must contain each required instruction;
// at least one must match. Kernels not listed are inlined into these (as of
// this writing; see each note) and have no function of their own:
// row_max, scale_in_place, softcap_in_place/vector_tanh, vector_exp,
// multiply_panel_rows, multiply_row_panels, store_panel, pack_row_quads'
// transpose, exp_minus_max_sum_quad.
const REQUIRED = ['f32x4.mul', 'f32x4.add', 'v128.load'];
const requiredOf = (kernel) => [...REQUIRED, ...(kernel.also ?? [])];
const HOT_KERNELS = [
  {
    what: 'packed matrix multiply, A as rows and as row quads (projections, S = Q.K^T, O += P.V; packed_matrix_multiply and quad_packed_matrix_multiply call it; its register-blocked main loop multiply_panel_rows, multiply_row_panels and store_panel inlined)',
    name: /^void mha::kernels::detail::multiply_blocked<xsimd::sse2, (false|true)>\(/,
  },
  {
    what: 'attention score tile: S = Q.K^T through packed_matrix_multiply, softcap (vector_tanh) and masking inlined',
    name: /^mha::detail::\(anonymous namespace\)::block_scores\(/,
  },
  // i32x4.shl is the softmax exp's 2^n, built in the exponent bits.
  {
    what: 'attention query-block task: load_queries, attend_block_online with softmax_tile_rows and exp_minus_max_sum_quad, attend_block_with_weights, row_max and scale_in_place inlined',
    name: /^mha::detail::\(anonymous namespace\)::run_query_blocks\(.*\)::\$_\d+::operator\(\)\(/,
    also: ['i32x4.shl'],
  },
  {
    what: 'the softmax exp of one row (exp_minus_max_sum), out of line: the split-key (decoding) task, the weights path and partial row quads call it',
    name: /^float mha::kernels::exp_minus_max_sum<xsimd::sse2>\(/,
    also: ['i32x4.shl'],
  },
];

// --- reading a module -------------------------------------------------------

// id -> payload of each section (custom sections are keyed "0:<name>").
function sections(bytes) {
  const out = new Map();
  let p = 8;
  const leb = () => {
    let result = 0;
    let shift = 0;
    let byte;
    do {
      byte = bytes[p++];
      result += (byte & 0x7f) * 2 ** shift;
      shift += 7;
    } while (byte & 0x80);
    return result;
  };
  while (p < bytes.length) {
    const id = bytes[p++];
    const size = leb();
    const start = p;
    let key = String(id);
    if (id === 0) {
      const length = leb();
      key = `0:${bytes.subarray(p, p + length).toString('utf8')}`;
    }
    out.set(key, bytes.subarray(start, start + size));
    p = start + size;
  }
  return out;
}

// The disassembly is a few MB of text; the default 1 MB buffer would truncate it.
const objdump = (flag, file) => execFileSync('wasm-objdump', [flag, file], { encoding: 'utf8', maxBuffer: 512 * 1024 * 1024 });

// Functions (imported and defined) with their signatures, names (profile
// builds only), table slots, exports and instructions.
function readModule(file) {
  const types = [];
  const funcs = new Map(); // index -> { index, imported, sig, name, slots: [], exported, body: [] }
  let section = '';
  for (const line of objdump('-x', file).split('\n')) {
    const header = line.match(/^(\w+)\[\d+\]:$/);
    if (header) {
      section = header[1];
      continue;
    }
    let m;
    if (section === 'Type' && (m = line.match(/^ - type\[(\d+)\] (.*)$/))) types[+m[1]] = m[2];
    else if ((section === 'Import' || section === 'Function') && (m = line.match(/^ - func\[(\d+)\] sig=(\d+)(?: <(.*?)>)?(?: <- .*)?$/)))
      funcs.set(+m[1], { index: +m[1], imported: section === 'Import', sig: +m[2], name: m[3], slots: [], exported: false, body: [] });
    else if (section === 'Elem' && (m = line.match(/^ {2}- elem\[(\d+)\] = func\[(\d+)\]/))) funcs.get(+m[2]).slots.push(+m[1]);
    else if (section === 'Export' && (m = line.match(/^ - func\[(\d+)\]/))) funcs.get(+m[1]).exported = true;
  }
  for (const f of funcs.values()) f.sig = types[f.sig];

  let current = null;
  for (const line of objdump('-d', file).split('\n')) {
    const header = line.match(/^[0-9a-f]+ func\[(\d+)\](?: <.*>)?:$/);
    if (header) {
      current = funcs.get(+header[1]);
      continue;
    }
    const m = current && line.match(/^ [0-9a-f]+: ((?:[0-9a-f]{2} )*)\s*\|(.*)$/);
    if (!m) continue;
    const bytes = m[1].trim();
    const text = m[2].trim();
    if (text === '') {
      // A long instruction (v128.const, i8x16.shuffle) continues on this line.
      current.body[current.body.length - 1].bytes += ` ${bytes}`;
      continue;
    }
    const instruction = { bytes, text };
    let call;
    if ((call = text.match(/^call (\d+)/))) instruction.call = +call[1];
    else if ((call = text.match(/^call_indirect (\d+) \(type (\d+)\)/))) instruction.indirect = `${call[1]} ${types[+call[2]]}`;
    current.body.push(instruction);
  }
  return { file, bytes: readFileSync(file), funcs: [...funcs.values()] };
}

// --- the same code? ---------------------------------------------------------

const hash = (text) => createHash('sha256').update(text).digest('base64');

// An instruction as compared between the modules: its bytes, except that a
// call compares by target (mapped) and call_indirect by signature, since
// function and type indices may be renumbered.
const shape = (i) => (i.call !== undefined ? 'call' : i.indirect !== undefined ? `call_indirect ${i.indirect}` : i.bytes);

// A one-to-one correspondence between the functions of two modules whose
// code is the same up to function order: colour refinement. A function
// starts with the colour of its signature, body (call targets left out),
// table slots and export flag; each round adds the colours of its callees
// (in call order) and of its call sites (caller colour and the call's rank
// among the caller's calls: this tells apart imports of one signature), until
// the partition stops splitting.
// Functions of equal final colour are paired in index order.
function matchFunctions(a, b) {
  const initial = (f) =>
    hash(`${f.imported ? 'import' : 'func'} ${f.sig} slots ${f.slots.join(',')} ${f.exported ? 'exported' : ''}\n${f.body.map(shape).join('\n')}`);
  const setup = (mod) => {
    const byIndex = new Map(mod.funcs.map((f) => [f.index, f]));
    const callers = new Map(mod.funcs.map((f) => [f.index, []]));
    for (const f of mod.funcs)
      f.body.filter((i) => i.call !== undefined).forEach((i, k) => callers.get(i.call).push([f.index, k]));
    return { byIndex, callers, colour: new Map(mod.funcs.map((f) => [f.index, initial(f)])) };
  };
  const A = setup(a);
  const B = setup(b);
  const distinct = (s) => new Set(s.colour.values()).size;
  const round = (s, mod) => {
    const next = new Map();
    for (const f of mod.funcs) {
      const callees = f.body.filter((i) => i.call !== undefined).map((i) => s.colour.get(i.call));
      const callerColours = s.callers.get(f.index).map(([c, k]) => `${s.colour.get(c)}@${k}`).sort();
      next.set(f.index, hash(`${s.colour.get(f.index)}|${callees.join(',')}|${callerColours.join(',')}`));
    }
    s.colour = next;
  };
  let before = [distinct(A), distinct(B)];
  for (let n = 0; n < 100; ++n) {
    round(A, a);
    round(B, b);
    const after = [distinct(A), distinct(B)];
    if (after[0] === before[0] && after[1] === before[1]) break;
    before = after;
  }
  const groups = new Map();
  for (const [side, s] of [['a', A], ['b', B]])
    for (const [index, c] of s.colour) {
      if (!groups.has(c)) groups.set(c, { a: [], b: [] });
      groups.get(c)[side].push(index);
    }
  const map = new Map();
  const problems = [];
  let ambiguous = 0;
  for (const g of groups.values()) {
    if (g.a.length !== g.b.length) {
      problems.push(`no counterpart for func[${g.a.join(',')}] of ${a.file} / func[${g.b.join(',')}] of ${b.file}`);
      continue;
    }
    if (g.a.length > 1) ambiguous += g.a.length;
    g.a.sort((x, y) => x - y);
    g.b.sort((x, y) => x - y);
    g.a.forEach((index, k) => map.set(index, g.b[k]));
  }
  return { map, problems, ambiguous };
}

// Problems found comparing module a (profile) to module b (shipped): an
// empty list means the same code, function by function and byte by byte.
function sameCode(a, b) {
  const sa = sections(a.bytes);
  const sb = sections(b.bytes);
  const problems = [];
  // Table, memory, global and data: byte-identical. Code: same size.
  for (const [id, what] of [['4', 'Table'], ['5', 'Memory'], ['6', 'Global'], ['11', 'Data']])
    if (sa.has(id) !== sb.has(id) || (sa.has(id) && !sa.get(id).equals(sb.get(id)))) problems.push(`${what} sections differ`);
  if (sa.get('10').length !== sb.get('10').length) problems.push(`Code sections differ in size: ${sa.get('10').length} vs ${sb.get('10').length} bytes`);
  if (a.funcs.length !== b.funcs.length) problems.push(`${a.funcs.length} vs ${b.funcs.length} functions`);
  if (problems.length > 0) return { problems, map: new Map(), identical: false };
  if (sa.get('10').equals(sb.get('10'))) return { problems, map: new Map(a.funcs.map((f) => [f.index, f.index])), identical: true, ambiguous: 0 };

  const { map, problems: unmatched, ambiguous } = matchFunctions(a, b);
  problems.push(...unmatched);
  const bFuncs = new Map(b.funcs.map((f) => [f.index, f]));
  for (const fa of a.funcs) {
    const fb = bFuncs.get(map.get(fa.index));
    if (!fb) continue;
    const where = `func[${fa.index}] <${fa.name}> vs func[${fb.index}]`;
    if (fa.imported !== fb.imported || fa.sig !== fb.sig) problems.push(`${where}: kind or signature differs`);
    if (fa.body.length !== fb.body.length) {
      problems.push(`${where}: ${fa.body.length} vs ${fb.body.length} instructions`);
      continue;
    }
    fa.body.forEach((ia, k) => {
      const ib = fb.body[k];
      const same = ia.call !== undefined ? map.get(ia.call) === ib.call : shape(ia) === shape(ib);
      if (!same) problems.push(`${where}, instruction ${k}: "${ia.text}" vs "${ib.text}"`);
    });
  }
  return { problems: problems.slice(0, 20), map, identical: false, ambiguous };
}

// --- the tests ----------------------------------------------------------------

const count = (body, mnemonic) => body.filter((i) => i.text === mnemonic || i.text.startsWith(`${mnemonic} `)).length;
const loaded = new Map();
function load(wasm) {
  if (!loaded.has(wasm)) {
    const { shipped, profile } = builds[wasm];
    if (!existsSync(profile)) throw new Error(`${profile} is missing; ${BUILD_HINT}`);
    const s = readModule(shipped);
    const p = readModule(profile);
    loaded.set(wasm, { shipped: s, profile: p, comparison: sameCode(p, s) });
  }
  return loaded.get(wasm);
}

let mha;
beforeAll(async () => {
  mha = await init();
});

describe.each(Object.keys(builds))('%s', (wasm) => {
  test('validates in this engine, and has code', () => {
    const bytes = readFileSync(builds[wasm].shipped);
    expect(WebAssembly.validate(bytes)).toBe(true);
    expect(sections(bytes).get('10').length).toBeGreaterThan(0);
  });

  test('the profile link (with function names) holds exactly the shipped code', () => {
    const { shipped, profile, comparison } = load(wasm);
    expect(sections(profile.bytes).has('0:name')).toBe(true);
    expect(sections(shipped.bytes).has('0:name')).toBe(false);
    const problems = comparison.problems.length > 0 ? [`stale or different profile build? (${BUILD_HINT})`, ...comparison.problems] : [];
    expect(problems).toEqual([]);
    expect(comparison.map.size).toBe(shipped.funcs.length);
  });

  test.each(HOT_KERNELS.map((k) => [k.name.source, requiredOf(k).join(', '), k]))('hot kernel /%s/ has %s in the shipped code', (_source, _required, kernel) => {
    const { shipped, profile, comparison } = load(wasm);
    expect(comparison.problems).toEqual([]);
    const matches = profile.funcs.filter((f) => f.name && kernel.name.test(f.name));
    if (matches.length === 0) {
      const kernels = profile.funcs.filter((f) => f.name && /^(void |float )?mha::/.test(f.name) && count(f.body, 'f32x4.mul') > 0);
      throw new Error(`no function named ${kernel.name} (${kernel.what}); functions of mha:: with f32x4.mul:\n${kernels.map((f) => f.name).join('\n')}`);
    }
    const shippedFuncs = new Map(shipped.funcs.map((f) => [f.index, f]));
    for (const f of matches) {
      const body = shippedFuncs.get(comparison.map.get(f.index)).body;
      const missing = requiredOf(kernel).filter((m) => count(body, m) === 0);
      expect({ function: f.name, missing }).toEqual({ function: f.name, missing: [] });
    }
  });
});

test('the threads build has atomics', () => {
  const { shipped } = load('mha-mt.wasm');
  expect(shipped.funcs.some((f) => f.body.some((i) => /^memory\.atomic\.(wait32|notify)/.test(i.text)))).toBe(true);
});

test('capabilities report SIMD on and name the xsimd architecture', () => {
  expect(mha.capabilities.simd).toBe(true);
  expect(mha.capabilities.threads).toBe(1);
  expect(typeof mha.capabilities.simdArchitecture).toBe('string');
  expect(mha.capabilities.simdArchitecture.length).toBeGreaterThan(0);
  expect(mha.capabilities.version).toMatch(/^\d+\.\d+\.\d+/);
  expect(Object.isFrozen(mha.capabilities)).toBe(true);
});
