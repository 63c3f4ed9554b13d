// Helpers for the web app's browser tests: the whole stack (a private PostgreSQL, parley-control
// serving web/, a parley-node that registers with it) and pages of the app in headless Chromium.
// openApp, waitInPage, waitJoined, tilesOf, signUp and signIn take Firefox's pages too
// (launchFirefox's puppeteer-core pages have the same newPage, goto, evaluate(fn, arg),
// locator(...).fill / .click, console and pageerror); only p.wsSent stays empty there (no
// WebSocket frame events in puppeteer).
// Environment: as tests/e2e/lib.mjs and tests/control/lib.mjs (PARLEY_NODE_BIN,
// PARLEY_CONTROL_BIN, PARLEY_CHROMIUM).
import fs from 'node:fs';
import path from 'node:path';
import { startNode, sleep, withTimeout } from '../e2e/lib.mjs';
import { TestContext as ControlContext, expect } from '../control/lib.mjs';

export { expect };

// PostgreSQL + parley-control + one registered parley-node; returns {ctx, control, node, url}.
// mediaIp: the address the node's media binds (startNode's; a Firefox test's namespace address,
// see inOwnNetns), default 127.0.0.1.
export async function startStack(t, { nodeArgs = [], mediaIp } = {}) {
  const ctx = new ControlContext(t.name, t.tmpDir);
  t.defer('stop parley-control and PostgreSQL', () => ctx.cleanup());
  await ctx.startPostgres();
  const control = await ctx.startControl(['--rate-ip', '0', '--rate-key', '0']);
  const node = await startNode(t, { tokenSecret: ctx.tokenSecret, controlUrl: control.url,
    controlKey: ctx.nodeKey, mediaIp, args: ['--recordings-root', ctx.recordings, ...nodeArgs] });
  const deadline = Date.now() + 15_000;
  for (;;) {
    const nodes = (await expect(200, control.url, 'GET', '/nodes', { token: ctx.nodeKey })).json.nodes;
    if (nodes.some((n) => n.healthy)) break;
    if (Date.now() > deadline) throw new Error(`the node did not register within 15 s: ${JSON.stringify(nodes)}`);
    await sleep(200);
  }
  t.log(`stack up: control ${control.url}, node ${node.url}`);
  return { ctx, control, node, url: control.url };
}

// Opens `url` in a new tab of `context`, logging its console to page-<name>.log; the page is
// added to t.participants so a failure prints its window.parley state and a screenshot.
export async function openApp(t, context, url, name) {
  const page = await context.newPage();
  const logPath = path.join(t.tmpDir, `page-${name}.log`);
  const fd = fs.openSync(logPath, 'a');
  const p = { name, page, logPath, consoleErrors: [], pageErrors: [], wsSent: [] };
  let open = true;
  const write = (line) => { if (open) fs.writeSync(fd, `${((Date.now() - t.started) / 1000).toFixed(2)} ${line}\n`); };
  page.on('console', (m) => { write(`${m.type()}: ${m.text()}`); if (m.type() === 'error') p.consoleErrors.push(m.text()); });
  page.on('pageerror', (e) => { write(`uncaught: ${e.message}`); p.pageErrors.push(e.message); });
  page.on('websocket', (ws) => ws.on('framesent', (f) => p.wsSent.push(String(f.payload))));
  page.on('close', () => { open = false; fs.closeSync(fd); });
  t.participants.push(p);
  t.log(`${name}: opening ${url.replace(/guest=[^&]+/, 'guest=...')}`);
  const resp = await page.goto(url, { timeout: 15_000 });
  if (!resp || resp.status() !== 200) throw new Error(`${name}: GET ${url} answered ${resp ? resp.status() : 'nothing'}`);
  return p;
}

// Polls fn(page) (evaluated in the page) until it returns a truthy value; returns it.
export async function waitInPage(p, what, fn, arg, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    if (p.pageErrors.length) throw new Error(`${p.name}: uncaught error in the page: ${p.pageErrors.join(' | ')}`);
    last = await withTimeout(p.page.evaluate(fn, arg), 5000, `${p.name}: ${what}`);
    if (last && !last.waiting) return last;
    if (Date.now() > deadline) throw new Error(`${p.name}: ${what} did not happen within ${timeoutMs / 1000} s (last: ${JSON.stringify(last)})`);
    await sleep(200);
  }
}

// Signs an organisation up through the page's form (it signs in right after).
export async function signUp(p, { tenant, name, email, password }) {
  const f = p.page.locator('#sign-up');
  await f.locator('[name=tenant]').fill(tenant);
  await f.locator('[name=name]').fill(name);
  await f.locator('[name=email]').fill(email);
  await f.locator('[name=password]').fill(password);
  await f.locator('button[type=submit]').click();
  await waitInPage(p, 'the lobby after sign-up', () => !document.getElementById('lobby').hidden || { waiting: true, error: document.getElementById('app-error').textContent });
}

export async function signIn(p, { email, password }) {
  const f = p.page.locator('#sign-in');
  await f.locator('[name=email]').fill(email);
  await f.locator('[name=password]').fill(password);
  await f.locator('button[type=submit]').click();
}

// Waits until the page is in the meeting (MEETING_USERS) and connected.
export async function waitJoined(p, { timeoutMs = 20_000 } = {}) {
  return waitInPage(p, 'joining the meeting', () => {
    const z = window.parley;
    if (z.state === 'failed') return { waiting: false, failed: z.errors };
    return (z.state === 'connected' && z.received.includes('MEETING_USERS')) ? { account: z.accountId } : { waiting: true, state: z.state, errors: z.errors };
  }, undefined, timeoutMs);
}

