// Simulcast: alice publishes 1280x720 in three layers (q 1/4, h 1/2, f full). The node receives
// all three (/metrics) within 15 s; bob, asking 5 Mbit/s, decodes about 1280x720 and carol,
// asking 200 kbit/s, about 320x180. Then carol asks 5 Mbit/s too: her decoded resolution changes
// within 3 s and her frames never stall for more than 500 ms meanwhile.
// With `--congestion-feedback remb` (the test simulcast_remb) the node offers REMB instead of
// transport-cc, and the same must hold with REMB as the browser's only bandwidth feedback
// (Chromium's loss-based ramp is slower there: 30 s for the layers, 6 s and 1 s for the switch).
// With `--codec h264` (the test simulcast_h264) alice publishes H.264 instead of VP8.
// Run: node tests/e2e/simulcast.test.mjs [--congestion-feedback remb | --codec h264]
import {
  runTest, startNode, launchBrowser, openParticipant, waitForPageJoined, waitForMedia,
  sleep, httpGet, metricSum as metricSumAll, watchFrames,
  metricSeries as series, waitWidth,
} from './lib.mjs';

function layerPackets(text) {
  const out = [0, 0, 0];
  for (const line of text.split('\n')) {
    const m = line.match(/^parley_rx_layer_packets_total\{worker="\d+",layer="(\d)"\} (\d+)$/);
    if (m) out[Number(m[1])] += Number(m[2]);
  }
  return out;
}

const remb = process.argv.includes('remb');
const h264 = process.argv.includes('h264');

