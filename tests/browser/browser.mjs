// Shared set-up of the browser tests: the demo server on a free loopback
// port and Debian's Chromium driven by playwright-core (no browser download).
import { chromium } from 'playwright-core';
import { startServer } from '../../scripts/serve.mjs';

// Without the networking flags Chromium tries to reach Google's services,
// which this machine's closed network refuses.
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
  '--disable-sync',
  '--disable-quic',
];

export async function openBrowser() {
  const server = await startServer({ port: 0 });
  const baseURL = `http://127.0.0.1:${server.address().port}`;
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
  const context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1400, height: 1000 } });
  const page = await context.newPage();
  const pageErrors = [];
  page.on('pageerror', (error) => pageErrors.push(error));
  return {
    baseURL,
    page,
    pageErrors,
    async close() {
      await browser.close();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
