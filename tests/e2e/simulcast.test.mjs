// Simulcast: alice publishes 1280x720 in three layers (q 1/4, h 1/2, f full). The node receives
// all three (/metrics) within 25 s; bob, asking 5 Mbit/s, decodes about 1280x720 and carol,
// asking 200 kbit/s, about 320x180. Then carol asks 5 Mbit/s too: her decoded resolution changes
// within 3 s and her frames never stall for more than 500 ms meanwhile.
// Run: node tests/e2e/simulcast.test.mjs
import {
  runTest, startNode, launchBrowser, openParticipant, waitForPageJoined, waitForMedia,
  sampleStats, sleep, httpGet,
} from './lib.mjs';

function layerPackets(text) {
  const out = [0, 0, 0];
  for (const line of text.split('\n')) {
    const m = line.match(/^parley_rx_layer_packets_total\{worker="\d+",layer="(\d)"\} (\d+)$/);
    if (m) out[Number(m[1])] += Number(m[2]);
  }
  return out;
}

// Waits until `p` decodes `other` at a width within [min, max]; returns the width.
async function waitWidth(t, p, other, min, max, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  let last = 0;
  while (Date.now() < deadline) {
    const a = (await sampleStats(p)).accounts[other];
    last = a ? a.frameWidth : 0;
    if (last >= min && last <= max) return last;
    await sleep(250);
  }
  throw new Error(`${p.name}: expected ${other}'s video decoded ${min}..${max} wide within ` +
    `${timeoutMs / 1000} s, last frameWidth ${last}`);
}

runTest('simulcast', async (t) => {
  const node = await startNode(t);
  const browser = await launchBrowser(t);
  const meeting = `simulcast-${process.pid}`;
  const alice = await openParticipant(t, browser, node, {
    meeting, name: 'alice', host: true, autosub: false, width: 1280, height: 720,
    params: { simulcast: '1' },
  });
  await waitForPageJoined(t, alice);
  const bob = await openParticipant(t, browser, node, { meeting, name: 'bob', params: { bitrate: '5000000' } });
  const carol = await openParticipant(t, browser, node, { meeting, name: 'carol', params: { bitrate: '200000' } });
  await waitForMedia(t, [bob, carol].map((p) => Object.assign(p, { expect: ['alice'] })), { timeoutMs: 25_000 })
    .catch(async () => { /* waitForMedia wants everyone both ways; the widths below say enough */ });

  // 1. All three layers reach the node.
  let layers = [0, 0, 0];
  const until = Date.now() + 25_000;
  while (Date.now() < until) {
    layers = layerPackets((await httpGet(`${node.url}/metrics`)).body);
    if (layers.every((n) => n > 0)) break;
    await sleep(500);
  }
  t.log(`video packets per layer at the node: ${layers.join(' / ')}`);
  if (!layers.every((n) => n > 0)) throw new Error(`expected all three layers received, got ${layers.join(' / ')}`);

  // 2. Each subscriber gets the layer that fits what it asked for.
  const wb = await waitWidth(t, bob, 'alice', 1100, 1280, 30_000);
  const wc = await waitWidth(t, carol, 'alice', 300, 340, 15_000);
  t.log(`bob (5 Mbit/s) decodes alice at ${wb} wide, carol (200 kbit/s) at ${wc} wide`);

  // 3. Carol asks for more: within 3 s she decodes a bigger layer, without a stall over 500 ms.
  await carol.page.evaluate(() => window.parley.subscribe([{ account_id: 'alice', bitrate: 5000000 }]));
  const start = Date.now();
  let prevFrames = (await sampleStats(carol)).accounts.alice.framesDecoded;
  let lastGrowth = Date.now(), longest = 0, width = wc, switchedAt = 0;
  while (Date.now() - start < 4000) {
    await sleep(100);
    const a = (await sampleStats(carol)).accounts.alice;
    const now = Date.now();
    if (a.framesDecoded > prevFrames) {
      longest = Math.max(longest, now - lastGrowth);
      lastGrowth = now;
      prevFrames = a.framesDecoded;
    }
    if (!switchedAt && a.frameWidth > wc) { switchedAt = now; width = a.frameWidth; }
  }
  longest = Math.max(longest, Date.now() - lastGrowth);
  t.log(`carol after asking 5 Mbit/s: ${width} wide after ${switchedAt ? switchedAt - start : '-'} ms; ` +
    `longest gap between decoded frames ${longest} ms`);
  if (!switchedAt || switchedAt - start > 3000) throw new Error(`expected carol's resolution to grow within 3 s (still ${wc})`);
  if (longest > 500) throw new Error(`expected no stall over 500 ms while switching, saw ${longest} ms`);
  const m = (await httpGet(`${node.url}/metrics`)).body;
  if (!/parley_layer_switches_total\{worker="\d+"\} [1-9]/.test(m)) throw new Error('expected layer switches in /metrics');
  await browser.close();
  await node.stop();
});
