// The meeting web app in Firefox: Ann signs her organisation up in Chromium, starts a meeting and
// makes a guest link; Firefox (Debian's firefox-esr, driven by puppeteer-core over WebDriver BiDi)
// opens the link, types the name Fox and joins. Ann's page shows Fox's tile named and playing
// (and hears Fox), Fox's page shows Ann's in a grid fitted to the window, and a click on it
// focuses it and Firefox decodes Ann's top layer, and back; a chat message typed in Firefox reaches Ann and one
// of Ann's reaches Firefox, each shown with its sender's name; Fox clicks Mute and Ann's page
// shows Fox muted (and Fox's audio goes silent); Ann ends the meeting and Firefox's page leaves
// the meeting screen. The test runs in a network namespace of its own (inOwnNetns: Firefox pairs
// no ICE candidate with 127.0.0.1), the node's media on the namespace's address. Needs root.
// Run: node tests/web/firefox_app.test.mjs (PARLEY_CONTROL_BIN, PARLEY_NODE_BIN as in the libs).
import { runTest, inOwnNetns, launchBrowser, launchFirefox, sleep, withTimeout } from '../e2e/lib.mjs';
import { startStack, openApp, waitInPage, signUp, waitJoined, tilesOf, audioEnergyFrom, expect } from './lib.mjs';

// Waits until `p` shows exactly one other tile, `account`'s, named `name` and playing.
async function waitTile(p, account, name, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const tiles = await withTimeout(tilesOf(p), 10_000, `${p.name}: reading the tiles`);
    const x = tiles.find((y) => y.account === account);
    if (tiles.length === 1 && x && x.name === name && x.playing && !x.hidden) return x;
    if (p.pageErrors.length) throw new Error(`${p.name}: uncaught error in the page: ${p.pageErrors.join(' | ')}`);
    if (Date.now() > deadline) {
      throw new Error(`${p.name}: expected one tile, ${name}'s, named and playing within ${timeoutMs / 1000} s, got ${JSON.stringify(tiles)}`);
    }
    await sleep(500);
  }
}

// Types `text` in p's chat box and sends it; waits until `to` has it from `from`, shown as
// "<name> <text>" in its chat log.
async function chat(p, to, from, name, text) {
  await waitInPage(p, 'the chat channel', () => window.parley.chatOpen || { waiting: true }, undefined, 20_000);
  await p.page.locator('#chat-form [name=text]').fill(text);
  await p.page.locator('#chat-form button[type=submit]').click();
  await waitInPage(to, `${p.name}'s chat message`, ([a, line, x]) => {
    const got = window.parley.chat.some((m) => m.from === a && m.text === x);
    const shown = [...document.querySelectorAll('#chat-log li')].some((li) => li.textContent === line);
    return got && shown ? true : { waiting: true, chat: window.parley.chat };
  }, [from, `${name} ${text}`, text], 15_000);
}

const mediaIp = await inOwnNetns('web_firefox');

