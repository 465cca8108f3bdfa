// pengyou in a real browser: starts a server on a free port with a fresh data
// directory, then two people use it in headless Chromium — one on a phone in
// Chinese, one on a desktop in English — and every page is photographed in
// both languages and both sizes and checked with axe-core. Fails on any
// request that leaves the server's origin and on any CSP violation.
//
// Usage: node tests/browser/flow.mjs <path to the pengyou binary> [artefact dir]

import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deflateSync } from 'node:zlib';
import { createRequire } from 'node:module';
import { chromium } from 'playwright-core';

const require = createRequire(import.meta.url);
const here = dirname(fileURLToPath(import.meta.url));
const binary = process.argv[2];
const artefacts = process.argv[3] || join(here, 'artefacts');
if (!binary) {
  console.error('usage: node flow.mjs <pengyou binary> [artefact dir]');
  process.exit(2);
}
rmSync(artefacts, { recursive: true, force: true });
mkdirSync(artefacts, { recursive: true });
const axeSource = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

let passed = 0;
const failures = [];
function check(condition, what) {
  if (condition) {
    passed += 1;
  } else {
    failures.push(what);
    console.error(`FAIL ${what}`);
  }
}

// ---- a server of our own -----------------------------------------------------

async function freePort() {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

const port = await freePort();
const origin = `http://127.0.0.1:${port}`;
const dataDir = mkdtempSync(join(tmpdir(), 'pengyou-browser-'));
const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('PENGYOU_') && k !== 'DATABASE_URL'));
Object.assign(env, { PENGYOU_LISTEN: `127.0.0.1:${port}`, PENGYOU_DATA_DIR: dataDir, RUST_LOG: 'warn' });
const server = spawn(binary, ['serve'], { env, stdio: ['ignore', 'inherit', 'inherit'] });
let serverExited = false;
server.on('exit', () => (serverExited = true));
for (let i = 0; i < 100; i++) {
  try {
    if ((await fetch(`${origin}/healthz`)).ok) break;
  } catch {
    /* not yet */
  }
  await new Promise((r) => setTimeout(r, 100));
}

// ---- photos made here: PNGs of different shapes ---------------------------------

function crc32(bytes) {
  let crc = ~0;
  for (const b of bytes) {
    crc ^= b;
    for (let k = 0; k < 8; k++) crc = (crc >>> 1) ^ (0xedb88320 & -(crc & 1));
  }
  return ~crc >>> 0;
}

function png(width, height, [r0, g0, b0]) {
  const rows = Buffer.alloc((width * 3 + 1) * height);
  for (let y = 0; y < height; y++) {
    const row = y * (width * 3 + 1);
    for (let x = 0; x < width; x++) {
      const p = row + 1 + x * 3;
      rows[p] = (r0 + (x * 120) / width) & 255;
      rows[p + 1] = (g0 + (y * 120) / height) & 255;
      rows[p + 2] = (b0 + ((x + y) * 60) / (width + height)) & 255;
    }
  }
  const chunk = (type, data) => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(data.length);
    const typed = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(typed));
    return Buffer.concat([length, typed, crc]);
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8;
  header[9] = 2;
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(rows)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

const photos = [
  { name: 'lake.png', mimeType: 'image/png', buffer: png(900, 1200, [40, 120, 170]) },
  { name: 'hill.png', mimeType: 'image/png', buffer: png(1200, 800, [200, 120, 40]) },
  { name: 'tea.png', mimeType: 'image/png', buffer: png(800, 800, [90, 160, 80]) },
];
const commentPhoto = { name: 'cat.png', mimeType: 'image/png', buffer: png(600, 800, [220, 200, 180]) };

// ---- the browser -------------------------------------------------------------------

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
});

const offOrigin = [];
const cspViolations = [];
const pageErrors = [];
const phone = { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 };
const desktop = { viewport: { width: 1366, height: 900 } };

async function newPerson(device, locale) {
  const context = await browser.newContext({ ...device, locale, extraHTTPHeaders: { 'Accept-Language': locale } });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin });
  context.on('request', (request) => {
    const url = request.url();
    if (!url.startsWith(origin + '/') && !url.startsWith('data:') && !url.startsWith('blob:')) offOrigin.push(url);
  });
  const page = await context.newPage();
  page.on('console', (message) => {
    const text = message.text();
    if (/Content Security Policy/i.test(text)) cspViolations.push(text);
    else if (message.type() === 'error' && !/status of 40[14]/.test(text)) pageErrors.push(`${page.url()}: ${text}`);
  });
  page.on('pageerror', (error) => pageErrors.push(`${page.url()}: ${error.message}`));
  page.on('dialog', (dialog) => dialog.accept());
  return { context, page };
}

