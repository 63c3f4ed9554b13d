// A subscriber on a thin downlink ends up on a lower simulcast layer instead of freezing:
// the node caps what each peer is sent at 700 kbit/s (--test-downlink-kbps); alice publishes
// 1280x720 in three layers and bob asks 5 Mbit/s for her. From bob's loss reports the node
// estimates his downlink and moves him to a layer that fits: he ends up decoding below
// 1280 wide, and keeps decoding: once there, 10 s of framesDecoded sampled every 100 ms show no
// freeze of a second, and most of that time (at least 70% of the samples) below 1280 — the
// loss-based estimate grows again without loss and may try the top layer for a moment before
// the next losses bring it down. Run: node tests/e2e/downlink.test.mjs
import {
  runTest, startNode, launchBrowser, openParticipant, waitForPageJoined, sampleStats, sleep,
  httpGet, metricSum, watchFrames, describeGaps,
} from './lib.mjs';

const FREEZE_LIMIT_MS = 1000;

runTest('downlink', async (t) => {
  const node = await startNode(t, { args: ['--test-downlink-kbps', '700'] });
  const browser = await launchBrowser(t);
  const meeting = `downlink-${process.pid}`;
  const alice = await openParticipant(t, browser, node, {
    meeting, name: 'alice', host: true, autosub: false, width: 1280, height: 720,
    params: { simulcast: '1' },
  });
  await waitForPageJoined(t, alice);
  const bob = await openParticipant(t, browser, node, { meeting, name: 'bob', params: { bitrate: '5000000' } });

  // Within 60 s: 5 consecutive seconds in which alice's top layer reaches the node (so bob
  // could have it) while bob decodes steadily below it.
  const topLayer = async () => {
    const body = (await httpGet(`${node.url}/metrics`)).body;
    let n = 0;
    for (const line of body.split('\n')) {
      const mm = line.match(/^parley_rx_layer_packets_total\{worker="\d+",layer="2"\} (\d+)$/);
      if (mm) n += Number(mm[1]);
    }
    return n;
  };
  const deadline = Date.now() + 60_000;
  let settled = 0, last = null, prev = null, prevTop = await topLayer(), topSeen = false;
  while (Date.now() < deadline && settled < 5) {
    await sleep(1000);
    const a = (await sampleStats(bob)).accounts.alice;
    const top = await topLayer();
    const topFlowing = top > prevTop;
    topSeen ||= topFlowing;
    if (topFlowing && a && prev && a.framesDecoded > prev.framesDecoded && a.frameWidth > 0 &&
        a.frameWidth < 1280) settled++;
    else settled = 0;
    prev = a;
    prevTop = top;
    last = a;
  }
  let widest = 0, samples = 0, atTop = 0;
  const watched = settled < 5 ? null : await watchFrames([bob], {
    ms: 10_000,
    onSample: (p, account, a) => {
      if (account !== 'alice') return;
      widest = Math.max(widest, a.frameWidth);
      samples++;
      if (a.frameWidth >= 1280) atTop++;
    },
  });
  const gaps = watched && describeGaps(watched, FREEZE_LIMIT_MS);
  if (gaps) t.log(`over 10 s once settled: ${gaps.line}; widest ${widest}, ${atTop} of ${samples} samples at 1280`);
  const m = (await httpGet(`${node.url}/metrics`)).body;
  t.log(`bob decodes alice at ${last ? last.frameWidth : '?'} wide; node dropped ` +
    `${metricSum(m, 'parley_test_dropped_total')} datagrams at the cap, ` +
    `${metricSum(m, 'parley_layer_switches_total')} layer switches`);
  if (!topSeen) throw new Error('alice never sent her top layer: nothing was tested');
  if (!(metricSum(m, 'parley_test_dropped_total') > 0)) throw new Error('expected the downlink cap to drop datagrams');
  if (settled < 5) {
    throw new Error(`expected bob to decode alice below 1280 wide, steadily for 5 s within 60 s while her ` +
      `top layer reached the node; last ` +
      `${last ? `${last.frameWidth} wide, ${last.framesDecoded} frames` : 'no stats'}`);
  }
  if (!watched.bob.alice) throw new Error('no video stats of alice on bob\'s page while watching');
  if (gaps.over.length) {
    throw new Error(`expected no freeze of ${FREEZE_LIMIT_MS} ms or more on the lower layer, saw: ${gaps.over.join(', ')}`);
  }
  if (!(widest > 0 && samples > 0 && atTop <= samples * 0.3)) {
    throw new Error(`expected bob below 1280 wide at least 70% of the time, saw ${atTop} of ${samples} samples at 1280`);
  }
  await browser.close();
  await node.stop();
});
