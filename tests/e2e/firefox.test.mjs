// Firefox and Chromium in one meeting: fox (Debian's firefox-esr, driven by puppeteer-core over
// WebDriver BiDi) publishes 1280x720 in three simulcast layers (q 1/4, h 1/2, f full), chrome
// (Chromium) 960x540 in three too. Each decodes the other's video and plays the other's audio
// for 5 s; the node receives all three of fox's layers (/metrics, per rid) and sends Firefox's
// and Chromium's RTCP reports; chrome asking 5 Mbit/s decodes fox about 1280 wide, asking
// 200 kbit/s about 320 wide (the node's consumer on layer 2, then 0, sent under 300 kbit/s:
// Firefox's RTX bandwidth probes are not passed on); fox, the same way, decodes chrome 960 then
// 240 wide; chat goes both ways over the data channel; /metrics counts both participants'
// packets in and out. The test runs in a network namespace of its own (inOwnNetns: Firefox pairs
// no ICE candidate with 127.0.0.1). Needs root. Run: node tests/e2e/firefox.test.mjs
import {
  runTest, inOwnNetns, startNode, launchBrowser, launchFirefox, openParticipant, waitForPageJoined,
  waitForMedia, checkFlow, assertRtcpReports, assertPagesClean, sampleStats, sleep, withTimeout, httpGet, metricSum,
  metricSeries as series, waitWidth, chatOf, waitChat,
} from './lib.mjs';

const RIDS = ['q', 'h', 'f'];

// What Firefox says it sends per simulcast encoding (outbound-rtp stats of its camera).
async function outboundLayers(p) {
  return withTimeout(p.page.evaluate(async () => {
    const out = [];
    (await window.parley.pc.getStats()).forEach((s) => {
      if (s.type === 'outbound-rtp' && s.kind === 'video') {
        out.push(`${s.rid ?? '-'} ${s.frameWidth || 0}x${s.frameHeight || 0} ` +
          `${Math.round(s.framesPerSecond || 0)} fps ${s.packetsSent || 0} packets`);
      }
    });
    return out.sort().join(', ');
  }), 10_000, `getStats() on ${p.name}'s page`);
}

const mediaIp = await inOwnNetns('firefox');

