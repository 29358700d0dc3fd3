// The published types, as consumers see them: the `npm pack` tarball
// installed into empty projects that type-check tests/types/consumers/ under
// moduleResolution node16 (an ES module and a CommonJS caller) and bundler,
// with the current TypeScript (7), the repository's 5.9 and 5.4 (before
// typed arrays became generic, so the package's fallback types are used),
// mha-wasm/worker included; and arethetypeswrong on the tarball.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { packTarball, repoRoot } from './scenarios.mjs';

const sources = fileURLToPath(new URL('../types/consumers/', import.meta.url));

const TYPESCRIPTS = [
  { name: 'TypeScript 7 (current)', package: 'typescript7', genericTypedArrays: true },
  { name: 'TypeScript 5.9', package: 'typescript', genericTypedArrays: true },
  { name: 'TypeScript 5.4', package: 'typescript54', genericTypedArrays: false },
];

const COMMON = { strict: true, noEmit: true, target: 'es2022', lib: ['es2022'], types: [], skipLibCheck: false };
const CONSUMERS = [
  { name: 'node16, ES module', type: 'module', files: ['esm.ts', 'no_default.ts', 'worker.ts'], options: { module: 'node16', moduleResolution: 'node16' } },
  { name: 'node16, CommonJS', type: 'commonjs', files: ['cjs.ts', 'worker.ts'], options: { module: 'node16', moduleResolution: 'node16' } },
  { name: 'bundler', type: 'module', files: ['esm.ts', 'worker.ts'], modernFiles: ['no_default.ts'], options: { module: 'esnext', moduleResolution: 'bundler' } },
];

let folder, tarball;
const projects = [];

beforeAll(() => {
  ({ folder, tarball } = packTarball());
  CONSUMERS.forEach((consumer, index) => {
    const project = join(folder, `consumer-${index}`);
    mkdirSync(project);
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: `types-consumer-${index}`, version: '1.0.0', private: true, type: consumer.type }));
    const install = spawnSync('npm', ['install', '--no-audit', '--no-fund', '--offline', '--no-package-lock', tarball], { cwd: project, encoding: 'utf8' });
    if (install.status !== 0) throw new Error(install.stderr);
    for (const file of readdirSync(sources)) copyFileSync(join(sources, file), join(project, file));
    const files = [...consumer.files, 'body.ts'];
    writeFileSync(join(project, 'tsconfig.json'), JSON.stringify({ compilerOptions: { ...COMMON, ...consumer.options }, files }));
    writeFileSync(join(project, 'tsconfig.generic.json'), JSON.stringify({ extends: './tsconfig.json', files: [...files, ...(consumer.modernFiles ?? []), 'fresh.ts'] }));
    projects[index] = project;
  });
}, 120000);

afterAll(() => folder && rmSync(folder, { recursive: true, force: true }));

describe.each(TYPESCRIPTS)('$name', (typescript) => {
  test.each(CONSUMERS.map((consumer, index) => ({ ...consumer, index })))('a $name consumer type-checks', ({ index }) => {
    const tsc = join(repoRoot, 'node_modules', typescript.package, 'bin', 'tsc');
    const config = typescript.genericTypedArrays ? 'tsconfig.generic.json' : 'tsconfig.json';
    const run = spawnSync(process.execPath, [tsc, '-p', config], { cwd: projects[index], encoding: 'utf8' });
    expect(run.stdout + run.stderr).toBe('');
    expect(run.status).toBe(0);
  }, 60000);
});

test('arethetypeswrong finds no problems in the tarball', () => {
  const attw = join(repoRoot, 'node_modules', '@arethetypeswrong', 'cli', 'dist', 'index.js');
  const run = spawnSync(process.execPath, [attw, tarball, '--format', 'json'], { encoding: 'utf8' });
  const report = JSON.parse(run.stdout);
  expect(report.problems).toEqual({});
  expect(report.analysis.problems).toEqual([]);
  // Every entry point resolves for node10, node16 (CJS and ESM) and bundler.
  const root = report.analysis.entrypoints['.'].resolutions;
  expect(Object.keys(root).sort()).toEqual(['bundler', 'node10', 'node16-cjs', 'node16-esm']);
  expect(Object.keys(report.analysis.entrypoints)).toEqual(expect.arrayContaining(['.', './models', './worker']));
  expect(run.status).toBe(0);
}, 60000);
