#!/usr/bin/env node
// Open a study in a served OHIF viewer with Debian's headless Chromium (driven by playwright-core), wait until its
// viewports have drawn, save a screenshot and print what each viewport's canvas shows, as JSON.
//
//   node ohif_screenshot.mjs VIEWER_URL SCREENSHOT.png [TIMEOUT_SECONDS]
//
// VIEWER_URL: e.g. http://127.0.0.1:PORT/viewer?StudyInstanceUIDs=1.2.3 (OHIF's longitudinal mode).
// Output: {viewports: [{width, height, nonBlack, distinctGrays, maxGray, meanGray}], errors: [...], console: [...]}
// where the numbers are from the viewport's 2D canvas (cornerstone copies each WebGL render onto it), pixels
// counted as non-black when any channel is above 8.
//
// Chromium: /usr/bin/chromium (Debian package chromium; CHROMIUM overrides), headless, on a new user data dir,
// with no network use of its own. SwiftShader gives it WebGL without a GPU (--enable-unsafe-swiftshader: Chromium
// 130+ allows its software WebGL only with this flag).

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const [url, screenshot, timeoutText = '120'] = process.argv.slice(2);
if (!url || !screenshot) {
  console.error('usage: node ohif_screenshot.mjs VIEWER_URL SCREENSHOT.png [TIMEOUT_SECONDS]');
  process.exit(2);
}
const timeout = Number(timeoutText) * 1000;
const CHROMIUM_FLAGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
  '--disable-sync', '--no-first-run', '--use-angle=swiftshader', '--enable-unsafe-swiftshader',
];

/** In the page: the pixels of every cornerstone viewport canvas. */
function measureViewports() {
  return Array.from(document.querySelectorAll('canvas.cornerstone-canvas')).map((canvas) => {
    const { width, height } = canvas;
    const data = canvas.getContext('2d').getImageData(0, 0, width, height).data;
    let nonBlack = 0;
    let maxGray = 0;
    let sum = 0;
    const grays = new Set();
    for (let offset = 0; offset < data.length; offset += 4) {
      const gray = Math.max(data[offset], data[offset + 1], data[offset + 2]);
      if (gray > 8) nonBlack += 1;
      maxGray = Math.max(maxGray, gray);
      sum += gray;
      grays.add(gray);
    }
    return { width, height, nonBlack, distinctGrays: grays.size, maxGray, meanGray: sum / (width * height) };
  });
}

async function main() {
  const userDataDir = mkdtempSync(join(tmpdir(), 'faexport-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: CHROMIUM_FLAGS,
    viewport: { width: 1280, height: 800 },
  });
  const errors = [];
  const messages = [];
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    page.on('pageerror', (error) => errors.push(String(error)));
    page.on('console', (message) => {
      if (['error', 'warning'].includes(message.type())) messages.push(`${message.type()}: ${message.text()}`.slice(0, 400));
    });
    await page.goto(url, { waitUntil: 'load', timeout });
    // Drawn = a viewport canvas with something on it, unchanged over two looks a second apart (loading done).
    const deadline = Date.now() + timeout;
    let last = '';
    let viewports = [];
    while (Date.now() < deadline) {
      await page.waitForTimeout(1000);
      viewports = await page.evaluate(measureViewports);
      const now = JSON.stringify(viewports);
      if (viewports.some((viewport) => viewport.nonBlack > 0) && now === last) break;
      last = now;
    }
    await page.screenshot({ path: screenshot });
    process.stdout.write(JSON.stringify({ viewports, errors, console: messages.slice(0, 50) }) + '\n');
  } finally {
    await context.close();
    rmSync(userDataDir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(error?.stack ?? error);
    process.exit(1);
  },
);
