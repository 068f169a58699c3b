// page_test.js - drives mnist serve's page in headless Chromium with
// playwright-core: draws a 1, reads the top guess, takes a screenshot, clears,
// draws a 7, reads the guess again. Prints one JSON line
// {"one": guess, "seven": guess, "top3": "...", "blank_after_clear": bool}.
//   node scripts/page_test.js URL SCREENSHOT_PREFIX [CHROMIUM]
// (NODE_PATH must find playwright-core; CHROMIUM defaults to /usr/bin/chromium.)
'use strict';
const { chromium } = require('playwright-core');

const [url, shot, exe] = process.argv.slice(2);

async function stroke(page, pts) {
  const box = await page.locator('#pad').boundingBox();
  const at = (p) => [box.x + p[0], box.y + p[1]];
  await page.mouse.move(...at(pts[0]));
  await page.mouse.down();
  for (let i = 1; i < pts.length; i++) await page.mouse.move(...at(pts[i]), { steps: 12 });
  await page.mouse.up();
}

async function guess(page) {
  // the page answers as you draw; wait until the last answer is in
  await page.waitForFunction(() => document.getElementById('guess').dataset.guess !== '', null, { timeout: 10000 });
  await page.waitForTimeout(400);
  return page.evaluate(() => ({
    guess: document.getElementById('guess').dataset.guess,
    top3: Array.from(document.querySelectorAll('#top .bar')).map((d) => d.textContent).join(' | '),
    status: document.getElementById('status').textContent,
  }));
}

(async () => {
  const browser = await chromium.launch({ executablePath: exe || '/usr/bin/chromium', args: ['--no-sandbox'] });
  const page = await browser.newPage({ viewport: { width: 760, height: 540 } });
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('requestfailed', (r) => errors.push('request failed: ' + r.url()));
  await page.goto(url, { timeout: 10000 });
  await stroke(page, [[150, 45], [146, 120], [140, 240]]);
  const one = await guess(page);
  await page.screenshot({ path: shot + '-1.png' });
  await page.click('#clear');
  const blank = await page.evaluate(() => document.getElementById('guess').dataset.guess === '');
  await stroke(page, [[70, 60], [215, 55], [180, 130], [130, 245]]);
  const seven = await guess(page);
  await page.screenshot({ path: shot + '-7.png' });
  await browser.close();
  console.log(JSON.stringify({ one: one.guess, seven: seven.guess, top3_one: one.top3, top3_seven: seven.top3,
    status: seven.status, blank_after_clear: blank, errors }));
})().catch((e) => { console.error('page_test: ' + e); process.exit(1); });
