// Two browser pages join one meeting through parley-node; each decodes the other's camera and
// receives the other's microphone for at least 5 s. Run: node tests/e2e/two_pages.test.mjs
import { runTest, startNode, meetingCheck, sleep, withTimeout, httpGet, metricSum, assertRtcpReports } from './lib.mjs';

runTest('two_pages', async (t) => {
  const node = await startNode(t);
  const { browser, participants } = await meetingCheck(t, node, {
    meeting: `two-${process.pid}`, names: ['alice', 'bob'], seconds: 5,
  });
  // RTCP: the node's Sender Reports on what each page receives, Receiver Reports on what it sends.
  for (const p of participants) await assertRtcpReports(t, p, 1);
  // The node's own figures agree: two participants, packets forwarded both ways.
  await sleep(1100); // workers publish their counters once a second
  const m = await httpGet(`${node.url}/metrics`);
  if (m.status !== 200) throw new Error(`GET /metrics: expected 200, got ${m.status}`);
  const fwd = metricSum(m.body, 'parley_forwarded_rtp_total');
  const parts = metricSum(m.body, 'parley_participants');
  const rx = metricSum(m.body, 'parley_rx_rtp_total');
  t.log(`/metrics: ${parts} participants, ${rx} SRTP packets in, ${fwd} RTP packets forwarded`);
  if (parts !== 2) throw new Error(`/metrics: expected parley_participants 2, got ${parts}`);
  if (!(fwd > 500 && rx > 500)) throw new Error(`/metrics: expected > 500 packets in and forwarded, got ${rx} and ${fwd}`);
  const h = await httpGet(`${node.url}/healthz`);
  if (h.status !== 200 || h.body.trim() !== 'ok') throw new Error(`GET /healthz: expected 200 ok, got ${h.status} ${h.body}`);
  t.log('closing the browser (both participants leave)');
  await withTimeout(browser.close(), 10_000, 'closing chromium');
  await sleep(500);
  node.assertAlive('after both participants left');
  await node.stop();
});
