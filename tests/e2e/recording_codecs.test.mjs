// The node records H.264 and VP9 as well as VP8: alice publishes H.264 (Chromium,
// packetization-mode 1), bob VP8, carol VP9 (profile 0); 8 s of recording give avc1, vp08 and
// vp09 tracks (plus their audio and the mix) whose decode timestamps never go backwards and
// that ffmpeg decodes with -xerror without a word. Run: node tests/e2e/recording_codecs.test.mjs
import path from 'node:path';
import {
  runTest, startNode, launchBrowser, openParticipant, waitForPageJoined, waitForMedia, sleep,
  httpPostJson, startControlPlane,
} from './lib.mjs';
import { assertDecodesClean, assertDtsForward, probeRecording } from './recording_lib.mjs';

runTest('recording_codecs', async (t) => {
  const control = await startControlPlane(t);
  const root = path.join(t.tmpDir, 'recordings');
  const node = await startNode(t, { controlUrl: control.url, args: ['--recordings-root', root] });
  const browser = await launchBrowser(t);
  const meeting = `codecs-rec-${process.pid}`;
  const alice = await openParticipant(t, browser, node, { meeting, name: 'alice', host: true, params: { codec: 'h264' } });
  await waitForPageJoined(t, alice);
  const bob = await openParticipant(t, browser, node, { meeting, name: 'bob' });
  const carol = await openParticipant(t, browser, node, { meeting, name: 'carol', params: { codec: 'vp9' } });
  await waitForMedia(t, [alice, bob, carol]);
  const token = node.mintToken({ meeting, account: 'recorder-h1', role: 'recorder', tenant: 't' });
  const start = await httpPostJson(`${node.url}/recordings/start`, { token, recording_id: 'h1', conference_id: 'c', session_id: 's' });
  if (start.status !== 201) throw new Error(`POST /recordings/start: expected 201, got ${start.status} ${start.body}`);
  await sleep(8000);
  const stop = await httpPostJson(`${node.url}/recordings/stop`, { token });
  if (stop.status !== 202) throw new Error(`POST /recordings/stop: expected 202, got ${stop.status}`);
  const [done] = await control.waitFor('/recordings/h1/completed', 1, 60_000);
  if (!done) throw new Error('no completion webhook within 60 s');
  const file = JSON.parse(done.body).file_path;
  const { streams } = probeRecording(file);
  t.log(`recorded: ${streams.map((st) => `${st.type}/${st.codec} "${st.name}" ${st.duration.toFixed(2)} s${st.width ? ` ${st.width} wide` : ''}`).join('; ')}`);
  const video = (who) => streams.find((st) => st.type === 'video' && (st.name || '').startsWith(who));
  const a = video('alice'), b = video('bob'), c = video('carol');
  if (!a || a.codec !== 'h264' || !(a.duration > 6) || !(a.width > 0)) throw new Error(`expected alice's video as H.264 of about 8 s, got ${JSON.stringify(a)}`);
  if (!b || b.codec !== 'vp8' || !(b.duration > 6)) throw new Error(`expected bob's video as VP8 of about 8 s, got ${JSON.stringify(b)}`);
  if (!c || c.codec !== 'vp9' || !(c.duration > 6) || !(c.width > 0)) throw new Error(`expected carol's video as VP9 of about 8 s, got ${JSON.stringify(c)}`);
  const packets = assertDtsForward(file);
  assertDecodesClean(file);
  t.log(`${packets} packets, dts never backwards; ffmpeg -xerror decodes every track without a word`);
  await node.stop();
});
