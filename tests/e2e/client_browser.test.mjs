// parley-client and a browser in one meeting (issue 5, acceptance 2): the client publishes the
// libvpx VP8 test pattern and an Opus tone; the browser decodes the client's video (framesDecoded
// grows, frameWidth > 0) and hears it; the client receives the browser's camera, counts it and
// writes it to IVF, which ffprobe reads as VP8 frames. Run: node tests/e2e/client_browser.test.mjs
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { runTest, startNode, launchBrowser, openParticipant, waitForPageJoined, sampleStats, sleep } from './lib.mjs';
import { startClient, clientStats } from './client_lib.mjs';

const DURATION_S = 14;

runTest('client_browser', async (t) => {
  const node = await startNode(t);
  const meeting = `client-${process.pid}`;
  const context = await launchBrowser(t);
  const page = await openParticipant(t, context, node, { meeting, name: 'alice', host: true });
  await waitForPageJoined(t, page);

  const ivf = path.join(t.tmpDir, 'from-alice.ivf');
  const token = node.mintToken({ meeting, account: 'native', role: 'participant' });
  const client = startClient(t, ['--url', node.wsUrl, '--meeting', meeting, '--token', token,
    '--account', 'native', '--publish', 'vp8', '--audio', '--width', '320', '--height', '240',
    '--send-bitrate', '400000', '--duration', String(DURATION_S), '--write-ivf', ivf,
    '--stats-json', '--log-level', 'info'], 'parley-client');

  // The browser decodes the client's VP8 and plays its audio.
  const deadline = Date.now() + 20_000;
  let first;
  for (;;) {
    const s = await sampleStats(page);
    const a = s.accounts.native;
    if (a && a.framesDecoded > 0 && a.frameWidth > 0 && a.totalSamplesReceived > 0) { first = a; break; }
    if (Date.now() > deadline) {
      throw new Error(`alice's page did not decode the client's video and audio within 20 s: ` +
        `${JSON.stringify(a || s.accounts)} (page ${s.state}, media ${s.connectionState})`);
    }
    if (client.proc.exitCode !== null) throw new Error(`parley-client exited early (${client.proc.exitCode}); log ${client.logPath}`);
    await sleep(250);
  }
  t.log(`alice decodes native: ${first.framesDecoded} frames of ${first.frameWidth}x${first.frameHeight}`);
  if (first.frameWidth !== 320 || first.frameHeight !== 240) {
    throw new Error(`expected the client's 320x240 test pattern, alice decodes ${first.frameWidth}x${first.frameHeight}`);
  }
  await sleep(3000);
  const later = (await sampleStats(page)).accounts.native;
  if (!(later.framesDecoded >= first.framesDecoded + 30)) {
    throw new Error(`alice's framesDecoded of the client's video did not grow by 30 in 3 s ` +
      `(${first.framesDecoded} -> ${later.framesDecoded})`);
  }
  if (!(later.totalSamplesReceived > first.totalSamplesReceived)) {
    throw new Error(`alice's audio samples from the client did not grow (${first.totalSamplesReceived} -> ${later.totalSamplesReceived})`);
  }
  t.log(`alice: framesDecoded ${first.framesDecoded} -> ${later.framesDecoded} in 3 s`);

  // The client leaves after --duration, exits 0 and reports what it got from alice.
  const stats = await clientStats(client, (DURATION_S + 20) * 1000);
  t.log(`client: sent ${stats.tx_video_packets} video / ${stats.tx_audio_packets} audio packets; received ` +
    `${stats.rx_video_packets} video / ${stats.rx_audio_packets} audio packets, ${stats.rx_lost} lost, ` +
    `${stats.ivf_frames} frames to IVF, joined in ${stats.join_ms} ms, media in ${stats.connect_ms} ms`);
  const fromAlice = stats.streams.find((s) => s.kind === 'video' && s.account_id === 'alice');
  if (!fromAlice || !(fromAlice.packets > 200 && fromAlice.frames > 50)) {
    throw new Error(`expected > 200 video packets and > 50 frames from alice in the client's streams, got ` +
      `${JSON.stringify(stats.streams)}`);
  }
  const audioFromAlice = stats.streams.find((s) => s.kind === 'audio' && s.account_id === 'alice');
  if (!audioFromAlice || !(audioFromAlice.packets > 100)) {
    throw new Error(`expected > 100 audio packets from alice, got ${JSON.stringify(stats.streams)}`);
  }
  if (!(stats.tx_video_packets > 100 && stats.tx_audio_packets > 100)) {
    throw new Error(`expected the client to have sent > 100 video and audio packets: ${JSON.stringify(stats)}`);
  }
  if (!(stats.ivf_frames > 50)) throw new Error(`expected > 50 frames written to IVF, got ${stats.ivf_frames}`);

  // ffprobe decodes the IVF: VP8, the camera's size, every frame written.
  const probe = JSON.parse(execFileSync('ffprobe', ['-v', 'error', '-count_frames', '-select_streams', 'v:0',
    '-show_entries', 'stream=codec_name,width,height,nb_read_frames', '-of', 'json', ivf], { encoding: 'utf8' }));
  const st = probe.streams && probe.streams[0];
  t.log(`ffprobe ${path.basename(ivf)}: ${JSON.stringify(st)}`);
  if (!st || st.codec_name !== 'vp8' || !(st.width > 0) || Number(st.nb_read_frames) !== stats.ivf_frames) {
    throw new Error(`ffprobe: expected VP8 with a width and ${stats.ivf_frames} frames, got ${JSON.stringify(st)}`);
  }
  execFileSync('ffmpeg', ['-v', 'error', '-xerror', '-i', ivf, '-f', 'null', '-'], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.log('ffmpeg decodes the IVF without error');

  node.assertAlive('after the client left');
  await node.stop();
});
