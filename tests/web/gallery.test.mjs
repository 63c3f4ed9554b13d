// The gallery of a big meeting, Leave, and a lost node (issue 8). Ann starts a meeting in the app
// and Bob joins by its link; PUBLISHERS native parley-clients join too, each publishing the
// libvpx VP8 test pattern (one process, --clients). Ann's page (960x640) has a tile for each of
// the PUBLISHERS + 1 others (48: a meeting of 49), more than one page of them: the tiles on the visible page play with
// their names and are the only ones subscribed, small ones at the low bitrate; a focused tile asks
// for the top one; turning the pages shows (and plays) everyone once; a bigger window has more
// tiles a page. Bob clicks Leave: his page
// is back in the lobby and Ann's drops his tile. Then the node is killed: Ann's page shows the
// lost connection and the Reconnect button, tries on its own and gives up; the node comes back on
// the same ports, Ann clicks Reconnect and is in the meeting again (with two new publishers'
// tiles playing). Run: node tests/web/gallery.test.mjs (as meeting.test.mjs).
import { runTest, launchBrowser, startNode, sleep } from '../e2e/lib.mjs';
import { startClient } from '../e2e/client_lib.mjs';
import { startStack, annAndBob, waitInPage, waitJoined, tilesOf } from './lib.mjs';

// + Bob + Ann: a full meeting of 49; 48 others on 7 pages of 7 at the test's 960x640 window.
// PARLEY_GALLERY_PUBLISHERS changes it (at least 7, for more than one page).
const PUBLISHERS = Number(process.env.PARLEY_GALLERY_PUBLISHERS) || 47;

// `n` VP8 publishers (accounts `${prefix}-0`..) in one parley-client process, for `seconds`.
function publishers(t, node, meetingId, prefix, n, seconds = 600) {
  return startClient(t, ['--url', node.wsUrl, '--meeting', meetingId, '--token-secret', node.tokenSecret,
    '--clients', String(n), '--account', prefix, '--publish', 'vp8', '--width', '320', '--height', '240',
    '--fps', '15', '--send-bitrate', '250000', '--subscribe', '0', '--video-slots', '0', '--audio-slots', '0',
    '--duration', String(seconds), '--log-level', 'info'], `parley-client-${prefix}`);
}

// Ann's remote tiles on the page now: [{account, name, playing, hidden, clientWidth}].
async function shownTiles(p) {
  return (await tilesOf(p)).filter((x) => !x.hidden);
}

// Waits until every tile on Ann's page plays with its name and the page's subscriptions are
// exactly those tiles; returns {label, shown: [accounts]}.
async function pageIsLive(t, p, names, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const shown = await shownTiles(p);
    const state = await p.page.evaluate(() => ({ subs: window.parley.subscribed.slice().sort(),
      label: document.getElementById('page-label').textContent, size: window.parleyApp.pageSize }));
    const accounts = shown.map((x) => x.account).sort();
    const ok = shown.length > 0 && shown.every((x) => x.playing && x.name === names(x.account)) &&
      JSON.stringify(accounts) === JSON.stringify(state.subs);
    if (ok) return { label: state.label, shown: accounts };
    if (Date.now() > deadline) {
      throw new Error(`${p.name}: page ${state.label} did not show its tiles playing, named and subscribed within ` +
        `${timeoutMs / 1000} s: ${JSON.stringify({ shown, subs: state.subs })}`);
    }
    await sleep(500);
  }
}