async function signUp(page, username, displayName) {
  await page.goto(`${origin}/auth/sign_up`);
  await page.fill('#username', username);
  await page.fill('#display_name', displayName);
  await page.fill('#password', 'correct horse battery staple 42');
  await Promise.all([page.waitForURL(`${origin}/`), page.click('form.card-form button[type=submit]')]);
}

async function shot(page, name) {
  await page.waitForLoadState('networkidle').catch(() => {});
  await page.screenshot({ path: join(artefacts, `${name}.png`), fullPage: name.includes('full') });
}

async function waitForText(page, selector, text, { reload = false, timeout = 15000 } = {}) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const content = await page.locator(selector).allInnerTexts().catch(() => []);
    if (content.join('\n').includes(text)) return true;
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 400));
    if (reload) await page.reload();
  }
}

const people = [];
try {
  // Mei writes in Chinese on her phone; Sam reads in English at a desk.
  const mei = await newPerson(phone, 'zh-CN');
  const sam = await newPerson(desktop, 'en-US');
  people.push(mei, sam);

  await signUp(mei.page, 'mei', '小美');
  check((await mei.page.locator('nav.tabs').innerText()).includes('发现'), 'Mei sees the Chinese navigation after signing up');
  await shot(mei.page, 'flow-01-mei-discover-empty');

  // Mei posts a note with three photos and a tag.
  await mei.page.goto(`${origin}/compose`);
  check(await mei.page.locator('h1').innerText() === '发布笔记', 'the composer is in Chinese');
  await mei.page.setInputFiles('[data-files]', photos);
  await mei.page.locator('.upload').nth(2).waitFor();
  check(await mei.page.locator('.upload').count() === 3, 'three photos are listed in the composer');
  await mei.page.locator('.upload').nth(0).locator('textarea.alt').fill('清晨的西湖');
  await mei.page.fill('#title', '西湖的秋天');
  await mei.page.fill('#body', '今天去了西湖，湖边的枫叶都红了。');
  await mei.page.locator('#body').pressSequentially(' #旅行 ');
  check((await mei.page.locator('#title-count').innerText()) === '5/64', 'the title counter counts graphemes (5/64)');
  await mei.page.locator('.upload:not(:has(progress))').nth(2).waitFor({ timeout: 60000 });
  await shot(mei.page, 'flow-02-mei-composer');
  await Promise.all([mei.page.waitForURL(/\/@mei\/\d+/), mei.page.click('[data-publish]')]);
  const noteUrl = mei.page.url();
  check((await mei.page.locator('.note-text h1').innerText()) === '西湖的秋天', 'the note page shows the title');
  check(await mei.page.locator('.slide').count() === 3, 'the note has three photos in its carousel');
  check((await mei.page.locator('.slide img').first().getAttribute('alt')) === '清晨的西湖', 'the first photo has its alt text');
  check((await mei.page.locator('.content a[href*="/tags/"]').count()) >= 1, 'the tag is a link');
  await shot(mei.page, 'flow-03-mei-note');

  // Sam finds it on discover, opens it, likes, collects into a new board, comments with a photo, follows.
  await signUp(sam.page, 'sam', 'Sam');
  check((await sam.page.locator('nav.tabs').innerText()).includes('Discover'), 'Sam sees the English navigation');
  // Discover's candidates are shared by every reader for up to 30 seconds.
  const card = sam.page.locator('[data-card]', { hasText: '西湖的秋天' });
  check(await waitForText(sam.page, 'main', '西湖的秋天', { reload: true, timeout: 40000 }), 'Sam finds the note on discover');
  check(await card.locator('.cover img').count() === 1, 'the discover card has a cover image');
  const coverBox = await card.locator('.cover').boundingBox();
  check(coverBox && coverBox.height > coverBox.width * 1.2, 'the cover keeps its portrait aspect ratio (3:4)');
  await shot(sam.page, 'flow-04-sam-discover');
  await Promise.all([sam.page.waitForURL(noteUrl), card.locator('.card-link').click()]);
  await sam.page.keyboard.press('ArrowRight');
  await sam.page.waitForTimeout(600);
  check((await sam.page.locator('[data-counter]').innerText()) === '2/3', 'the right arrow key moves the carousel to photo 2');
  const like = sam.page.locator('.action-bar [data-like]');
  await like.click();
  await sam.page.waitForFunction(() => document.querySelector('.action-bar [data-like] [data-count]').textContent === '1');
  check((await like.getAttribute('aria-pressed')) === 'true', 'the like button is pressed after liking');
  await sam.page.click('.action-bar [data-collect]');
  await sam.page.fill('#new-board-name', 'Trips');
  await sam.page.click('[data-new-board] button[type=submit]');
  await sam.page.waitForFunction(() => document.querySelector('.action-bar [data-collect]').getAttribute('aria-pressed') === 'true');
  check((await sam.page.locator('.action-bar [data-collect] [data-count]').innerText()) === '1', 'the collect count is 1 after collecting into a new board');
  await sam.page.setInputFiles('[data-comment-photo]', commentPhoto);
  await sam.page.fill('#comment-text', 'Beautiful! Which month was this?');
  await sam.page.locator('[data-photo-preview]', { hasText: 'Ready' }).waitFor({ timeout: 30000 });
  await Promise.all([sam.page.waitForURL(/#comment-\d+/), sam.page.click('[data-comment-form] button[type=submit]')]);
  await sam.page.locator('.comment-text', { hasText: 'Which month' }).waitFor();
  check(await sam.page.locator('.photo-wall img').count() === 1, "Sam's photo comment shows in the photo wall");
  check(await sam.page.locator('.comment-photo img').count() === 1, "Sam's photo comment shows inline");
  await sam.page.click('.note-author [data-follow]');
  await sam.page.waitForFunction(() => document.querySelector('.note-author [data-follow]').dataset.state === 'following');
  check((await sam.page.locator('.note-author [data-follow]').innerText()) === 'Following', 'the follow button says Following');
  await shot(sam.page, 'flow-05-sam-note-after');

  // Mei sees the notifications (made by background jobs) and replies.
  await mei.page.goto(`${origin}/notifications`);
  check(await waitForText(mei.page, '.notifications', '评论了你的笔记', { reload: true }), 'Mei sees the comment notification');
  check(await waitForText(mei.page, '.notifications', '关注了你', { reload: true }), 'Mei sees the follow notification');
  check(await waitForText(mei.page, '.notifications', '赞了你的笔记', { reload: true }), 'Mei sees the like notification');
  await shot(mei.page, 'flow-06-mei-notifications');
  await mei.page.goto(noteUrl);
  await mei.page.locator('.comment', { hasText: 'Which month' }).locator('[data-reply]').click();
  check(await mei.page.locator('[data-replying]').isVisible(), 'the comment box says whom Mei replies to');
  await mei.page.fill('#comment-text', '十月底，谢谢！');
  await Promise.all([mei.page.waitForURL(/#comment-\d+/), mei.page.click('[data-comment-form] button[type=submit]')]);
  check(await waitForText(mei.page, '.replies', '十月底'), "Mei's reply shows under Sam's comment");
  await shot(mei.page, 'flow-07-mei-reply');

  // A video note: uploaded, transcoded in the background, played with a <video> element.
  const clip = join(dataDir, 'clip.mp4');
  const made = spawnSync('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'testsrc=size=320x240:rate=10', '-t', '2', '-pix_fmt', 'yuv420p', '-y', clip]);
  if (made.status === 0) {
    await mei.page.goto(`${origin}/compose`);
    await mei.page.setInputFiles('[data-files]', clip);
    check(await mei.page.locator('.dropzone').isHidden(), 'after one video the composer takes no more files');
    await mei.page.fill('#body', '视频测试 #旅行');
    await Promise.all([mei.page.waitForURL(/\/@mei\/\d+/, { timeout: 90000 }), mei.page.click('[data-publish]')]);
    check(await mei.page.locator('.note-media video source[type="video/mp4"]').count() === 1, 'the video note plays in a <video> element');
    await shot(mei.page, 'flow-08-mei-video-note');
  } else {
    console.log('video step not run: ffmpeg is not installed');
  }

  // Both switch language.
  await mei.page.click('.lang-switch button');
  await mei.page.waitForLoadState();
  check((await mei.page.locator('nav.tabs').innerText()).includes('Discover'), 'Mei switched to English');
  await sam.page.goto(`${origin}/`);
  await sam.page.click('.lang-switch button');
  await sam.page.waitForLoadState();
  check((await sam.page.locator('nav.tabs').innerText()).includes('发现'), 'Sam switched to Chinese');
  await sam.page.goto(`${origin}/notifications`);
  check(await waitForText(sam.page, 'main', '消息通知'), "Sam's notifications page is in Chinese");

  // Every page, in both languages, on a phone and a desktop: screenshots and axe.
  const boardHref = await (async () => {
    await sam.page.goto(`${origin}/@sam?tab=boards`);
    return sam.page.locator('.board-card', { hasText: 'Trips' }).getAttribute('href');
  })();
  const pages = [
    ['discover', '/'],
    ['following', '/following'],
    ['tag', '/tags/' + encodeURIComponent('旅行')],
    ['note', new URL(noteUrl).pathname],
    ['profile', '/@mei'],
    ['boards', '/@sam?tab=boards'],
    ['board', boardHref],
    ['compose', '/compose'],
    ['notifications', '/notifications'],
    ['search', '/search?q=mei'],
    ['settings', '/settings'],
  ];
  const axeProblems = [];
  for (const [label, device] of [['phone', phone], ['desktop', desktop]]) {
    for (const language of ['zh', 'en']) {
      const person = label === 'phone' ? mei : sam;
      const context = person.context;
      await context.clearCookies({ name: 'pengyou_lang' });
      const page = person.page;
      await page.setViewportSize(device.viewport);
      await page.goto(`${origin}/`);
      const current = await page.locator('html').getAttribute('lang');
      if (!current.startsWith(language)) {
        await page.click('.lang-switch button');
        await page.waitForLoadState();
      }
      for (const [name, path] of pages) {
        await page.goto(origin + path);
        await page.waitForLoadState('networkidle').catch(() => {});
        const lang = await page.locator('html').getAttribute('lang');
        check(lang.startsWith(language), `${name} is in ${language} (${label})`);
        await page.screenshot({ path: join(artefacts, `${name}-${language}-${label}.png`) });
        await page.evaluate(axeSource);
        const result = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
        for (const v of result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')) {
          axeProblems.push(`${name} ${language} ${label}: ${v.id} (${v.impact}) ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(' | ')}`);
        }
      }
    }
  }
  // Visitors: signed-out pages.
  const visitor = await newPerson(phone, 'zh-CN');
  for (const [name, path] of [['sign-in', '/auth/sign_in'], ['sign-up', '/auth/sign_up'], ['visitor-discover', '/'], ['visitor-note', new URL(noteUrl).pathname]]) {
    for (const language of ['zh', 'en']) {
      await visitor.context.addCookies([{ name: 'pengyou_lang', value: language, url: origin }]);
      await visitor.page.goto(origin + path);
      await visitor.page.screenshot({ path: join(artefacts, `${name}-${language}-phone.png`) });
      check((await visitor.page.locator('html').getAttribute('lang')).startsWith(language), `${name} is in ${language} for a visitor`);
      await visitor.page.evaluate(axeSource);
      const result = await visitor.page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
      for (const v of result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')) {
        axeProblems.push(`${name} ${language}: ${v.id} (${v.impact}) ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(' | ')}`);
      }
    }
  }
  check(axeProblems.length === 0, `axe finds no serious or critical problems:\n  ${axeProblems.join('\n  ')}`);
} catch (error) {
  failures.push(`the scenario stopped: ${error.stack || error}`);
  console.error(error);
  console.error('page errors so far:', pageErrors, cspViolations);
  for (const [i, person] of people.entries()) {
    await person.page.screenshot({ path: join(artefacts, `stopped-${i}.png`), fullPage: true }).catch(() => {});
  }
} finally {
  check(offOrigin.length === 0, `no request leaves ${origin}: ${[...new Set(offOrigin)].join(', ')}`);
  check(cspViolations.length === 0, `no Content-Security-Policy violations: ${cspViolations.join(' | ')}`);
  check(pageErrors.length === 0, `no script errors: ${pageErrors.join(' | ')}`);
  check(!serverExited, 'the server kept running');
  await browser.close();
  server.kill();
  rmSync(dataDir, { recursive: true, force: true });
}

writeFileSync(join(artefacts, 'result.txt'), failures.join('\n'));
console.log(`browser: ${passed} passed, ${failures.length} failed (screenshots in ${artefacts})`);
process.exit(failures.length ? 1 : 0);