runTest('web_firefox', async (t) => {
  const { url } = await startStack(t, { mediaIp });
  const chromium = await launchBrowser(t);

  const ann = await openApp(t, chromium, `${url}/`, 'ann');
  await signUp(ann, { tenant: 'Acme', name: 'Ann', email: 'ann@acme.test', password: 'ann-password' });
  await ann.page.locator('#create [name=title]').fill('Fox hunt');
  await ann.page.locator('#create button[type=submit]').click();
  const annAcct = (await waitJoined(ann)).account;
  const link = await ann.page.locator('#meeting-link').inputValue();
  const meetingId = decodeURIComponent(link.split('#m=')[1]);
  await ann.page.locator('#invite').click();
  const guestLink = await waitInPage(ann, 'the guest link', () => document.getElementById('guest-link').value);
  if (!/^http:\/\/127\.0\.0\.1:\d+\/#guest=[^&#]+$/.test(guestLink)) throw new Error(`the guest link is not #guest=<token> only: ${guestLink}`);
  t.log(`Ann started meeting ${meetingId} and made a guest link`);

  const started = Date.now();
  const firefox = await launchFirefox(t);
  t.log(`Firefox is up in ${((Date.now() - started) / 1000).toFixed(1)} s: ${await firefox.version()}`);
  const fox = await openApp(t, firefox, guestLink, 'fox');
  await waitInPage(fox, 'the guest form with the meeting\'s title', () =>
    (document.body.dataset.screen === 'guest' && document.getElementById('guest-title').textContent === 'Fox hunt') ||
    { waiting: true, screen: document.body.dataset.screen, error: document.getElementById('app-error').textContent });
  await fox.page.locator('#guest [name=name]').fill('Fox');
  await fox.page.locator('#guest button[type=submit]').click();
  const joined = await waitJoined(fox, { timeoutMs: 45_000 });
  if (!joined.account) throw new Error(`fox: joining failed: ${JSON.stringify(joined)}`);
  const foxAcct = joined.account;
  t.log(`Fox joined from Firefox as ${foxAcct}`);

  // Both ways: the other's tile named and playing (frame size, currentTime moving).
  const a = await waitTile(ann, foxAcct, 'Fox', 45_000);
  const f = await waitTile(fox, annAcct, 'Ann', 45_000);
  t.log(`Ann's page plays Fox's tile (${a.width} wide), Fox's page (Firefox) plays Ann's (${f.width} wide)`);
  const loud = await audioEnergyFrom(ann, foxAcct);
  if (!(loud > 0)) throw new Error(`ann: no audio energy from Fox (${loud})`);

  // Fox's gallery: the grid fits Firefox's 960x640 window as it does Chromium's (4x2), Ann's
  // small tile asks for the low layer; a click focuses it and asks for the top layer, and Firefox
  // decodes the node's switch to Ann's top layer: 320 wide (from the app's 640x480 camera
  // Chromium sends two of the three simulcast layers, q 160 and h 320; its f has no frames),
  // then back to 160 when Fox unfocuses it.
  const grid = await fox.page.evaluate((acct) => ({ grid: window.parleyApp.grid, bitrate: window.parleyApp.bitrates[acct],
    width: document.querySelector(`#gallery .tile.remote[data-account="${acct}"]`).clientWidth }), annAcct);
  if (grid.grid.cols !== 4 || grid.grid.rows !== 2 || grid.width >= 300 || grid.bitrate !== 200000) {
    throw new Error(`fox: expected a 4x2 grid with Ann's tile under 300 px at 200 kbit/s, got ${JSON.stringify(grid)}`);
  }
  const decodedWidth = (want) => waitInPage(fox, `Ann's tile ${want.focus ? 'focused' : 'unfocused'}, decoded ${want.min}..${want.max} wide`, ([acct, w]) => {
    const tile = document.querySelector(`#gallery .tile.remote[data-account="${acct}"]`);
    const v = tile.querySelector('video');
    const b = window.parleyApp.bitrates[acct];
    const now = { b, w: v.videoWidth, tile: tile.clientWidth, focus: tile.classList.contains('focus') };
    return now.focus === w.focus && b === w.bitrate && now.w >= w.min && now.w <= w.max ? now : { waiting: true, ...now };
  }, [annAcct, want], 30_000);
  // Wider and narrower than before rather than fixed widths: a loaded machine may make Chromium
  // scale its camera down (both layers alike).
  const low0 = await decodedWidth({ focus: false, bitrate: 200000, min: 1, max: 200 });
  await fox.page.locator(`#gallery .tile.remote[data-account="${annAcct}"]`).click();
  const top = await decodedWidth({ focus: true, bitrate: 3000000, min: low0.w + 1, max: 640 });
  await fox.page.locator(`#gallery .tile.remote[data-account="${annAcct}"]`).click();   // unfocus
  const low = await decodedWidth({ focus: false, bitrate: 200000, min: 1, max: top.w - 1 });
  const back = await waitTile(fox, annAcct, 'Ann', 20_000);
  t.log(`Fox's grid is 4x2, Ann's ${grid.width} px tile at 200 kbit/s decoded ${low0.w} wide; focused: ${top.tile} px ` +
    `at ${top.b}, decoded ${top.w} wide; unfocused: ${low.w} wide at ${low.b}, playing (${back.width} wide)`);

  // Chat both ways, typed in the pages' chat boxes, each shown with its sender's name.
  await chat(fox, ann, foxAcct, 'Fox', 'hello from Firefox — ünïcödé');
  await chat(ann, fox, annAcct, 'Ann', 'hello from Ann');
  t.log('chat: Fox\'s message reached Ann, Ann\'s reached Fox');

  // Fox mutes: the microphone track is disabled, Ann's page shows Fox muted and hears silence.
  await fox.page.locator('#mute').click();
  const foxMic = await fox.page.evaluate(() => ({
    enabled: window.parley.localStream.getAudioTracks()[0].enabled, label: document.getElementById('mute').textContent }));
  if (foxMic.enabled || foxMic.label !== 'Unmute') throw new Error(`fox: after Mute the microphone is ${JSON.stringify(foxMic)}`);
  await waitInPage(ann, 'Fox shown muted', (acct) =>
    document.querySelector(`#gallery .tile.remote[data-account="${acct}"]`)?.classList.contains('muted') || { waiting: true },
  foxAcct, 15_000);
  let quiet = null;
  for (let i = 0; i < 10 && quiet !== 0; i++) quiet = await audioEnergyFrom(ann, foxAcct, 1000);
  if (quiet !== 0) throw new Error(`ann: Fox's audio still carries energy after Fox muted (${quiet})`);
  t.log(`Fox muted; Ann's page shows it and Fox's audio energy at Ann went from ${loud.toExponential(2)} to 0`);

  // Ann ends the meeting: Firefox's page leaves the meeting screen.
  await ann.page.locator('#end').click();
  for (const p of [ann, fox]) {
    await waitInPage(p, 'the end of the meeting', () =>
      (window.parley.ended && document.body.dataset.screen !== 'meeting' && document.getElementById('meeting').hidden) ||
      { waiting: true, state: window.parley.state, screen: document.body.dataset.screen }, undefined, 15_000);
  }
  const screen = await fox.page.evaluate(() => document.body.dataset.screen);
  const admin = (await expect(200, url, 'POST', '/auth/login', { body: { email: 'ann@acme.test', password: 'ann-password' } })).json.token;
  let status = 'live';
  for (let i = 0; i < 50 && status !== 'ended'; i++) {
    await sleep(200);
    status = (await expect(200, url, 'GET', `/meetings/${encodeURIComponent(meetingId)}`, { token: admin })).json.status;
  }
  if (status !== 'ended') throw new Error(`the control plane still has the meeting ${status}`);
  for (const p of [ann, fox]) {
    if (p.pageErrors.length) throw new Error(`${p.name}: uncaught errors: ${p.pageErrors.join(' | ')}`);
  }
  t.log(`Ann ended the meeting: Fox's page left it (now on the ${screen} screen), the control plane has it ended`);
}, { timeoutMs: 240_000 });
