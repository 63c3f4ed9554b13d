// Issue 6, acceptance 1, through the node: three parley-client participants publish libvpx VP8
// test patterns and libopus tones; the node records 20 s; c joins 5 s into the recording and b
// leaves 5 s before its end. ffprobe lists the mix, three audio and three video tracks with the
// durations the test lived (±1 s; the late joiner's media starts within 2 s of its process),
// decode timestamps never go backwards, and `ffmpeg -xerror` decodes everything without a word.
// Run: node tests/e2e/recording_clients.test.mjs
import path from 'node:path';
import { runTest, startNode, sleep, httpPostJson, startControlPlane } from './lib.mjs';
import { startClient } from './client_lib.mjs';
import { assertDecodesClean, assertDtsForward, probeRecording } from './recording_lib.mjs';

const REC_S = 20;

runTest('recording_clients', async (t) => {
  const control = await startControlPlane(t);
  const root = path.join(t.tmpDir, 'recordings');
  const node = await startNode(t, { controlUrl: control.url, args: ['--recordings-root', root] });
  const meeting = `clients-rec-${process.pid}`;
  const client = (account, role, duration) => startClient(t, ['--url', node.wsUrl, '--meeting', meeting,
    '--token-secret', node.tokenSecret, '--account', account, '--role', role, '--publish', 'vp8', '--audio',
    '--subscribe', '0', '--duration', String(duration), '--log-level', 'info'], account);
  client('a', 'host', REC_S + 12);
  await sleep(1500);
  const b = client('b', 'participant', REC_S - 5 + 4);
  await sleep(3000); // media up for both
  const token = node.mintToken({ meeting, account: 'recorder-cr', role: 'recorder', tenant: 't' });
  // An id with characters a URL path must encode: the completion report's path encodes it.
  const start = await httpPostJson(`${node.url}/recordings/start`, { token, recording_id: 'cr/1 x', conference_id: 'c', session_id: 's' });
  if (start.status !== 201) throw new Error(`POST /recordings/start: expected 201, got ${start.status} ${start.body}`);
  const startedAt = Date.now();
  await sleep(5000);
  client('c', 'participant', REC_S);
  const cJoinedS = (Date.now() - startedAt) / 1000;
  await b.exited;
  const bLeftS = (Date.now() - startedAt) / 1000;
  t.log(`b left ${bLeftS.toFixed(1)} s into the recording`);
  await sleep(Math.max(0, REC_S * 1000 - (Date.now() - startedAt)));
  const stop = await httpPostJson(`${node.url}/recordings/stop`, { token });
  const stopS = (Date.now() - startedAt) / 1000;
  if (stop.status !== 202) throw new Error(`POST /recordings/stop: expected 202, got ${stop.status}`);
  const [done] = await control.waitFor('/recordings/cr%2F1%20x/completed', 1, 60_000);
  if (!done) throw new Error(`no completion report at /recordings/cr%2F1%20x/completed within 60 s (got ${control.requests.map((r) => r.url).join(', ')})`);
  const file = JSON.parse(done.body).file_path;
  const { streams } = probeRecording(file);
  t.log(`recorded (${stopS.toFixed(1)} s): ${streams.map((st) => `${st.type}/${st.codec} "${st.name}" ${st.duration.toFixed(2)} s`).join('; ')}`);
  const audio = streams.filter((st) => st.type === 'audio');
  const video = streams.filter((st) => st.type === 'video');
  if (audio.length !== 4 || video.length !== 3 || !/mix/.test(audio[0].name)) {
    throw new Error('expected the mix first, then three audio and three video tracks');
  }
  if (!audio.every((st) => st.codec === 'opus') || !video.every((st) => st.codec === 'vp8')) throw new Error('expected Opus and VP8');
  const want = { a: [stopS, 1], b: [bLeftS, 1], c: [stopS - cJoinedS, 2] };
  const off = [];
  for (const [who, [secs]] of Object.entries(want)) {
    for (const kind of ['audio', 'video']) {
      const st = streams.find((x) => x.type === kind && (x.name || '').startsWith(`${who} `));
      if (!st) throw new Error(`no ${kind} track for ${who}`);
      off.push({ who, kind, secs, d: st.duration });
    }
  }
  t.log(`durations against the test's clock: ${off.map((o) => `${o.who} ${o.kind} ${(o.d - o.secs).toFixed(2)}`).join(', ')}`);
  for (const { who, kind, secs, d } of off) {
    const tol = want[who][1];
    if (who === 'c' ? !(d <= secs + 0.5 && d >= secs - tol) : Math.abs(d - secs) > tol) {
      throw new Error(`${who}'s ${kind}: expected about ${secs.toFixed(1)} s, got ${d.toFixed(2)} s`);
    }
  }
  // Decode timestamps never go backwards, in any track.
  const packets = assertDtsForward(file);
  assertDecodesClean(file);
  t.log(`${packets} packets, dts never backwards; ffmpeg -xerror decodes every track without a word`);
  await node.stop();
});