runTest('web_gallery', async (t) => {
  const { ctx, control, node, url } = await startStack(t);
  const browser = await launchBrowser(t);
  const { ann, bob, bobAcct, meetingId } = await annAndBob(t, browser, url, { title: 'All hands' });
  const started = Date.now();
  const pubs = publishers(t, node, meetingId, 'pub', PUBLISHERS);
  const pubAccts = Array.from({ length: PUBLISHERS }, (_, i) => `pub-${i}`);
  const others = [bobAcct, ...pubAccts];
  const names = (a) => (a === bobAcct ? 'Bob' : a);   // the clients announce no name: their account

  // Everyone has a tile on Ann's page (the hidden ones too), more than one page of them.
  const grid = await waitInPage(ann, `a tile for each of the ${others.length} others`, (want) => {
    const tiles = [...document.querySelectorAll('#gallery .tile.remote')].map((x) => x.dataset.account);
    const app = window.parleyApp;
    // (the layout follows a render on the next animation frame: wait for its pages too)
    return want.every((a) => tiles.includes(a)) && tiles.length === want.length &&
      app.pages === Math.ceil(tiles.length / app.pageSize) && window.parley.subscribed.length === Math.min(app.pageSize, tiles.length)
      ? { tiles: tiles.length, pageSize: app.pageSize, pages: app.pages, grid: app.grid }
      : { waiting: true, tiles: tiles.length, users: window.parley.users.length };
  }, others, 60_000);
  if (pubs.proc.exitCode !== null) throw new Error(`the publishers exited early; log ${pubs.logPath}`);
  if (!(grid.pages >= 2) || grid.pageSize !== grid.grid.cols * grid.grid.rows - 1) {
    throw new Error(`expected pages of the grid's cells less one (own tile), more than one: ${JSON.stringify(grid)}`);
  }
  t.log(`Ann's page: ${grid.tiles} tiles in a ${grid.grid.cols}x${grid.grid.rows} grid, ${grid.pageSize} a page, ` +
    `${grid.pages} pages (${((Date.now() - started) / 1000).toFixed(1)} s after the publishers started)`);

  // Page 1 plays, named; only its tiles are subscribed, each at the bitrate for its width.
  const first = await pageIsLive(t, ann, names);
  if (first.shown.length !== grid.pageSize || first.label !== `1 / ${grid.pages}`) {
    throw new Error(`page 1 shows ${first.shown.length} tiles (${first.label}), want ${grid.pageSize} of ${grid.pages} pages`);
  }
  const sizes = await shownTiles(ann);
  const bitrates = await ann.page.evaluate(() => window.parleyApp.bitrates);
  for (const x of sizes) {
    const want = x.clientWidth >= 560 ? 3000000 : x.clientWidth >= 300 ? 700000 : 200000;
    if (bitrates[x.account] !== want) throw new Error(`ann: tile ${x.name} is ${x.clientWidth} px wide, subscribed at ${bitrates[x.account]}, want ${want}`);
  }
  if (!sizes.every((x) => bitrates[x.account] === 200000)) {
    throw new Error(`ann: expected every small tile at the low bitrate (200000): ${JSON.stringify(sizes.map((x) => [x.clientWidth, bitrates[x.account]]))}`);
  }
  const sent = ann.wsSent.filter((f) => /"(SUBSCRIBE|UNSUB_SUB)"/.test(f)).join('\n');
  for (const a of first.shown) {
    if (!sent.includes(`{"account_id":"${a}","bitrate":200000}`)) throw new Error(`ann: no subscription of ${a} at 200000 went to the node`);
  }
  t.log(`page ${first.label}: ${first.shown.length} tiles playing with their names, ${sizes[0].clientWidth} px wide, ` +
    'subscribed at 200000 (low layer); the rest unsubscribed');

  // Focus one: it asks for the top layer (and gets twice the size); unfocus: back to the low one.
  const target = first.shown.find((a) => a !== bobAcct);
  await ann.page.locator(`#gallery .tile.remote[data-account="${target}"]`).click();
  const focused = await waitInPage(ann, 'the focused tile at the top bitrate', (a) => {
    const b = window.parleyApp.bitrates[a];
    return b === 3000000 ? { b, w: document.querySelector(`.tile[data-account="${a}"]`).clientWidth } : { waiting: true, b };
  }, target);
  if (!ann.wsSent.some((f) => f.includes('"SUBSCRIBE"') && f.includes(`{"account_id":"${target}","bitrate":3000000}`))) {
    throw new Error(`ann: no SUBSCRIBE of ${target} at 3000000 went to the node`);
  }
  await ann.page.locator(`#gallery .tile.remote[data-account="${target}"]`).click();
  await waitInPage(ann, 'the unfocused tile back at the low bitrate', (a) => window.parleyApp.bitrates[a] === 200000 || { waiting: true }, target);
  t.log(`focused ${target}: ${focused.w} px at ${focused.b} (top layer); unfocused: 200000 again`);

  // The other pages: each plays, named and subscribed; together the pages show everyone once.
  const seen = [...first.shown];
  for (let i = 2; i <= grid.pages; i++) {
    await ann.page.locator('#page-next').click();
    await waitInPage(ann, `page ${i}`, (want) => document.getElementById('page-label').textContent.startsWith(`${want} /`) || { waiting: true }, i);
    const pg = await pageIsLive(t, ann, names);
    t.log(`page ${pg.label}: ${pg.shown.length} tiles playing with their names, subscribed`);
    seen.push(...pg.shown);
  }
  if (seen.length !== others.length || !others.every((a) => seen.includes(a))) {
    throw new Error(`the pages showed ${JSON.stringify(seen)}, want each of ${JSON.stringify(others)} once`);
  }
  t.log(`the ${grid.pages} pages showed all ${others.length} others once`);

  // A bigger window fits more tiles a page (still small ones at the low bitrate); back again.
  await ann.page.setViewportSize({ width: 1600, height: 1000 });
  const big = await waitInPage(ann, 'more tiles a page in a bigger window', (before) => {
    const app = window.parleyApp;
    const shown = [...document.querySelectorAll('#gallery .tile.remote')].filter((x) => !x.hidden);
    return app.pageSize > before && app.pageSize === app.grid.cols * app.grid.rows - 1 &&
      (shown.length === app.pageSize || app.page === app.pages - 1) &&
      shown.every((x) => app.bitrates[x.dataset.account] === (x.clientWidth >= 300 ? 700000 : 200000))
      ? { pageSize: app.pageSize, pages: app.pages, grid: app.grid, w: shown[0].clientWidth } : { waiting: true, pageSize: app.pageSize };
  }, grid.pageSize);
  await ann.page.setViewportSize({ width: 960, height: 640 });
  await waitInPage(ann, 'the page size back', (n) => window.parleyApp.pageSize === n || { waiting: true }, grid.pageSize);
  t.log(`at 1600x1000: a ${big.grid.cols}x${big.grid.rows} grid, ${big.pageSize} tiles a page of ${big.w} px, ${big.pages} pages; ` +
    `back at 960x640: ${grid.pageSize}`);

  // Bob leaves: his page is back in the lobby, Ann's drops his tile.
  await bob.page.locator('#leave').click();
  await waitInPage(bob, 'the lobby after Leave', () => (!document.getElementById('lobby').hidden &&
    document.getElementById('meeting').hidden && window.parley.state === 'closed' && location.hash === '') ||
    { waiting: true, state: window.parley.state, hash: location.hash });
  await waitInPage(ann, 'Bob\'s tile gone', (a) => {
    const tiles = [...document.querySelectorAll('#gallery .tile.remote')].map((x) => x.dataset.account);
    return (!tiles.includes(a) && !window.parley.users.includes(a)) ? { tiles: tiles.length } : { waiting: true, tiles: tiles.length };
  }, bobAcct);
  const left = await ann.page.evaluate(() => document.querySelectorAll('#gallery .tile.remote').length);
  if (left !== PUBLISHERS) throw new Error(`ann: ${left} tiles after Bob left, want ${PUBLISHERS}`);
  t.log(`Bob clicked Leave: his page shows the lobby; Ann's page dropped his tile (${left} left)`);

  // The node dies: Ann's page shows it and offers Reconnect; its own tries fail while the node
  // is down, and it stops trying.
  await node.crash();
  const lost = await waitInPage(ann, 'the lost connection shown', () => {
    const st = document.getElementById('status');
    return (!document.getElementById('reconnect').hidden && !document.getElementById('meeting').hidden &&
      ['closed', 'failed'].includes(st.dataset.state)) ? { status: st.textContent } : { waiting: true, status: st.textContent };
  });
  t.log(`node killed: Ann's page says "${lost.status}" and shows Reconnect`);
  const gaveUp = await waitInPage(ann, 'the page to give up its own tries', () => {
    const app = window.parleyApp;
    return (app.reconnects === 3 && !app.retrying && window.parley.state === 'failed' && !document.getElementById('reconnect').hidden)
      ? { status: document.getElementById('status').textContent } : { waiting: true, n: app.reconnects, state: window.parley.state };
  }, undefined, 40_000);
  t.log(`Ann's page tried 3 times on its own and stopped: "${gaveUp.status}"`);

  // The node comes back on the same ports (the control plane has the meeting on it) and Ann
  // clicks Reconnect: she INITs the meeting there again.
  const again = await startNode(t, { tokenSecret: ctx.tokenSecret, controlUrl: control.url, controlKey: ctx.nodeKey,
    httpPort: node.httpPort, mediaPort: node.mediaPort, args: ['--recordings-root', ctx.recordings] });
  if (again.wsUrl !== node.wsUrl) throw new Error(`the node came back at ${again.wsUrl}, not ${node.wsUrl}`);
  await ann.page.locator('#reconnect').click();
  await waitJoined(ann);
  await waitInPage(ann, 'the meeting screen, connected', () => (document.getElementById('reconnect').hidden &&
    !document.getElementById('meeting').hidden && document.getElementById('status').dataset.state === 'connected') || { waiting: true });
  const back = publishers(t, again, meetingId, 'back', 2);
  const deadline = Date.now() + 60_000;
  for (;;) {
    const tiles = await tilesOf(ann);
    if (tiles.length === 2 && tiles.every((x) => x.playing && /^back-[01]$/.test(x.account))) break;
    if (Date.now() > deadline) throw new Error(`ann: after the reconnect the two new publishers do not play: ${JSON.stringify(tiles)}`);
    await sleep(500);
  }
  if (back.proc.exitCode !== null) throw new Error(`the new publishers exited early; log ${back.logPath}`);
  for (const p of [ann, bob]) {
    if (p.pageErrors.length) throw new Error(`${p.name}: uncaught errors: ${p.pageErrors.join(' | ')}`);
  }
  t.log(`Ann clicked Reconnect with the node back: in the meeting again, two new publishers playing ` +
    `(${((Date.now() - started) / 1000).toFixed(1)} s since the first publishers started)`);
}, { timeoutMs: 280_000 });