// What the page shows of everyone else: per remote tile, its name, whether it is muted and
// whether its video plays (a frame size and currentTime moving between two looks).
export async function tilesOf(p) {
  const first = await p.page.evaluate(() => [...document.querySelectorAll('#gallery .tile.remote')].map((t) => ({
    account: t.dataset.account, t: t.querySelector('video').currentTime })));
  await sleep(400);
  return p.page.evaluate((before) => [...document.querySelectorAll('#gallery .tile.remote')].map((t) => {
    const v = t.querySelector('video');
    const b = before.find((x) => x.account === t.dataset.account);
    return { account: t.dataset.account, name: t.querySelector('figcaption').textContent, muted: t.classList.contains('muted'),
      hidden: t.hidden, width: v.videoWidth, playing: v.videoWidth > 0 && !!b && v.currentTime > b.t && !v.paused,
      clientWidth: t.clientWidth };
  }), first);
}

// Ann signs her organisation up and starts a meeting titled `title`; Bob (an account of the
// tenant) opens its link and signs in. Returns the pages, accounts, Ann's API token and ids.
export async function annAndBob(t, browser, url, { title = 'Weekly' } = {}) {
  const ann = await openApp(t, browser, `${url}/`, 'ann');
  await signUp(ann, { tenant: 'Acme', name: 'Ann', email: 'ann@acme.test', password: 'ann-password' });
  await ann.page.locator('#create [name=title]').fill(title);
  await ann.page.locator('#create button[type=submit]').click();
  const annAcct = (await waitJoined(ann)).account;
  const link = await ann.page.locator('#meeting-link').inputValue();
  const meetingId = decodeURIComponent(link.split('#m=')[1]);
  t.log(`Ann started meeting ${meetingId}; its link: ${link}`);
  const admin = (await expect(200, url, 'POST', '/auth/login', { body: { email: 'ann@acme.test', password: 'ann-password' } })).json.token;
  const bobAcct = (await expect(201, url, 'POST', '/accounts', { token: admin,
    body: { email: 'bob@acme.test', password: 'bob-password', role: 'participant', name: 'Bob' } })).json.account_id;
  const bob = await openApp(t, browser, link, 'bob');
  await signIn(bob, { email: 'bob@acme.test', password: 'bob-password' });
  await waitJoined(bob);
  return { ann, bob, annAcct, bobAcct, admin, meetingId, link };
}

// Waits until the recording indicator of every page is `shown` (RECORDING from the node).
export async function waitIndicator(pages, shown, timeoutMs = 10_000) {
  for (const p of pages) {
    await waitInPage(p, `the recording indicator ${shown ? 'on' : 'off'}`, (want) =>
      (!document.getElementById('recording').hidden === want && window.parley.recording === want) || { waiting: true },
    shown, timeoutMs);
  }
}

// Ann's recordings page: waits until `recordingId` is listed complete (reloading the list), plays
// it, and checks the <video> has data (readyState >= 2) and its currentTime moves.
export async function playOnRecordingsPage(t, p, recordingId, { timeoutMs = 60_000 } = {}) {
  await p.page.evaluate(() => { location.hash = '#recordings'; });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const status = await p.page.evaluate((id) => {
      const row = document.querySelector(`#recording-list tr[data-recording="${id}"]`);
      return row ? row.dataset.status : 'not listed';
    }, recordingId);
    if (status === 'complete') break;
    if (Date.now() > deadline) throw new Error(`${p.name}: recording ${recordingId} is ${status} on the recordings page after ${timeoutMs / 1000} s`);
    await sleep(1000);
    await p.page.reload();
  }
  t.log(`the recordings page lists ${recordingId} as complete`);
  await p.page.locator(`#recording-list tr[data-recording="${recordingId}"] button.play`).click();
  const first = await waitInPage(p, 'the recording to load in the player', () => {
    const v = document.getElementById('player');
    return v.readyState >= 2 ? { t: v.currentTime, src: v.currentSrc, duration: v.duration } : { waiting: true, rs: v.readyState, err: v.error && v.error.message };
  });
  if (!/\/files\/[^?]+\?exp=\d+&sig=[0-9a-f]+$/.test(first.src)) throw new Error(`the player's source is not a signed URL: ${first.src}`);
  const moved = await waitInPage(p, 'the recording to play', (t0) => {
    const v = document.getElementById('player');
    return v.currentTime > t0 + 0.5 ? { t: v.currentTime, rs: v.readyState } : { waiting: true, t: v.currentTime, paused: v.paused };
  }, first.t, 15_000);
  t.log(`the recording plays: readyState ${moved.rs}, currentTime ${first.t.toFixed(2)} -> ${moved.t.toFixed(2)} s of ${first.duration.toFixed(1)} s`);
}

// The audio energy (inbound-rtp totalAudioEnergy) the page received from `account` during
// `ms`: > 0 while that person's microphone sends sound, 0 once it sends silence.
export async function audioEnergyFrom(p, account, ms = 1500) {
  const read = () => p.page.evaluate(async (a) => {
    const tile = document.querySelector(`#gallery .tile.remote[data-account="${a}"]`);
    const track = tile && tile.querySelector('audio').srcObject ? tile.querySelector('audio').srcObject.getAudioTracks()[0] : null;
    const rx = track && window.parley.pc.getReceivers().find((r) => r.track === track);
    if (!rx) return null;
    for (const s of (await rx.getStats()).values()) if (s.type === 'inbound-rtp') return s.totalAudioEnergy ?? 0;
    return null;
  }, account);
  const a = await read();
  await sleep(ms);
  const b = await read();
  return a === null || b === null ? null : b - a;
}
