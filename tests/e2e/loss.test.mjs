// 5% of datagrams lost at random in both directions on the node (--drop-rate 0.05): two pages
// keep decoding each other, with no freeze of a second (watched for 10 s, framesDecoded sampled
// every 100 ms), the node NACKs what publishers lost on the way in (and unwraps their RTX), and
// answers subscribers' NACKs from its retransmission ring. Run: node tests/e2e/loss.test.mjs
import {
  runTest, startNode, meetingCheck, sleep, withTimeout, httpGet, metricSum, watchFrames, describeGaps,
} from './lib.mjs';

const FREEZE_LIMIT_MS = 1000;

runTest('loss', async (t) => {
  const node = await startNode(t, { args: ['--drop-rate', '0.05'] });
  const { browser, participants } = await meetingCheck(t, node, {
    meeting: `loss-${process.pid}`, names: ['alice', 'bob'], seconds: 3,
  });
  const gaps = describeGaps(await watchFrames(participants, { ms: 10_000 }), FREEZE_LIMIT_MS);
  t.log(`over 10 s: ${gaps.line}`);
  if (gaps.over.length) {
    throw new Error(`expected no freeze of ${FREEZE_LIMIT_MS} ms or more, saw: ${gaps.over.join(', ')}`);
  }
  await sleep(1100); // workers publish their counters once a second
  const m = await httpGet(`${node.url}/metrics`);
  const nacks = metricSum(m.body, 'parley_nacks_received_total');
  const resent = metricSum(m.body, 'parley_retransmissions_total');
  const dropped = metricSum(m.body, 'parley_rx_dropped_total');
  const feedback = metricSum(m.body, 'parley_twcc_feedback_total');
  const nacksUp = metricSum(m.body, 'parley_nacks_sent_total');
  const rtxIn = metricSum(m.body, 'parley_rtx_received_total');
  t.log(`/metrics: ${dropped} datagrams dropped on the way in, ${nacks} NACKed sequence numbers, ` +
    `${resent} retransmissions, ${feedback} transport-cc feedback packets; upstream: ${nacksUp} ` +
    `sequence numbers NACKed to publishers, ${rtxIn} RTX packets received`);
  if (!(dropped > 0)) throw new Error('expected the node to drop datagrams with --drop-rate 0.05');
  if (!(nacks > 0)) throw new Error('expected subscribers to NACK lost packets (parley_nacks_received_total > 0)');
  if (!(resent > 0)) throw new Error('expected retransmissions from the ring (parley_retransmissions_total > 0)');
  if (!(nacksUp > 0 && rtxIn > 0)) {
    throw new Error(`expected NACKs to publishers and their RTX answers, got ${nacksUp} and ${rtxIn}`);
  }
  if (!(feedback > 0)) throw new Error('expected transport-cc feedback to publishers (parley_twcc_feedback_total > 0)');
  // The node's resends reach the pages as RTX (RFC 4588), which the browser counts apart.
  for (const p of participants) {
    const rtx = await withTimeout(p.page.evaluate(async () => {
      let n = 0;
      (await window.parley.pc.getStats()).forEach((s) => {
        if (s.type === 'inbound-rtp' && s.kind === 'video') n += s.retransmittedPacketsReceived || 0;
      });
      return n;
    }), 10_000, `getStats() on ${p.name}'s page`);
    t.log(`${p.name}: ${rtx} retransmitted video packets received (RTX)`);
    if (!(rtx > 0)) throw new Error(`expected ${p.name}'s page to receive the node's resends as RTX`);
  }
  await withTimeout(browser.close(), 10_000, 'closing chromium');
  await node.stop();
});
