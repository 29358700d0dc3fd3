// Where the time of one case goes inside the shipped .wasm: a CPU profile in
// Node (the inspector's Profiler, in this process) or in headless Chromium
// (the same Profiler over the DevTools protocol), summed by function.
//
// Usage:
//   node bench/profile.mjs [--browser] [--seconds 4] [case ...]
//   cases: sdpa:L, sdpa:L:causal, sdpa:L:weights, sdpa:L:causal:weights, layer:L, layer:L:causal
//   (default: sdpa:512 layer:512)
//
// The module is the --profiling-funcs link (build/wasm/profile/mha.mjs and
// .wasm, `NODE_PATH=/usr/share/nodejs cmake --build build/wasm --target
// mha_wasm_profiles`) under dist/'s API: the same function bodies as
// dist/mha.wasm (tests/js/wasm_simd.test.mjs checks that), plus a name
// section, so the profile names C++ functions instead of wasm-function[123].
// Inlined kernels show up under their caller.
import { readFileSync, existsSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { fileURLToPath } from 'node:url';
import { startServer } from '../scripts/serve.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const args = process.argv.slice(2);
const browser = args.includes('--browser');
const secondsAt = args.indexOf('--seconds');
const seconds = secondsAt >= 0 ? Number(args[secondsAt + 1]) : 4;
const cases = args.filter((a, i) => !a.startsWith('--') && args[i - 1] !== '--seconds');
if (cases.length === 0) cases.push('sdpa:512', 'layer:512');

const profileWasm = `${root}build/wasm/profile/mha.wasm`;
if (!existsSync(profileWasm)) {
  console.error(`profile: ${profileWasm} is missing; build it with: cmake --build build/wasm --target mha_wasm_profiles`);
  process.exit(1);
}

// Runs in Node and, as its source text, in the page: everything it needs is inside.
async function runCase(mha, which, seconds) {
  const [kind, length, ...flags] = which.split(':');
  const L = Number(length), H = 12, D = 64, E = 768;
  const causal = flags.includes('causal'), weights = flags.includes('weights');
  let seed = 1;
  const random = (n, scale = 1) => {
    const a = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
      a[i] = (seed / 4294967296 - 0.5) * scale;
    }
    return a;
  };
  let call;
  if (kind === 'sdpa') {
    const [q, k, v] = [0, 1, 2].map(() => ({ data: random(H * L * D), shape: [1, H, L, D] }));
    call = () => mha.scaledDotProductAttention(q, k, v, { isCausal: causal, needWeights: weights });
  } else {
    const layer = mha.createMultiHeadAttention({ embedDim: E, numHeads: H });
    layer.loadWeights({
      in_proj_weight: random(3 * E * E, 0.1),
      in_proj_bias: random(3 * E),
      'out_proj.weight': random(E * E, 0.1),
      'out_proj.bias': random(E),
    });
    const x = { data: random(L * E), shape: [L, 1, E] };
    call = () => layer.forward(x, x, x, { isCausal: causal, needWeights: weights });
  }
  for (let i = 0; i < 3; i++) call();
  return { call, seconds };
}

function summarise(profile) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const frame = byId.get(id).callFrame;
    const name = frame.functionName || `(${frame.url.split('/').pop() || 'native'})`;
    const dt = profile.timeDeltas[i] ?? 0;
    self.set(name, (self.get(name) ?? 0) + dt);
    total += dt;
  });
  return [...self].sort((a, b) => b[1] - a[1]).slice(0, 12).map(([name, t]) => ({ share: t / total, name }));
}

function print(which, perCall, rows) {
  console.log(`\n${which}: ${perCall.toFixed(2)} ms per call; self time by function:`);
  for (const { share, name } of rows) console.log(`  ${(100 * share).toFixed(1).padStart(5)} %  ${name.slice(0, 140)}`);
}

if (!browser) {
  const { createInit } = await import('../dist/load_module.mjs');
  const { default: createProfileModule } = await import(`${root}build/wasm/profile/mha.mjs`);
  const init = createInit(() => createProfileModule({ wasmBinary: readFileSync(profileWasm) }), () => 'profiling uses one thread');
  const mha = await init();
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 200 });
  for (const which of cases) {
    const { call } = await runCase(mha, which, seconds);
    await session.post('Profiler.start');
    const start = performance.now();
    let calls = 0;
    while (performance.now() - start < seconds * 1000) {
      call();
      calls++;
    }
    const elapsed = performance.now() - start;
    const { profile } = await session.post('Profiler.stop');
    print(which, elapsed / calls, summarise(profile));
  }
  session.disconnect();
} else {
  const { chromium } = await import('playwright-core');
  const { CHROMIUM_ARGS } = await import('../tests/browser/browser.mjs');
  const server = await startServer({
    port: 0,
    mounts: { '/dist/': `${root}dist`, '/profile/': `${root}build/wasm/profile` },
    isolated: true,
  });
  const origin = `http://127.0.0.1:${server.address().port}`;
  const chrome = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
  const page = await chrome.newPage();
  await page.goto(`${origin}/dist/`).catch(() => {});
  const cdp = await page.context().newCDPSession(page);
  await page.evaluate(async () => {
    const { createInit } = await import('/dist/load_module.mjs');
    const { default: createProfileModule } = await import('/profile/mha.mjs');
    const init = createInit(() => createProfileModule({ locateFile: (file) => `/profile/${file}` }), () => 'profiling uses one thread');
    window.mha = await init();
  });
  await page.evaluate(`window.runCase = ${runCase.toString()}`);
  await cdp.send('Profiler.enable');
  await cdp.send('Profiler.setSamplingInterval', { interval: 200 });
  for (const which of cases) {
    await page.evaluate(async ([which, seconds]) => {
      window.current = await window.runCase(window.mha, which, seconds);
    }, [which, seconds]);
    await cdp.send('Profiler.start');
    const perCall = await page.evaluate(() => {
      const { call, seconds } = window.current;
      const start = performance.now();
      let calls = 0;
      while (performance.now() - start < seconds * 1000) {
        call();
        calls++;
      }
      return (performance.now() - start) / calls;
    });
    const { profile } = await cdp.send('Profiler.stop');
    print(`${which} (Chromium)`, perCall, summarise(profile));
  }
  await chrome.close();
  await new Promise((resolve) => server.close(resolve));
}
