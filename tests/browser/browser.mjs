// Shared set-up of the browser tests: Debian's Chromium driven by
// playwright-core and Debian's firefox-esr driven by puppeteer-core over
// WebDriver BiDi (neither downloads a browser), behind one small page API so
// that every browser test runs the same steps in both.
import { readFileSync } from 'node:fs';
import { chromium } from 'playwright-core';
import puppeteer from 'puppeteer-core';
import { startServer } from '../../scripts/serve.mjs';

export const BROWSERS = ['chromium', 'firefox'];

// Without the networking flags Chromium tries to reach Google's services,
// which this machine's closed network refuses.
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
  '--disable-sync',
  '--disable-quic',
];

// Firefox would otherwise try Mozilla's services (updates, telemetry,
// remote settings, captive-portal checks) on the closed network.
export const FIREFOX_PREFS = {
  'app.update.enabled': false,
  'browser.safebrowsing.malware.enabled': false,
  'browser.safebrowsing.phishing.enabled': false,
  'datareporting.policy.dataSubmissionEnabled': false,
  'network.captive-portal-service.enabled': false,
  'network.connectivity-service.enabled': false,
  'toolkit.telemetry.enabled': false,
};

export const VIEWPORT = { width: 1400, height: 1000 };

/** Launches one browser; `newPage()` gives pages with the API below. */
export async function launchBrowser(name) {
  if (name === 'chromium') {
    const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
    return {
      name,
      async newPage() {
        const context = await browser.newContext({ acceptDownloads: true, viewport: VIEWPORT });
        return wrapPlaywright(await context.newPage(), context);
      },
      close: () => browser.close(),
    };
  }
  if (name === 'firefox') {
    const browser = await puppeteer.launch({
      browser: 'firefox',
      executablePath: '/usr/bin/firefox-esr',
      headless: true,
      extraPrefsFirefox: FIREFOX_PREFS,
    });
    return {
      name,
      async newPage() {
        // A fresh user context per page, like a Playwright context.
        const context = await browser.createBrowserContext();
        const page = await context.newPage();
        await page.setViewport(VIEWPORT);
        return wrapPuppeteer(page, context);
      },
      close: () => browser.close(),
    };
  }
  throw new Error(`unknown browser ${name}`);
}

// Both wrappers record uncaught page errors and console messages.
function recorder() {
  return { pageErrors: [], consoleMessages: [] };
}

function wrapPlaywright(page, context) {
  const log = recorder();
  page.on('pageerror', (error) => log.pageErrors.push(error));
  page.on('console', (message) => log.consoleMessages.push({ type: message.type(), text: message.text() }));
  return {
    ...log,
    goto: (url) => page.goto(url),
    evaluate: (fn, arg) => page.evaluate(fn, arg),
    waitForFunction: (fn, arg, { timeout = 30000 } = {}) => page.waitForFunction(fn, arg, { timeout }),
    waitForSelector: (selector, { timeout = 30000 } = {}) => page.waitForSelector(selector, { timeout }),
    fill: (selector, text) => page.fill(selector, text),
    click: (selector) => page.click(selector),
    selectOption: (selector, value) => page.selectOption(selector, value),
    textContent: (selector) => page.textContent(selector),
    getAttribute: (selector, name) => page.getAttribute(selector, name),
    count: (selector) => page.locator(selector).count(),
    boundingBox: (selector) => page.locator(selector).boundingBox(),
    /** Hovers `position` (CSS pixels from the element's top left), scrolling it into view. */
    hover: (selector, position) => page.locator(selector).hover({ position }),
    moveMouse: (x, y) => page.mouse.move(x, y),
    screenshot: (path) => page.screenshot({ path, fullPage: true }),
    /** Clicks `selector` and returns the download it starts: { fileName, bytes }. */
    async download(selector) {
      const [download] = await Promise.all([page.waitForEvent('download'), page.click(selector)]);
      return { fileName: download.suggestedFilename(), bytes: readFileSync(await download.path()) };
    },
    close: () => context.close(),
  };
}

function wrapPuppeteer(page, context) {
  const log = recorder();
  page.on('pageerror', (error) => log.pageErrors.push(error));
  page.on('console', (message) => log.consoleMessages.push({ type: message.type(), text: message.text() }));
  const scrolledBox = async (selector) => {
    const element = await page.waitForSelector(selector);
    await element.evaluate((el) => el.scrollIntoView({ block: 'center', inline: 'center' }));
    return element.boundingBox();
  };
  return {
    ...log,
    goto: (url) => page.goto(url, { waitUntil: 'load' }),
    evaluate: (fn, arg) => page.evaluate(fn, arg),
    waitForFunction: (fn, arg, { timeout = 30000 } = {}) => page.waitForFunction(fn, { timeout, polling: 50 }, arg),
    waitForSelector: (selector, { timeout = 30000 } = {}) => page.waitForSelector(selector, { timeout }),
    async fill(selector, text) {
      await page.$eval(
        selector,
        (el, value) => {
          el.value = value;
          el.dispatchEvent(new Event('input', { bubbles: true }));
          el.dispatchEvent(new Event('change', { bubbles: true }));
        },
        text,
      );
    },
    click: (selector) => page.click(selector),
    selectOption: (selector, value) => page.select(selector, value),
    textContent: (selector) => page.$eval(selector, (el) => el.textContent),
    getAttribute: (selector, name) => page.$eval(selector, (el, n) => el.getAttribute(n), name),
    count: (selector) => page.$$eval(selector, (els) => els.length),
    boundingBox: (selector) => scrolledBox(selector),
    async hover(selector, position) {
      const box = await scrolledBox(selector);
      await page.mouse.move(box.x + position.x, box.y + position.y);
    },
    moveMouse: (x, y) => page.mouse.move(x, y),
    screenshot: (path) => page.screenshot({ path, fullPage: true }),
    // WebDriver BiDi has no download events here: the page's <a download>
    // click is intercepted and the blob it points to is read in the page.
    async download(selector) {
      await page.evaluate(() => {
        window.__downloads = [];
        const click = HTMLAnchorElement.prototype.click;
        HTMLAnchorElement.prototype.click = function interceptedClick() {
          if (!this.hasAttribute('download')) return click.call(this);
          const fileName = this.download;
          window.__downloads.push(
            fetch(this.href)
              .then((response) => response.arrayBuffer())
              .then((buffer) => ({ fileName, bytes: Array.from(new Uint8Array(buffer)) })),
          );
        };
        window.__restoreClick = () => {
          HTMLAnchorElement.prototype.click = click;
        };
      });
      await page.click(selector);
      await page.waitForFunction(() => window.__downloads.length > 0, { timeout: 30000, polling: 50 });
      const { fileName, bytes } = await page.evaluate(async () => {
        const result = await window.__downloads[0];
        window.__restoreClick();
        return result;
      });
      return { fileName, bytes: Buffer.from(bytes) };
    },
    close: () => context.close(),
  };
}

/** The demo server (web/demo/ and dist/) on a free loopback port, and one browser page. */
export async function openBrowser(name = 'chromium') {
  const server = await startServer({ port: 0 });
  const baseURL = `http://127.0.0.1:${server.address().port}`;
  const browser = await launchBrowser(name);
  const page = await browser.newPage();
  return {
    baseURL,
    page,
    pageErrors: page.pageErrors,
    browser,
    async close() {
      await browser.close();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
