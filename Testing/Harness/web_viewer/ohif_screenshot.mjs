#!/usr/bin/env node
// Open a study in a served OHIF viewer with Debian's headless Chromium (driven by playwright-core), wait until its
// viewports have drawn, save a screenshot and print what each viewport's canvas shows, as JSON.
//
//   node ohif_screenshot.mjs VIEWER_URL SCREENSHOT.png [TIMEOUT_SECONDS [THUMBNAIL_TEXT]]
//
// VIEWER_URL: e.g. http://127.0.0.1:PORT/viewer?StudyInstanceUIDs=1.2.3 (OHIF's longitudinal mode).
// THUMBNAIL_TEXT: once the first series is drawn, double-click the study browser's thumbnail whose text holds it
// (e.g. 'PMAP': OHIF then loads a Parametric Map over its referenced series) and wait for the viewport again.
// Output: {viewports: [{width, height, nonBlack, colored, distinctGrays, maxGray, meanGray}], overlay: the text
// OHIF writes over the viewport (series description, W/L, image number), notifications: OHIF's pop-up messages,
// shown: cornerstone's own view of each viewport (type, voiRange, the image's pixel array type, min/max, window,
// number of distinct values), thumbnails: the study browser's thumbnail texts, renderer: cornerstone's log lines
// on its rendering path, before: viewports/overlay/notifications before the double-click,
// errors: uncaught page errors, console: console errors and warnings}. The numbers are the viewport's 2D canvas
// (cornerstone copies each WebGL render onto it): non-black = a channel above 8, colored = channels differing by
// more than 30 (a colour map, not gray), distinctGrays = distinct values of the brightest channel.
//
// Chromium: /usr/bin/chromium (Debian package chromium; CHROMIUM overrides), headless, on a new user data dir,
// with no network use of its own. Without a GPU (and with --disable-gpu) Debian's Chromium 156 still gives pages
// WebGL through SwiftShader, so cornerstone renders on its GPU path (not its CPU fallback): output field renderer
// holds cornerstone's own words on that ("CornerstoneRender: using GPU rendering", "software rasterizer ...").

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const [url, screenshot, timeoutText = '120', thumbnailText] = process.argv.slice(2);
if (!url || !screenshot) {
  console.error('usage: node ohif_screenshot.mjs VIEWER_URL SCREENSHOT.png [TIMEOUT_SECONDS]');
  process.exit(2);
}
const timeout = Number(timeoutText) * 1000;
const NO_VIEWPORT_SECONDS = 10;
const CHANGE_AFTER_CLICK_SECONDS = 15; // a double-click that changes nothing in this time changed nothing
const CHROMIUM_FLAGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
  '--disable-sync', '--no-first-run',
];

/** In the page: the pixels of every cornerstone viewport canvas. */
function measureViewports() {
  return Array.from(document.querySelectorAll('canvas.cornerstone-canvas')).map((canvas) => {
    const { width, height } = canvas;
    const data = canvas.getContext('2d').getImageData(0, 0, width, height).data;
    let nonBlack = 0;
    let colored = 0;
    let maxGray = 0;
    let sum = 0;
    const grays = new Set();
    for (let offset = 0; offset < data.length; offset += 4) {
      const gray = Math.max(data[offset], data[offset + 1], data[offset + 2]);
      if (gray > 8) nonBlack += 1;
      if (gray - Math.min(data[offset], data[offset + 1], data[offset + 2]) > 30) colored += 1;
      maxGray = Math.max(maxGray, gray);
      sum += gray;
      grays.add(gray);
    }
    return { width, height, nonBlack, colored, distinctGrays: grays.size, maxGray, meanGray: sum / (width * height) };
  });
}

/** In the page: what cornerstone holds for each viewport (OHIF exposes its cornerstone3D as window.cornerstone):
 * viewport type, the VOI range applied, and the displayed image's pixel array type, min/max, distinct values. */
