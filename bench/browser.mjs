// Runs bench/harness.mjs inside Debian's headless Chromium (playwright-core,
// which downloads no browser), on pages served by bench/server.mjs.
import { chromium } from 'playwright-core';
import { startServer } from './server.mjs';

const CHROMIUM = '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
  '--no-first-run', '--disable-sync', '--disable-quic'];

/**
 * Resolves to { ok, result | message, mismatch, browserVersion, externalRequests }.
 * afterShape(shape, kinds), if given, is called from the page after each shape's rows.
 */
export async function runInBrowser(config, log, { afterShape } = {}) {
  const server = await startServer(0);
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
  try {
    const page = await browser.newPage();
    page.on('console', (message) => {
      if (message.type() === 'log') log(`[chromium] ${message.text()}`);
      else log(`[chromium ${message.type()}] ${message.text()}`);
    });
    page.on('pageerror', (error) => log(`[chromium page error] ${error.message}`));
    // Everything must come from the local server: record any other request (a CDN fallback, say).
    const externalRequests = [];
    page.on('request', (request) => {
      const url = new URL(request.url());
      if (!['data:', 'blob:'].includes(url.protocol) && url.hostname !== '127.0.0.1') externalRequests.push(request.url());
    });
    if (afterShape) await page.exposeFunction('benchAfterShape', afterShape);
    const url = `http://127.0.0.1:${server.address().port}/bench/page/index.html`;
    await page.goto(url);
    await page.waitForFunction(() => window.benchReady === true, null, { timeout: 30000 });
    const outcome = await page.evaluate((c) => window.runBench(c), config);
    return { ...outcome, browserVersion: browser.version(), externalRequests };
  } finally {
    await browser.close();
    await new Promise((resolve) => server.close(resolve));
  }
}
