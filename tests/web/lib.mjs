// Helpers for the web app's browser tests: the whole stack (a private PostgreSQL, parley-control
// serving web/, a parley-node that registers with it) and pages of the app in headless Chromium.
// Environment: as tests/e2e/lib.mjs and tests/control/lib.mjs (PARLEY_NODE_BIN,
// PARLEY_CONTROL_BIN, PARLEY_CHROMIUM).
import fs from 'node:fs';
import path from 'node:path';
import { startNode, sleep, withTimeout } from '../e2e/lib.mjs';
import { TestContext as ControlContext, expect } from '../control/lib.mjs';

export { expect };

// PostgreSQL + parley-control + one registered parley-node; returns {ctx, control, node, url}.
export async function startStack(t, { nodeArgs = [] } = {}) {
  const ctx = new ControlContext(t.name, t.tmpDir);
  t.defer('stop parley-control and PostgreSQL', () => ctx.cleanup());
  await ctx.startPostgres();
  const control = await ctx.startControl(['--rate-ip', '0', '--rate-key', '0']);
  const node = await startNode(t, { tokenSecret: ctx.tokenSecret, controlUrl: control.url,
    controlKey: ctx.nodeKey, args: ['--recordings-root', ctx.recordings, ...nodeArgs] });
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
export async function waitJoined(p) {
  return waitInPage(p, 'joining the meeting', () => {
    const z = window.parley;
    if (z.state === 'failed') return { waiting: false, failed: z.errors };
    return (z.state === 'connected' && z.received.includes('MEETING_USERS')) ? { account: z.accountId } : { waiting: true, state: z.state, errors: z.errors };
  });
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
