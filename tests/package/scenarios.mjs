// Consumer projects for the package scenarios: the `npm pack` tarball
// installed into empty temporary folders, plus tests/package/app/.
import { spawn, execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const appDir = fileURLToPath(new URL('./app', import.meta.url));
const driver = fileURLToPath(new URL('./driver.mjs', import.meta.url));

/** A temporary folder holding the packed tarball; returns { folder, tarball }. */
export function packTarball() {
  const folder = mkdtempSync(join(tmpdir(), 'mha-wasm-scenarios-'));
  execFileSync('npm', ['pack', '--silent', '--pack-destination', folder], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  const tarball = join(folder, readdirSync(folder).find((f) => f.endsWith('.tgz')));
  return { folder, tarball };
}

/**
 * An empty project with only the tarball installed (from the file, offline)
 * and the application's files. `plain`: the imports point at the package's
 * file, as a page without a bundler writes them.
 */
export function makeConsumer(parent, name, tarball, { plain = false } = {}) {
  const project = join(parent, name);
  mkdirSync(project);
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: `consumer-${name}`, version: '1.0.0', private: true, type: 'module' }));
  execFileSync('npm', ['install', '--no-audit', '--no-fund', '--offline', '--no-package-lock', tarball], { cwd: project, stdio: ['ignore', 'pipe', 'pipe'] });
  cpSync(appDir, project, { recursive: true });
  if (plain) {
    const run = join(project, 'run.js');
    writeFileSync(run, readFileSync(run, 'utf8').replace("from 'mha-wasm'", "from './node_modules/mha-wasm/dist/browser.mjs'"));
    const proxy = join(project, 'proxy.js');
    writeFileSync(proxy, readFileSync(proxy, 'utf8').replace("from 'mha-wasm/worker'", "from './node_modules/mha-wasm/dist/worker.mjs'"));
  }
  return project;
}

function runDriver(args) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [driver, ...args], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code !== 0) reject(new Error(`driver ${args.join(' ')} failed (${code}):\n${stderr}${stdout}`));
      else resolve({ ...JSON.parse(stdout.trim().split('\n').pop()), stderr });
    });
  });
}

/** Builds the project into project/dist with `tool`; resolves to { warnings }. */
export const buildWith = (tool, project) => runDriver(['build', tool, project]);

/** Starts a Vite dev or preview server; resolves to { url, stop() }. */
export function serveWith(tool, mode, project) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [driver, 'serve', tool, mode, project], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const stop = () =>
      new Promise((done) => {
        if (child.exitCode !== null) return done();
        child.once('exit', () => done());
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 5000).unref();
      });
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
      const line = stdout.split('\n').find((l) => l.startsWith('{'));
      if (line) resolve({ ...JSON.parse(line), stop, output: () => stderr });
    });
    child.on('exit', (code) => reject(new Error(`driver serve ${tool} ${mode} exited (${code}):\n${stderr}${stdout}`)));
  });
}