runTest(remb ? 'simulcast_remb' : h264 ? 'simulcast_h264' : 'simulcast', async (t) => {
  const node = await startNode(t, { args: remb ? ['--congestion-feedback', 'remb'] : [] });
  const browser = await launchBrowser(t);
  const meeting = `simulcast-${process.pid}`;
  const alice = await openParticipant(t, browser, node, {
    meeting, name: 'alice', host: true, autosub: false, width: 1280, height: 720,
    // Frames, not layers, give way when the 2-core machine is busy (Chromium's CPU adaptation
    // would otherwise switch the top layer off).
    params: { simulcast: '1', degradation: 'maintain-resolution', ...(h264 ? { codec: 'h264' } : {}) },
  });
  await waitForPageJoined(t, alice);
  const bob = await openParticipant(t, browser, node, { meeting, name: 'bob', params: { bitrate: '5000000' } });
  const carol = await openParticipant(t, browser, node, { meeting, name: 'carol', params: { bitrate: '200000' } });
  await waitForMedia(t, [bob, carol].map((p) => Object.assign(p, { expect: ['alice'] })), { timeoutMs: 25_000 })
    .catch(async () => { /* waitForMedia wants everyone both ways; the widths below say enough */ });

  // 1. All three layers reach the node.
  let layers = [0, 0, 0];
  // The 15 s, with VP8 and H.264: measured 2.4–3.4 s under ASan on a shared 2-core
  // machine since the node takes kernel arrival times for transport-cc (docs/media-path.md).
  // With REMB alone Chromium's loss-based controller ramps about 8% a second (14–15 s measured):
  // that variant gets 30 s.
  const layerLimitS = remb ? 30 : 15;
  const until = alice.joinedAt + layerLimitS * 1000;
  while (Date.now() < until) {
    layers = layerPackets((await httpGet(`${node.url}/metrics`)).body);
    if (layers.every((n) => n > 0)) break;
    await sleep(500);
  }
  t.log(`video packets per layer at the node: ${layers.join(' / ')}, all three received ` +
    `${((Date.now() - alice.joinedAt) / 1000).toFixed(1)} s after alice joined`);
  if (!layers.every((n) => n > 0)) {
    // Why Chromium holds a layer back: its outbound-rtp stats per rid.
    const why = await alice.page.evaluate(async () => {
      const out = [];
      (await window.parley.pc.getStats()).forEach((s) => {
        if (s.type === 'outbound-rtp' && s.kind === 'video') {
          out.push(`${s.rid}: ${s.frameWidth || 0}x${s.frameHeight || 0} ${Math.round(s.framesPerSecond || 0)} fps, ` +
            `target ${Math.round((s.targetBitrate || 0) / 1000)} kbit/s, limited by ${s.qualityLimitationReason}, active ${s.active}`);
        }
        if (s.type === 'candidate-pair' && s.nominated) out.push(`available outgoing ${Math.round((s.availableOutgoingBitrate || 0) / 1000)} kbit/s`);
      });
      return out.join('; ');
    });
    throw new Error(`expected all three layers received within ${layerLimitS} s, got ${layers.join(' / ')} (alice: ${why})`);
  }
  // The same per layer, labelled with the participant and the rid.
  const m1 = (await httpGet(`${node.url}/metrics`)).body;
  for (const [layer, rid] of [[0, 'q'], [1, 'h'], [2, 'f']]) {
    const lbl = { participant: 'alice', kind: 'video', layer, rid };
    const pk = series(m1, 'parley_layer_packets_total', lbl);
    const by = series(m1, 'parley_layer_bytes_total', lbl);
    if (!(pk > 0 && by > pk * 100)) throw new Error(`expected alice's layer ${rid} counted in /metrics, got ${pk} packets ${by} bytes`);
  }

  // 2. Each subscriber gets the layer that fits what it asked for.
  const wb = await waitWidth(bob, 'alice', 1100, 1280, 30_000);
  const wc = await waitWidth(carol, 'alice', 300, 340, 15_000);
  t.log(`bob (5 Mbit/s) decodes alice at ${wb} wide, carol (200 kbit/s) at ${wc} wide`);
  // What bob decodes is in the codec alice publishes.
  const codecs = await bob.page.evaluate(async () => {
    const r = await window.parley.pc.getStats();
    const out = [];
    r.forEach((s) => {
      if (s.type === 'inbound-rtp' && s.kind === 'video' && s.framesDecoded > 0 && s.codecId) out.push(r.get(s.codecId).mimeType);
    });
    return out;
  });
  const want = h264 ? 'video/H264' : 'video/VP8';
  t.log(`bob decodes ${codecs.join(', ')}`);
  if (!codecs.includes(want)) throw new Error(`expected bob to decode ${want}, got ${codecs.join(', ') || 'nothing'}`);

  if (remb) {
    // REMB alone ramps slowly: the top layer comes and goes for a while after it first appears.
    // Carol's switch is timed once it is steady (three seconds over 500 kbit/s in a row).
    let steady = 0;
    const settleBy = Date.now() + 30_000;
    while (steady < 3 && Date.now() < settleBy) {
      const rate = series((await httpGet(`${node.url}/metrics`)).body, 'parley_layer_bitrate_bps',
        { participant: 'alice', rid: 'f' });
      steady = rate > 500000 ? steady + 1 : 0;
      await sleep(1000);
    }
    t.log(`top layer ${steady >= 3 ? 'steady' : 'still not steady'} ${((Date.now() - alice.joinedAt) / 1000).toFixed(1)} s after alice joined`);
  }

  // 3. Carol asks for more: within 3 s she decodes a bigger layer, without a stall over 500 ms.
  await carol.page.evaluate(() => window.parley.subscribe([{ account_id: 'alice', bitrate: 5000000 }]));
  const start = Date.now();
  let width = wc, switchedAt = 0;
  const watched = await watchFrames([carol], {
    ms: h264 || remb ? 7000 : 4000,
    onSample: (p, account, a) => {
      if (account === 'alice' && !switchedAt && a.frameWidth > wc) { switchedAt = Date.now(); width = a.frameWidth; }
    },
  });
  const longest = watched.carol.alice ? watched.carol.alice.longestGapMs : Infinity;
  t.log(`carol after asking 5 Mbit/s: ${width} wide after ${switchedAt ? switchedAt - start : '-'} ms; ` +
    `longest gap between decoded frames ${longest} ms`);
  // REMB's slow ramp can take longer to give the new layer's keyframe on a loaded 2-core
  // machine: that variant gets 6 s; VP8 and H.264 keep the 3 s (H.264 is watched longer).
  const switchLimitMs = remb ? 6000 : 3000;
  if (!switchedAt || switchedAt - start > switchLimitMs) {
    throw new Error(`expected carol's resolution to grow within ${switchLimitMs / 1000} s (still ${wc})`);
  }
  // The REMB variant gets 1 s; VP8 and H.264 keep the 500 ms.
  const stallLimitMs = remb ? 1000 : 500;
  if (longest > stallLimitMs) throw new Error(`expected no stall over ${stallLimitMs} ms while switching, saw ${longest} ms`);
  await sleep(1100); // the node publishes its figures once a second
  const m = (await httpGet(`${node.url}/metrics`)).body;
  if (!/parley_layer_switches_total\{worker="\d+"\} [1-9]/.test(m)) throw new Error('expected layer switches in /metrics');
  // Per consumer: what bob and carol are sent of alice's video, and carol's switch.
  const bobLayer = series(m, 'parley_consumer_layer', { participant: 'bob', kind: 'video', source: 'alice' });
  const carolLayer = series(m, 'parley_consumer_layer', { participant: 'carol', kind: 'video', source: 'alice' });
  const carolSwitches = series(m, 'parley_consumer_layer_switches_total', { participant: 'carol', kind: 'video', source: 'alice' });
  const bobRate = series(m, 'parley_consumer_bitrate_bps', { participant: 'bob', kind: 'video', source: 'alice' });
  const carolPk = series(m, 'parley_consumer_packets_total', { participant: 'carol', kind: 'video', source: 'alice' });
  t.log(`/metrics per consumer: bob on layer ${bobLayer} at ${bobRate} bit/s; carol on layer ${carolLayer} ` +
    `after ${carolSwitches} switches, ${carolPk} packets`);
  if (bobLayer !== 2) throw new Error(`expected bob's consumer on the top layer (2), got ${bobLayer}`);
  if (!(carolLayer > 0 && carolSwitches >= 1 && carolPk > 0)) throw new Error('expected carol\'s consumer moved up a layer');
  if (!(bobRate > 100000)) throw new Error(`expected bob's consumer bitrate over 100 kbit/s, got ${bobRate}`);
  const rembs = metricSumAll(m, 'parley_remb_sent_total'), twcc = metricSumAll(m, 'parley_twcc_feedback_total');
  t.log(`congestion feedback sent: ${rembs} REMB, ${twcc} transport-cc`);
  if (remb ? !(rembs > 5 && twcc === 0) : !(twcc > 50 && rembs === 0)) {
    throw new Error(`expected ${remb ? 'only REMB' : 'only transport-cc'} feedback, got ${rembs} REMB and ${twcc} transport-cc`);
  }
  await browser.close();
  await node.stop();
});
