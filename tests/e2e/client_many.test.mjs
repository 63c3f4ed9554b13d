// Six parley-clients in ONE process (--clients 6, one glib loop), each publishing synthetic
// simulcast video and audio and subscribing to all the others (suite integration). Every
// client must reach media and receive video frames and audio from each of the 5 others; then
// the host ENDs the meeting and every client must see it closed. Run: node tests/e2e/client_many.test.mjs
import { runTest, startNode, withTimeout } from './lib.mjs';
import { startClient } from './client_lib.mjs';

const N = 6;

runTest('client_many', async (t) => {
  const node = await startNode(t, { workers: 1, logLevel: 'info' });
  const meeting = `many-${process.pid}`;
  const c = startClient(t, ['--url', node.wsUrl, '--meeting', meeting, '--token-secret', node.tokenSecret,
    '--account', 'bot', '--role', 'host', '--clients', String(N), '--publish', 'synthetic', '--audio',
    '--bitrate', '300000', '--duration', '8', '--end', '--stats-json', '--log-level', 'info'], 'bots');
  const r = await withTimeout(c.exited, 40_000, 'parley-client --clients to finish');
  if (r.error || r.code !== 0) throw new Error(`parley-client --clients ${N} exited ${r.code ?? r.signal ?? r.error}; log ${c.logPath}`);
  const all = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
  if (all.length !== N) throw new Error(`expected ${N} stats lines, got ${all.length}`);
  for (const s of all) {
    const video = s.streams.filter((x) => x.kind === 'video' && x.packets > 50 && x.frames > 20);
    const audio = s.streams.filter((x) => x.kind === 'audio' && x.packets > 100);
    t.log(`${s.account_id}: ${s.state}, media in ${s.connect_ms} ms, sent ${s.tx_video_packets} video / ` +
      `${s.tx_audio_packets} audio, received ${video.length} video and ${audio.length} audio streams, ` +
      `${s.rx_packets} packets, delay p50 ${s.delay_p50_ms} ms`);
    if (!s.meeting_ended) throw new Error(`${s.account_id}: expected END from the node (the host ended the meeting)`);
    if (s.state !== 'closed') throw new Error(`${s.account_id}: expected state closed after END, got ${s.state} (${s.error})`);
    if (video.length !== N - 1 || audio.length !== N - 1) {
      throw new Error(`${s.account_id}: expected video and audio from ${N - 1} others, got ${video.length} video ` +
        `and ${audio.length} audio streams: ${JSON.stringify(s.streams)}`);
    }
    if (!(s.tx_video_packets > 300 && s.delay_count > 100)) {
      throw new Error(`${s.account_id}: expected > 300 video packets sent and delay samples, got ${s.tx_video_packets}, ${s.delay_count}`);
    }
  }
  await node.stop();
});
