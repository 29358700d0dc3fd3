// The ORT-threads pass in a Node process of its own: onnxruntime-web takes its
// thread count once, when its wasm module first loads, so its 2-thread rows
// cannot share the main process with the 1-thread ones. mha-wasm runs here
// with 1 thread (the reference every row is checked against) and 2 threads
// (what the ORT rows are divided by).
//
//   node bench/ort_threads_pass.mjs <config.json> <rows.json>
import { readFileSync, writeFileSync } from 'node:fs';
import { MismatchError, runHarness } from './harness.mjs';
import { nodeEnv } from './node_env.mjs';

const [configPath, rowsPath] = process.argv.slice(2);
const config = JSON.parse(readFileSync(configPath, 'utf8'));
const log = (message) => process.stderr.write(`     [ORT 2 threads] ${message}\n`);
try {
  const result = await runHarness(nodeEnv(log), { ...config, pass: 'ort-threads' });
  writeFileSync(rowsPath, JSON.stringify({ rows: result.rows, unavailable: result.info.unavailable }));
  process.exit(0);
} catch (error) {
  if (error instanceof MismatchError) writeFileSync(rowsPath, JSON.stringify({ mismatch: error.message }));
  else console.error(error && error.stack ? error.stack : String(error));
  process.exit(1);
}
