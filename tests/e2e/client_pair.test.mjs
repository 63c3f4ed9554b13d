// Three parley-clients, no browser (suite integration). A host publishes synthetic simulcast
// video (3 layers) and Opus-sized audio through a node that drops 3% of datagrams both ways;
// "hi" subscribes asking for 5 Mbit/s and decrypts, "lo" asks for 100 kbit/s and only counts
// (--count-only). Checks: hi gets the top layer and lo the bottom one (hi's video bytes > 3x
// lo's), hi NACKs what the drops took and the node and the publisher resend it (hi's video loss
// stays under 2%), hi measures one-way delay from the payload stamps, everyone leaves cleanly.
// Run: node tests/e2e/client_pair.test.mjs
import { runTest, startNode, sleep } from './lib.mjs';
import { startClient, clientStats } from './client_lib.mjs';

runTest('client_pair', async (t) => {
  const node = await startNode(t, { workers: 1, logLevel: 'info', args: ['--drop-rate', '0.03'] });
  const meeting = `pair-${process.pid}`;
  const common = ['--url', node.wsUrl, '--meeting', meeting, '--stats-json', '--log-level', 'info'];
  const token = (account, role = 'participant') => node.mintToken({ meeting, account, role });
  const pub = startClient(t, [...common, '--account', 'pub', '--token', token('pub', 'host'), '--role', 'host',
    '--publish', 'synthetic', '--audio', '--subscribe', '0', '--duration', '14'], 'pub');
  await sleep(1000);
  const hi = startClient(t, [...common, '--account', 'hi', '--token', token('hi'), '--publish', 'none',
    '--bitrate', '5000000', '--duration', '10'], 'hi');
  const lo = startClient(t, [...common, '--account', 'lo', '--token', token('lo'), '--publish', 'none',
    '--bitrate', '100000', '--count-only', '--duration', '10'], 'lo');
  const [h, l] = [await clientStats(hi, 40_000), await clientStats(lo, 40_000)];
  const p = await clientStats(pub, 40_000);
  // Each subscriber has exactly one video stream: pub's.
  const video = (s) => {
    const v = s.streams.filter((x) => x.kind === 'video');
    return v.length === 1 && v[0].account_id === 'pub' ? v[0] : undefined;
  };
  const hv = video(h), lv = video(l);
  t.log(`pub: sent ${p.tx_video_packets} video packets (${p.tx_frames} frames, ${p.tx_keyframes} key), ` +
    `${p.nacks_received} NACKed seqs, ${p.retransmitted} resent, ${p.plis_received} PLI`);
  t.log(`hi: video ${JSON.stringify(hv)}; ${h.nacks_sent} NACKed, delay p50 ${h.delay_p50_ms} ms p99 ${h.delay_p99_ms} ms over ${h.delay_count}`);
  t.log(`lo: video ${JSON.stringify(lv)}`);
  if (!hv || !lv) throw new Error(`expected a video stream from pub at hi and lo: ${JSON.stringify(h.streams)} / ${JSON.stringify(l.streams)}`);
  if (!(hv.packets > 500 && lv.packets > 100)) throw new Error(`expected > 500 video packets at hi and > 100 at lo, got ${hv.packets} and ${lv.packets}`);
  if (!(hv.bytes > 3 * lv.bytes)) {
    throw new Error(`expected hi (5 Mbit/s asked) to get a higher layer than lo (100 kbit/s): ${hv.bytes} vs ${lv.bytes} bytes`);
  }
  if (!(h.nacks_sent > 0 && p.retransmitted > 0)) {
    throw new Error(`with 3% drops expected NACKs from hi (${h.nacks_sent}) and resends by pub (${p.retransmitted})`);
  }
  const expected = hv.packets + hv.lost;
  if (!(hv.lost / expected < 0.02)) throw new Error(`hi lost ${hv.lost} of ${expected} video packets despite NACKs (>= 2%)`);
  if (!(h.delay_count > 200 && h.delay_p50_ms >= 0)) throw new Error(`hi measured no one-way delay (${h.delay_count} samples)`);
  if (l.delay_count !== 0 || l.rx_unprotect_errors !== 0) throw new Error(`lo (--count-only) must not decrypt: ${JSON.stringify(l)}`);
  // libsrtp refuses a packet it has seen (replay protection): a resend of a packet that was only
  // late arrives twice. So hi may count up to one refusal per NACKed packet, pub none at all.
  if (p.rx_unprotect_errors !== 0 || h.rx_unprotect_errors > h.nacks_sent) {
    throw new Error(`SRTP refusals: pub ${p.rx_unprotect_errors} (expected 0), hi ${h.rx_unprotect_errors} ` +
      `(expected at most the ${h.nacks_sent} packets it NACKed)`);
  }
  await node.stop();
});
