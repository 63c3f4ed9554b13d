// The meeting web app end to end: Ann signs her organisation up on the page parley-control
// serves and starts a meeting; Bob (an account of the tenant) opens the meeting's link and signs
// in (a wrong password first is refused with the control plane's words); Carol opens a guest
// link Ann made in the meeting (a forged one is refused). Each page shows the other two tiles with their names and plays
// their video; the active speaker is outlined; tiles are subscribed at a bitrate for their size
// (a focused tile asks for the top layer); pages of tiles swap subscriptions; Carol's camera off
// and Bob's mute show on the others' pages (and his audio goes silent); a chat message from Ann
// reaches Bob and Carol; Bob's connection drops and his page reconnects, still muted; Ann ends
// the meeting and the control plane has it ended.
// Run: node tests/web/meeting.test.mjs (PARLEY_CONTROL_BIN, PARLEY_NODE_BIN as in the libs).
import { runTest, launchBrowser, sleep } from '../e2e/lib.mjs';
import { startStack, openApp, waitInPage, signUp, signIn, waitJoined, tilesOf, audioEnergyFrom, expect } from './lib.mjs';

runTest('web_meeting', async (t) => {
  const { url } = await startStack(t);
  const browser = await launchBrowser(t);

  const ann = await openApp(t, browser, `${url}/`, 'ann');
  await signUp(ann, { tenant: 'Acme', name: 'Ann', email: 'ann@acme.test', password: 'ann-password' });
  await ann.page.locator('#create [name=title]').fill('Weekly');
  await ann.page.locator('#create button[type=submit]').click();
  const annAcct = (await waitJoined(ann)).account;
  const link = await ann.page.locator('#meeting-link').inputValue();
  const meetingId = decodeURIComponent(link.split('#m=')[1]);
  t.log(`Ann started meeting ${meetingId}; its link: ${link}`);

  // Bob: an account Ann's organisation has (made through the API, as an admin would).
  const admin = (await expect(200, url, 'POST', '/auth/login', { body: { email: 'ann@acme.test', password: 'ann-password' } })).json.token;
  const bobAcct = (await expect(201, url, 'POST', '/accounts', { token: admin,
    body: { email: 'bob@acme.test', password: 'bob-password', role: 'participant', name: 'Bob' } })).json.account_id;
  const bob = await openApp(t, browser, link, 'bob');
  await signIn(bob, { email: 'bob@acme.test', password: 'wrong-password' });
  const refused = await waitInPage(bob, 'the wrong password refused', () => document.getElementById('app-error').textContent || { waiting: true });
  if (!/wrong e-mail or password/.test(refused)) throw new Error(`bob: a wrong password shows "${refused}"`);
  await signIn(bob, { email: 'bob@acme.test', password: 'bob-password' });
  await waitJoined(bob);

  // Carol: a guest link Ann makes in the meeting.
  await ann.page.locator('#invite').click();
  const guestLink = await waitInPage(ann, 'the guest link', () => document.getElementById('guest-link').value);
  if (/[#&](ws|t)=/.test(guestLink)) throw new Error(`the guest link carries more than its token: ${guestLink}`);
  // A guest link whose token the control plane did not mint is refused before any camera is
  // opened, whatever signaling URL someone put in it.
  const tok = new URLSearchParams(guestLink.split('#')[1]).get('guest');
  const forged = `${tok.slice(0, -4)}${tok.endsWith('AAAA') ? 'BBBB' : 'AAAA'}`;
  const mallory = await openApp(t, browser, `${url}/#guest=${forged}&ws=ws://127.0.0.1:9/ws`, 'mallory');
  const why = await waitInPage(mallory, 'the forged guest link refused', () =>
    (document.body.dataset.screen !== 'guest' && document.getElementById('app-error').textContent) || { waiting: true });
  if (!/not valid/.test(why)) throw new Error(`a forged guest link shows "${why}"`);
  await mallory.page.close();
  const carol = await openApp(t, browser, guestLink, 'carol');
  await carol.page.locator('#guest [name=name]').fill('Carol');
  await carol.page.locator('#guest button[type=submit]').click();
  const carolAcct = (await waitJoined(carol)).account;
  t.log('Bob joined by the link after signing in, Carol by the guest link');

  const names = { [annAcct]: 'Ann', [bobAcct]: 'Bob', [carolAcct]: 'Carol' };
  const pages = [[ann, annAcct], [bob, bobAcct], [carol, carolAcct]];
  for (const [p, self] of pages) {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const tiles = await tilesOf(p);
      const others = Object.keys(names).filter((a) => a !== self);
      const ok = others.every((a) => tiles.some((x) => x.account === a && x.name === names[a] && x.playing && !x.hidden));
      if (ok && tiles.length === 2) break;
      if (Date.now() > deadline) throw new Error(`${p.name}: expected the other two tiles named and playing, got ${JSON.stringify(tiles)}`);
      await sleep(500);
    }
  }
  t.log('every page shows the other two tiles with their names, video playing');
  // The active speaker (ACTIVE_SPEAKER from the node) is outlined, on exactly one tile.
  const speaker = await waitInPage(ann, 'the active speaker outlined', () => {
    const a = window.parley.activeSpeaker;
    const lit = [...document.querySelectorAll('#gallery .tile.speaking')];
    return a && lit.length === 1 && (lit[0].dataset.account === a || lit[0].classList.contains('self')) ? { a } : { waiting: true, a, lit: lit.length };
  });
  t.log(`active speaker ${names[speaker.a]} is outlined on Ann's page`);

  // Each tile's subscription fits its size; focusing one asks for the top layer.
  const sizes = await tilesOf(ann);
  const bitrates = await ann.page.evaluate(() => window.parleyApp.bitrates);
  for (const x of sizes) {
    const want = x.clientWidth >= 560 ? 3000000 : x.clientWidth >= 300 ? 700000 : 200000;
    if (bitrates[x.account] !== want) throw new Error(`ann: tile ${x.name} is ${x.clientWidth} px wide, subscribed at ${bitrates[x.account]}, want ${want}`);
  }
  await ann.page.locator(`#gallery .tile.remote[data-account="${bobAcct}"]`).click();
  const focused = await waitInPage(ann, 'the focused tile to ask for more', (a) => {
    const b = window.parleyApp.bitrates[a];
    return b === 3000000 ? { b, w: document.querySelector(`.tile[data-account="${a}"]`).clientWidth } : { waiting: true, b };
  }, bobAcct);
  if (!ann.wsSent.some((f) => f.includes('"SUBSCRIBE"') && f.includes(bobAcct) && f.includes('3000000'))) {
    throw new Error('ann: no SUBSCRIBE with the top bitrate for the focused tile went to the node');
  }
  t.log(`subscriptions fit the tiles (${JSON.stringify(Object.values(bitrates))}); focused Bob: ${focused.w} px at ${focused.b}`);

  // Pages: with one tile per page Ann sees (and receives) one of the two; the next page swaps
  // the subscription (UNSUB_SUB) and shows the other, playing.
  await ann.page.locator(`#gallery .tile.remote[data-account="${bobAcct}"]`).click();   // unfocus
  await ann.page.evaluate(() => window.parleyApp.setPageSize(1));
  const pageOf = () => waitInPage(ann, 'one tile on the page', () => {
    const shown = [...document.querySelectorAll('#gallery .tile.remote')].filter((x) => !x.hidden).map((x) => x.dataset.account);
    const subs = window.parley.subscribed;
    return shown.length === 1 && subs.length === 1 && subs[0] === shown[0] && !document.getElementById('pager').hidden
      ? { shown: shown[0], label: document.getElementById('page-label').textContent } : { waiting: true, shown, subs };
  });
  const p1 = await pageOf();
  await ann.page.locator('#page-next').click();
  let p2;
  for (let i = 0; i < 50; i++) {
    p2 = await pageOf();
    if (p2.shown !== p1.shown) break;
    await sleep(100);
  }
  if (p2.shown === p1.shown || p1.label !== '1 / 2' || p2.label !== '2 / 2') throw new Error(`paging: ${JSON.stringify([p1, p2])}`);
  if (!ann.wsSent.some((f) => f.includes('"UNSUB_SUB"') && f.includes(p1.shown) && f.includes(p2.shown))) throw new Error('no UNSUB_SUB for the page turn');
  const pdeadline = Date.now() + 20_000;
  while (!(await tilesOf(ann)).some((x) => x.account === p2.shown && x.playing && !x.hidden)) {
    if (Date.now() > pdeadline) throw new Error(`ann: page 2's tile does not play: ${JSON.stringify(await tilesOf(ann))}`);
    await sleep(500);
  }
  await ann.page.evaluate(() => window.parleyApp.setPageSize(0));   // back to fitting the window
  await waitInPage(ann, 'both tiles back', () => window.parley.subscribed.length === 2 || { waiting: true });
  t.log(`pages of one tile: ${p1.label} shows ${names[p1.shown]}, ${p2.label} shows ${names[p2.shown]} (UNSUB_SUB), playing`);

  // Carol turns her camera off: Ann and Bob see it.
  await carol.page.locator('#camera').click();
  for (const p of [ann, bob]) {
    await waitInPage(p, 'Carol shown with her camera off', (a) =>
      document.querySelector(`#gallery .tile.remote[data-account="${a}"]`)?.classList.contains('cam-off') || { waiting: true }, carolAcct, 10_000);
  }
  t.log('Carol turned her camera off; Ann and Bob show it');

  // Bob mutes: Ann and Carol see it (the tile's marker, and silence in his audio).
  const loud = await audioEnergyFrom(ann, bobAcct);
  if (!(loud > 0)) throw new Error(`ann: no audio energy from Bob before he mutes (${loud})`);
  await bob.page.locator('#mute').click();
  if (await bob.page.evaluate(() => window.parley.localStream.getAudioTracks()[0].enabled)) throw new Error('bob: the microphone is still enabled');
  for (const p of [ann, carol]) {
    await waitInPage(p, 'Bob shown muted', (a) => {
      const tile = document.querySelector(`#gallery .tile.remote[data-account="${a}"]`);
      return tile && tile.classList.contains('muted') ? true : { waiting: true };
    }, bobAcct, 10_000);
  }
  let quiet = null;
  for (let i = 0; i < 10 && quiet !== 0; i++) quiet = await audioEnergyFrom(ann, bobAcct, 1000);
  if (quiet !== 0) throw new Error(`ann: Bob's audio still carries energy after he muted (${quiet})`);
  t.log(`Bob muted; Ann and Carol show him muted; his audio energy at Ann went from ${loud.toExponential(2)} to 0`);

  // Chat: Ann types, Bob and Carol read it (with her name).
  await waitInPage(ann, 'the chat channel', () => window.parley.chatOpen);
  await ann.page.locator('#chat-form [name=text]').fill('hello from Ann');
  await ann.page.locator('#chat-form button[type=submit]').click();
  for (const p of [bob, carol]) {
    await waitInPage(p, 'Ann\'s chat message', (a) => {
      const got = window.parley.chat.some((m) => m.from === a && m.text === 'hello from Ann');
      const shown = [...document.querySelectorAll('#chat-log li')].some((li) => li.textContent === 'Ann hello from Ann');
      return got && shown ? true : { waiting: true, chat: window.parley.chat };
    }, annAcct, 10_000);
    const stray = await p.page.evaluate(() => window.parley.chat.filter((m) => m.text.includes('parley_state')));
    if (stray.length) throw new Error(`${p.name}: state messages leaked into the chat: ${JSON.stringify(stray)}`);
  }
  t.log('Ann\'s chat message reached Bob and Carol');

  // Bob's signaling connection drops: his page reconnects on its own (a fresh join token) and
  // Ann sees his video again.
  await bob.page.evaluate(() => window.parley.ws.close(4000, 'test: connection lost'));
  await waitInPage(bob, 'the reconnect button', () => !document.getElementById('reconnect').hidden || { waiting: true, state: window.parley.state });
  await waitJoined(bob);
  const back = Date.now() + 30_000;
  while (!(await tilesOf(ann)).some((x) => x.account === bobAcct && x.playing)) {
    if (Date.now() > back) throw new Error(`ann: Bob's video did not come back after his reconnect: ${JSON.stringify(await tilesOf(ann))}`);
    await sleep(500);
  }
  await waitInPage(ann, 'Bob still shown muted after his reconnect', (a) =>
    document.querySelector(`#gallery .tile.remote[data-account="${a}"]`)?.classList.contains('muted') || { waiting: true }, bobAcct, 10_000);
  if (await bob.page.evaluate(() => window.parley.localStream.getAudioTracks()[0].enabled)) throw new Error('bob: unmuted by the reconnect');
  t.log('Bob\'s connection dropped; his page reconnected, still muted, and Ann sees him again');

  // Ann ends the meeting: everyone is out and the control plane has it ended.
  await ann.page.locator('#end').click();
  for (const p of [ann, bob, carol]) {
    await waitInPage(p, 'the end of the meeting', () => window.parley.ended || { waiting: true, state: window.parley.state });
  }
  let status = 'live';
  for (let i = 0; i < 50 && status !== 'ended'; i++) {
    await sleep(200);
    status = (await expect(200, url, 'GET', `/meetings/${meetingId}`, { token: admin })).json.status;
  }
  if (status !== 'ended') throw new Error(`the control plane still has the meeting ${status}`);
  for (const p of [ann, bob, carol]) {
    if (p.pageErrors.length) throw new Error(`${p.name}: uncaught errors: ${p.pageErrors.join(' | ')}`);
  }
  t.log('Ann ended the meeting; every page left and the control plane has it ended');
}, { timeoutMs: 180_000 });
