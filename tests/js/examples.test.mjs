// The examples in examples/ run as documented and check themselves.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
const run = (...args) => spawnSync(process.execPath, args, { cwd: root, encoding: 'utf8', timeout: 60000 });

test('examples/node_basic.mjs prints both heads', () => {
  const r = run('examples/node_basic.mjs', 'the cat sat on the mat');
  expect(r.status).toBe(0);
  expect(r.stdout).toContain('head 0 (previous token)');
  expect(r.stdout).toContain('head 1 (same word)');
});

test('examples/decoding_loop.mjs generates with KV caches and matches a full forward pass', () => {
  const r = run('examples/decoding_loop.mjs', 'once upon a time', '12');
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0); // the example exits 1 if its last step disagrees with the full pass by 1e-3
  expect(r.stdout).toMatch(/12 steps: \d+ tokens\/s; cache length 17 of 256/);
  const [, delta] = r.stdout.match(/max \|Δ logit\| = (\S+)/);
  expect(Number(delta)).toBeLessThan(1e-3);
});

test('examples/generate.mjs opens a checkpoint folder, continues a prompt and prints a head', () => {
  const r = run('examples/generate.mjs', 'tests/fixtures/models/gpt2', 'Once upon a time', '--tokens', '8', '--attention', '1,2');
  expect(r.status).toBe(0);
  expect(r.stderr).toMatch(/^gpt2: 2 layers x 4 heads, loaded in/);
  expect(r.stdout).toMatch(/8 tokens; first after \d+ ms \(the prompt\), then [\d.]+ tokens\/s \(1 thread\)/);
  expect(r.stdout).toContain('layer 1, head 2: rows are queries, columns keys');
});
