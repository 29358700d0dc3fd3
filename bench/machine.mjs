// Facts about the machine and its load, recorded with every run.
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, release, totalmem } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './setup.mjs';

/** What else is using the CPU: the top of `ps` (this process and its ancestors left out) and the load average. */
function ownProcesses() {
  // This process and its ancestors (npm, the shell): their CPU use is the bench's own.
  const own = new Set([process.pid]);
  let pid = process.ppid;
  for (let depth = 0; pid > 1 && depth < 10; depth++) {
    own.add(pid);
    try {
      // /proc/<pid>/stat: "pid (comm) state ppid ..."; comm may contain spaces, so split after ')'.
      pid = Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')[1]);
    } catch {
      break;
    }
  }
  return own;
}

export function loadCheck() {
  const own = ownProcesses();
  let top = [];
  try {
    // Command names only (comm), never arguments: this ends up in a committed JSON file.
    top = execFileSync('ps', ['-eo', 'pid=,pcpu=,comm=', '--sort=-pcpu'], { encoding: 'utf8' }).split('\n')
      .map((l) => l.trim().match(/^(\d+)\s+(\S+)\s+(.*)$/))
      .filter((m) => m && !own.has(Number(m[1])) && m[3] !== 'ps' && parseFloat(m[2]) >= 5)
      .slice(0, 5).map((m) => `${m[2]}% ${m[3]}`);
  } catch {
    top = ['ps unavailable'];
  }
  const loadavg = readFileSync('/proc/loadavg', 'utf8').trim();
  // ps's %CPU is averaged over each process's life: a rough but honest signal.
  return { loadavg, top, busyProcesses: top.filter((l) => parseFloat(l) >= 50).length };
}

export function machineInfo() {
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  const model = (cpuinfo.match(/^model name\s*:\s*(.*)$/m) ?? [])[1] ?? cpus()[0]?.model ?? 'unknown';
  const flags = (cpuinfo.match(/^flags\s*:\s*(.*)$/m) ?? [])[1]?.split(' ') ?? [];
  return {
    cpuModel: model,
    cores: cpus().length,
    cpuFlags: ['sse2', 'avx', 'avx2', 'fma', 'avx512f'].filter((f) => flags.includes(f)),
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    kernel: release(),
    node: process.version,
  };
}

export function chromiumVersion() {
  const r = spawnSync('/usr/bin/chromium', ['--version'], { encoding: 'utf8', timeout: 20000 });
  return r.status === 0 ? r.stdout.trim() : null;
}

export function packageVersion(name) {
  try {
    return JSON.parse(readFileSync(join(ROOT, 'node_modules', name, 'package.json'), 'utf8')).version;
  } catch {
    return null;
  }
}