function readCornerstoneViewports() {
  const cornerstone = window.cornerstone;
  if (!cornerstone?.getRenderingEngines) return [];
  const shown = [];
  for (const engine of cornerstone.getRenderingEngines()) {
    for (const viewport of engine.getViewports()) {
      const imageId = viewport.getCurrentImageId?.();
      const image = imageId ? cornerstone.cache.getImage(imageId) : undefined;
      const pixels = image?.getPixelData?.();
      shown.push({
        viewportType: viewport.type,
        voiRange: viewport.getProperties?.()?.voiRange ?? null,
        imageId: imageId ?? null,
        dataType: pixels?.constructor?.name ?? null,
        minPixelValue: image?.minPixelValue ?? null,
        maxPixelValue: image?.maxPixelValue ?? null,
        windowCenter: image?.windowCenter ?? null,
        windowWidth: image?.windowWidth ?? null,
        preScaled: Boolean(image?.preScale?.scaled),
        distinctValues: pixels ? new Set(pixels).size : null,
      });
    }
  }
  return shown;
}

/** In the page: OHIF's texts over the viewports and its pop-up notifications. */
function readTexts() {
  const text = (element) => element.innerText.replace(/\s+/g, ' ').trim();
  return {
    overlay: Array.from(document.querySelectorAll('[data-cy^="viewport-overlay"]')).map(text).filter(Boolean),
    notifications: Array.from(document.querySelectorAll('[data-sonner-toast], [role="alert"], [role="status"]')).map(text).filter(Boolean),
  };
}

/** In the page: the texts of the study browser's thumbnails (modality, description, series number). */
function readThumbnails() {
  return Array.from(document.querySelectorAll('[data-cy^="study-browser-thumbnail"]')).map((element) => element.innerText.replace(/\s+/g, ' ').trim());
}

/** Wait until a viewport canvas has something drawn and looks the same twice a second apart (loading done). */
async function waitForDrawnViewports(page, timeout, previous = null) {
  const deadline = Date.now() + timeout;
  let last = '';
  let viewports = [];
  let listedWithoutViewport = 0; // seconds the study's series have been listed with no viewport canvas
  while (Date.now() < deadline) {
    await page.waitForTimeout(1000);
    viewports = await page.evaluate(measureViewports);
    const now = JSON.stringify(viewports);
    if (viewports.some((viewport) => viewport.nonBlack > 0) && now === last && now !== previous) break;
    // OHIF makes a viewport within a second or two of listing the series; none for NO_VIEWPORT_SECONDS: it won't.
    const listed = (await page.evaluate(readThumbnails)).length > 0;
    listedWithoutViewport = listed && viewports.length === 0 ? listedWithoutViewport + 1 : 0;
    if (listedWithoutViewport >= NO_VIEWPORT_SECONDS) break;
    last = now;
  }
  return viewports;
}

/** OHIF's first-visit tour (a shepherd.js modal) covers the page and takes the clicks: skip it. */
async function skipTour(page) {
  const skip = page.getByText('Skip all');
  if (await skip.count()) {
    await skip.first().click();
    await page.waitForTimeout(300);
  }
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
    const renderer = [];
    page.on('console', (message) => {
      if (message.text().startsWith('CornerstoneRender:')) renderer.push(message.text());
      if (['error', 'warning'].includes(message.type()) && !message.text().includes('willReadFrequently')) messages.push(`${message.type()}: ${message.text()}`.slice(0, 400));
    });
    await page.goto(url, { waitUntil: 'load', timeout });
    let viewports = await waitForDrawnViewports(page, timeout);
    await skipTour(page);
    const before = { viewports, ...(await page.evaluate(readTexts)) };
    if (thumbnailText) {
      const thumbnail = page.locator('[data-cy^="study-browser-thumbnail"]').filter({ hasText: thumbnailText });
      if ((await thumbnail.count()) === 0) {
        throw new Error(`no study browser thumbnail holds the text ${JSON.stringify(thumbnailText)}; thumbnails: ${JSON.stringify(await page.evaluate(readThumbnails))}`);
      }
      await thumbnail.first().dblclick();
      // An overlay that is never drawn leaves the canvas as it was: wait a bounded time for a change.
      viewports = await waitForDrawnViewports(page, Math.min(timeout, CHANGE_AFTER_CLICK_SECONDS * 1000), JSON.stringify(viewports));
      await page.waitForTimeout(1000);
      viewports = await page.evaluate(measureViewports);
    }
    await page.screenshot({ path: screenshot });
    const texts = await page.evaluate(readTexts);
    const thumbnails = await page.evaluate(readThumbnails);
    const shown = await page.evaluate(readCornerstoneViewports);
    process.stdout.write(JSON.stringify({ viewports, shown, ...texts, thumbnails, before, renderer, errors, console: messages.slice(0, 50) }) + '\n');
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