runTest('firefox', async (t) => {
  const node = await startNode(t, { mediaIp });
  const firefox = await launchFirefox(t);
  t.log(`Firefox is up: ${await firefox.version()}`);
  const chromium = await launchBrowser(t);
  const meeting = `firefox-${process.pid}`;
  const fox = await openParticipant(t, firefox, node, {
    meeting, name: 'fox', host: true, width: 1280, height: 720,
    params: { simulcast: '1', bitrate: '200000', degradation: 'maintain-resolution' },
  });
  await waitForPageJoined(t, fox, { timeoutMs: 30_000 });
  const chrome = await openParticipant(t, chromium, node, {
    meeting, name: 'chrome', width: 960, height: 540,
    params: { simulcast: '1', bitrate: '200000', degradation: 'maintain-resolution' },
  });

  // 1. Both ways: video decoded, audio played, for 5 s. Each first asks 200 kbit/s, for the
  // lowest layer: the one a browser always sends (Firefox pauses and resumes its top layer
  // while its estimate ramps, and a slot on it waits for a keyframe of the next).
  await waitForMedia(t, [fox, chrome], { timeoutMs: 40_000 });
  await checkFlow(t, [fox, chrome], { seconds: 5 });

  // RTCP: the node's Sender Reports on what each page receives, Receiver Reports on what it sends.
  for (const p of [fox, chrome]) await assertRtcpReports(t, p, 1);

  // 2. Firefox's three layers reach the node, each with its rid. Firefox can take half a minute
  // to send its top layer on a loaded 2-core machine (its bandwidth estimate ramps from
  // 300 kbit/s): 60 s.
  const until = fox.joinedAt + 60_000;
  let m = '';
  let packets = [];
  for (;;) {
    m = (await httpGet(`${node.url}/metrics`)).body;
    packets = RIDS.map((rid) => series(m, 'parley_layer_packets_total', { participant: 'fox', kind: 'video', rid }) || 0);
    if (packets.every((n) => n > 0) || Date.now() > until) break;
    await sleep(500);
  }
  const rates = RIDS.map((rid) => series(m, 'parley_layer_bitrate_bps', { participant: 'fox', kind: 'video', rid }));
  t.log(`${((Date.now() - fox.joinedAt) / 1000).toFixed(1)} s after fox joined, its layers at the node: ${RIDS.map((rid, i) => `${rid} ${packets[i]} packets ${Math.round(rates[i] / 1000)} kbit/s`).join(', ')}`);
  t.log(`fox sends: ${await outboundLayers(fox)}`);
  if (!packets.every((n) => n > 0)) {
    throw new Error(`expected all three of fox's layers (q, h, f) at the node within 60 s of joining, got ${packets.join(' / ')} packets`);
  }
  for (const [layer, rid] of RIDS.entries()) {
    const by = series(m, 'parley_layer_bytes_total', { participant: 'fox', kind: 'video', layer, rid });
    if (!(by > packets[layer] * 100)) throw new Error(`expected fox's layer ${rid} (${layer}) in /metrics with bytes, got ${by}`);
  }

  // 3. The layer chrome gets follows what it asks for.
  await chrome.page.evaluate(() => window.parley.subscribe([{ account_id: 'fox', bitrate: 5000000 }]));
  const high = await waitWidth(chrome, 'fox', 1100, 1280, 45_000);
  await sleep(1100);
  const highLayer = series((await httpGet(`${node.url}/metrics`)).body, 'parley_consumer_layer',
    { participant: 'chrome', kind: 'video', source: 'fox' });
  t.log(`chrome asking 5 Mbit/s decodes fox ${high} wide (consumer layer ${highLayer})`);
  if (highLayer !== 2) throw new Error(`expected chrome's consumer of fox on layer 2 at 5 Mbit/s, got ${highLayer}`);
  await chrome.page.evaluate(() => window.parley.subscribe([{ account_id: 'fox', bitrate: 200000 }]));
  const low = await waitWidth(chrome, 'fox', 300, 340, 15_000);
  await sleep(1100);
  m = (await httpGet(`${node.url}/metrics`)).body;
  const lowLayer = series(m, 'parley_consumer_layer', { participant: 'chrome', kind: 'video', source: 'fox' });
  const switches = series(m, 'parley_consumer_layer_switches_total', { participant: 'chrome', kind: 'video', source: 'fox' });
  t.log(`chrome asking 200 kbit/s decodes fox ${low} wide (consumer layer ${lowLayer}, ${switches} switches)`);
  if (lowLayer !== 0) throw new Error(`expected chrome's consumer of fox on layer 0 at 200 kbit/s, got ${lowLayer}`);
  const s = (await sampleStats(chrome)).accounts.fox;
  await sleep(2000);
  const s2 = (await sampleStats(chrome)).accounts.fox;
  if (!(s2.framesDecoded > s.framesDecoded)) throw new Error(`chrome's frames of fox stopped on the low layer (${s.framesDecoded} -> ${s2.framesDecoded})`);
  // What the low layer costs chrome: about the layer's own rate (q is capped at 150 kbit/s). Firefox
  // probes its bandwidth with RTX copies of q's packets (~1 Mbit/s): the node must not pass those on.
  m = (await httpGet(`${node.url}/metrics`)).body;
  const lowRate = series(m, 'parley_consumer_bitrate_bps', { participant: 'chrome', kind: 'video', source: 'fox' });
  const qRate = series(m, 'parley_layer_bitrate_bps', { participant: 'fox', kind: 'video', rid: 'q' });
  const qRtx = series(m, 'parley_layer_rtx_received_total', { participant: 'fox', kind: 'video', rid: 'q' });
  t.log(`chrome is sent ${Math.round(lowRate / 1000)} kbit/s of fox's layer q, which comes in at ` +
    `${Math.round(qRate / 1000)} kbit/s (besides ${qRtx} RTX packets, mostly probes)`);
  if (!(lowRate > 0 && lowRate < 300000)) {
    throw new Error(`expected chrome sent under 300 kbit/s of fox's layer q (asked 200 kbit/s), got ${lowRate} bit/s`);
  }

  // 3b. The other way: fox, subscribed to chrome's simulcast at 5 Mbit/s, then at 200 kbit/s,
  // decodes the layer switch (the node rewrites VP8 picture ids across layers) and goes on.
  await fox.page.evaluate(() => window.parley.subscribe([{ account_id: 'chrome', bitrate: 5000000 }]));
  const foxHigh = await waitWidth(fox, 'chrome', 900, 960, 30_000);
  await fox.page.evaluate(() => window.parley.subscribe([{ account_id: 'chrome', bitrate: 200000 }]));
  const foxLow = await waitWidth(fox, 'chrome', 220, 260, 15_000);
  const f1 = (await sampleStats(fox)).accounts.chrome;
  await sleep(2000);
  const f2 = (await sampleStats(fox)).accounts.chrome;
  const foxFps = ((f2.framesDecoded - f1.framesDecoded) / 2).toFixed(1);
  t.log(`fox decodes chrome's simulcast ${foxHigh} wide asking 5 Mbit/s, ${foxLow} wide asking 200 kbit/s ` +
    `(${foxFps} fps after the switch)`);
  if (!(f2.framesDecoded > f1.framesDecoded)) throw new Error(`fox's frames of chrome stopped on the low layer (${f1.framesDecoded} -> ${f2.framesDecoded})`);

  // 4. Chat both ways over the data channel.
  const deadline = Date.now() + 15_000;
  for (const p of [fox, chrome]) {
    while (!(await chatOf(p)).open) {
      if (Date.now() > deadline) throw new Error(`${p.name}: the chat data channel never opened`);
      await sleep(100);
    }
  }
  const hello = 'hello from firefox — ünïcödé & "quotes"';
  if (!await fox.page.evaluate((x) => window.parley.sendChat(x), hello)) throw new Error('fox could not send chat');
  await waitChat(chrome, 'fox', hello);
  if (!await chrome.page.evaluate(() => window.parley.sendChat('chromium here'))) throw new Error('chrome could not send chat');
  await waitChat(fox, 'chrome', 'chromium here');
  t.log('chat: fox\'s message reached chrome, chrome\'s reached fox');

  // 5. The node's figures: both participants' packets in and forwarded to the other.
  await sleep(1100);
  m = (await httpGet(`${node.url}/metrics`)).body;
  const parts = metricSum(m, 'parley_participants');
  if (parts !== 2) throw new Error(`/metrics: expected parley_participants 2, got ${parts}`);
  for (const [who, other] of [['fox', 'chrome'], ['chrome', 'fox']]) {
    const got = ['audio', 'video'].map((kind) => series(m, 'parley_layer_packets_total', { participant: who, kind }) || 0);
    const sent = ['audio', 'video'].map((kind) =>
      series(m, 'parley_consumer_packets_total', { participant: other, kind, source: who }) || 0);
    t.log(`/metrics: ${who} sent the node ${got[0]} audio and ${got[1]} video packets; ` +
      `${other} was sent ${sent[0]} and ${sent[1]} of them`);
    if (!got.every((n) => n > 200) || !sent.every((n) => n > 200)) {
      throw new Error(`/metrics: expected over 200 audio and video packets from ${who} and to ${other}, ` +
        `got ${got.join(' / ')} in and ${sent.join(' / ')} out`);
    }
  }
  const chats = metricSum(m, 'parley_chat_messages_total');
  if (chats !== 2) throw new Error(`/metrics: expected 2 chat messages, got ${chats}`);
  await assertPagesClean(t, [fox, chrome]);

  t.log('closing both browsers');
  await withTimeout(firefox.close(), 15_000, 'closing firefox');
  await withTimeout(chromium.close(), 10_000, 'closing chromium');
  await sleep(500);
  await node.stop();
});
