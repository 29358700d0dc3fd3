// mha-wasm is a guest in its host's process: loading it must not install
// process-wide handlers. An application that logs unrelated rejected promises
// and carries on must keep doing so after init(), with and without threads,
// through the ES module and the CommonJS entry.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const dist = fileURLToPath(new URL('../../dist/', import.meta.url));

const program = (entry, threads) => `
  const events = ['uncaughtException', 'unhandledRejection', 'exit'];
  const before = events.map((e) => process.listenerCount(e));
  process.on('unhandledRejection', (e) => console.log('logged: ' + e.message));
  const { init } = ${entry === 'esm' ? `await import(${JSON.stringify(dist + 'node.mjs')})` : `require(${JSON.stringify(dist + 'node.cjs')})`};
  const mha = await init(${threads > 1 ? `{ threads: ${threads} }` : ''});
  const after = events.map((e) => process.listenerCount(e) - (e === 'unhandledRejection' ? 1 : 0));
  console.log('listeners ' + JSON.stringify(before) + ' ' + JSON.stringify(after) + ' threads ' + mha.capabilities.threads);
  Promise.reject(new Error('unrelated'));
  setTimeout(() => console.log('still running'), 50);
`;

function run(entry, threads) {
  const source = entry === 'esm' ? program(entry, threads) : `(async () => {${program(entry, threads)}})();`;
  return spawnSync(process.execPath, entry === 'esm' ? ['--input-type=module', '-e', source] : ['-e', source], { encoding: 'utf8', timeout: 30000 });
}

test.each([
  ['esm', 1],
  ['esm', 2],
  ['cjs', 1],
  ['cjs', 2],
])('%s entry, %i thread(s): no process handlers, and a rejected promise elsewhere is only logged', (entry, threads) => {
  const r = run(entry, threads);
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  const [, before, after, count] = r.stdout.match(/listeners (\S+) (\S+) threads (\d+)/);
  expect(after).toBe(before);
  expect(Number(count)).toBe(threads);
  expect(r.stdout).toContain('logged: unrelated');
  expect(r.stdout).toContain('still running');
});
