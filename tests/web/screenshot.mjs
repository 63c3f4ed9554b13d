// Takes docs/screenshot.png: a meeting of three in the web app (Ann, who started it; Bob, who
// joined by its link; Carol, a guest), seen from Ann's page in headless Chromium, with a chat
// message, Bob muted and a recording running. Run by scripts/screenshot (which builds first);
// the same stack as the browser tests: a private PostgreSQL, parley-control and a parley-node.
import path from 'node:path';
import fs from 'node:fs';
import { runTest, launchBrowser, sleep, REPO_ROOT } from '../e2e/lib.mjs';
import { startStack, annAndBob, openApp, waitInPage, waitJoined, waitIndicator, tilesOf, expect } from './lib.mjs';

const out = process.argv[2] || path.join(REPO_ROOT, 'docs', 'screenshot.png');

runTest('screenshot', async (t) => {
  const { url } = await startStack(t);
  const browser = await launchBrowser(t);
  const { ann, bob, admin, meetingId } = await annAndBob(t, browser, url);
  await ann.page.locator('#invite').click();
  const guestLink = await waitInPage(ann, 'the guest link', () => document.getElementById('guest-link').value);
  const carol = await openApp(t, browser, guestLink, 'carol');
  await carol.page.locator('#guest [name=name]').fill('Carol');
  await carol.page.locator('#guest button[type=submit]').click();
  await waitJoined(carol);
  const deadline = Date.now() + 30_000;
  for (;;) {
    const tiles = await tilesOf(ann);
    if (tiles.length === 2 && tiles.every((x) => x.playing && x.name !== x.account)) break;
    if (Date.now() > deadline) throw new Error(`Ann does not see Bob and Carol playing: ${JSON.stringify(tiles)}`);
    await sleep(500);
  }
  await bob.page.locator('#mute').click();
  // The control plane starts the recording on the meeting's node itself.
  await expect(201, url, 'POST', `/meetings/${meetingId}/record`, { token: admin });
  await waitIndicator([ann], true);
  await waitInPage(carol, 'the chat channel', () => window.parley.chatOpen);
  await carol.page.locator('#chat-form [name=text]').fill('Hi both, can you hear me?');
  await carol.page.locator('#chat-form button[type=submit]').click();
  await waitInPage(ann, 'Bob muted and Carol\'s message', () =>
    (document.querySelector('.tile.remote.muted') && document.querySelectorAll('#chat-log li').length > 0) || { waiting: true });
  await ann.page.evaluate(() => document.activeElement && document.activeElement.blur());
  await sleep(1500);
  fs.mkdirSync(path.dirname(out), { recursive: true });
  await ann.page.screenshot({ path: out });
  t.log(`wrote ${out} (${fs.statSync(out).size} bytes)`);
  await expect(202, url, 'POST', `/meetings/${meetingId}/record/stop`, { token: admin });
}, { timeoutMs: 180_000 });
