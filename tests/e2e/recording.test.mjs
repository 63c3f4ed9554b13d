// The node's own recorder: alice and bob meet, the control plane (a stand-in here) starts a
// recording with POST /recordings/start; carol joins 4 s later, bob leaves 4 s before the stop.
// Every page hears RECORDING true, then false. The recording-started webhook has exactly the
// original body; the completed one names the file, which sits at
// <root>/<tenant>/<conference>/<session>/<recording>.mp4, opens in ffprobe with a mixed audio
// track first and each participant's audio and video with durations that fit, and decodes
// with `ffmpeg -xerror` without a word. A second recording cut short by SIGTERM is finished as
// the node exits, and reported to the control plane before it does. Run: node tests/e2e/recording.test.mjs
import fs from 'node:fs';
import path from 'node:path';
import {
  runTest, startNode, launchBrowser, openParticipant, waitForPageJoined, waitForMedia, sleep,
  startControlPlane, httpPostJson, withTimeout,
} from './lib.mjs';
import { assertDecodesClean, assertDtsForward, probeRecording } from './recording_lib.mjs';

const REC_S = 14;

async function recordingFlag(p) {
  return withTimeout(p.page.evaluate(() => window.parley.recording), 5000, `${p.name}'s page`);
}

async function waitFlag(t, pages, want, timeoutMs = 5000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const flags = await Promise.all(pages.map(recordingFlag));
    if (flags.every((f) => f === want)) return;
    if (Date.now() > deadline) {
      throw new Error(`expected RECORDING ${want} on every page, got ${pages.map((p, i) => `${p.name} ${flags[i]}`).join(', ')}`);
    }
    await sleep(200);
  }
}

runTest('recording', async (t) => {
  const control = await startControlPlane(t);
  control.replies.set('/nodes/register', { node_id: 'n1', name: 'x', heartbeat_interval_s: 1 });
  const root = path.join(t.tmpDir, 'recordings');
  const node = await startNode(t, { controlUrl: control.url, controlKey: 'k', args: ['--recordings-root', root] });
  const browser = await launchBrowser(t);
  const meeting = `rec-${process.pid}`;
  const alice = await openParticipant(t, browser, node, { meeting, name: 'alice', host: true });
  await waitForPageJoined(t, alice);
  const bob = await openParticipant(t, browser, node, { meeting, name: 'bob' });
  await waitForMedia(t, [alice, bob]);

  const ids = { recording_id: 'rec1', conference_id: 'conf1', session_id: 'sess1' };
  const token = node.mintToken({ meeting, account: 'recorder-rec1', role: 'recorder', tenant: 'acme' });
  // Refusals first: a participant's token, a missing field, a meeting not on this node.
  const asParticipant = await httpPostJson(`${node.url}/recordings/start`,
    { ...ids, token: node.mintToken({ meeting, account: 'alice', role: 'host' }) });
  const missing = await httpPostJson(`${node.url}/recordings/start`, { token, recording_id: 'x' });
  const elsewhere = await httpPostJson(`${node.url}/recordings/start`,
    { ...ids, token: node.mintToken({ meeting: 'nowhere', account: 'r', role: 'recorder' }) });
  const notJson = await httpPostJson(`${node.url}/recordings/start`, '{"token": ');
  t.log(`refusals: host token ${asParticipant.status}, missing fields ${missing.status}, ` +
    `other meeting ${elsewhere.status}, bad JSON ${notJson.status}`);
  if (asParticipant.status !== 401 || missing.status !== 400 || elsewhere.status !== 404 || notJson.status !== 400) {
    throw new Error('expected 401, 400, 404 and 400 for those starts');
  }

  const start = await httpPostJson(`${node.url}/recordings/start`, {
    ...ids, token, title: 'Weekly', host_user_id: 'alice', host_user_name: 'Alice', tenant_name: 'Acme',
  });
  if (start.status !== 201) throw new Error(`POST /recordings/start: expected 201, got ${start.status} ${start.body}`);
  const again = await httpPostJson(`${node.url}/recordings/start`, { ...ids, token });
  if (again.status !== 409) throw new Error(`a second start: expected 409, got ${again.status}`);
  const startedAt = Date.now();
  await waitFlag(t, [alice, bob], true);
  t.log('recording: alice and bob see RECORDING true');

  // The recording-started webhook, exactly.
  const [hook] = await control.waitFor('/recordings/webhook/recording-started', 1, 10_000);
  if (!hook) throw new Error('no recording-started webhook reached the control plane');
  const body = JSON.parse(hook.body);
  const keys = ['recording_id', 'conference_id', 'tenant_id', 'session_id', 'recording_url', 'title',
    'start_time', 'host_user_id', 'host_user_name', 'tenant_name'];
  if (JSON.stringify(Object.keys(body)) !== '["event","data"]' || body.event !== 'recording.started' ||
      JSON.stringify(Object.keys(body.data).sort()) !== JSON.stringify([...keys].sort()) ||
      !keys.every((k) => typeof body.data[k] === 'string') || body.data.tenant_id !== 'acme' ||
      body.data.recording_id !== 'rec1' || hook.headers.authorization !== 'Bearer k') {
    throw new Error(`recording-started webhook: unexpected ${hook.body} (auth ${hook.headers.authorization})`);
  }

  await sleep(4000);
  const carol = await openParticipant(t, browser, node, { meeting, name: 'carol' });
  await waitForPageJoined(t, carol);
  await waitFlag(t, [carol], true);
  await sleep((REC_S - 8) * 1000 - (Date.now() - startedAt - 4000));
  await bob.page.close();
  const bobLeftS = (Date.now() - startedAt) / 1000;
  t.log(`bob left ${bobLeftS.toFixed(1)} s into the recording`);
  await sleep(Math.max(0, REC_S * 1000 - (Date.now() - startedAt)));
  const stop = await httpPostJson(`${node.url}/recordings/stop`, { token });
  const stopS = (Date.now() - startedAt) / 1000;
  const carolS = (carol.joinedAt - startedAt) / 1000;
  if (stop.status !== 202) throw new Error(`POST /recordings/stop: expected 202, got ${stop.status} ${stop.body}`);
  await waitFlag(t, [alice, carol], false);
  t.log(`stopped after ${((Date.now() - startedAt) / 1000).toFixed(1)} s; pages see RECORDING false`);

  const [done] = await control.waitFor('/recordings/rec1/completed', 1, 60_000);
  if (!done) throw new Error('no completion webhook within 60 s');
  const result = JSON.parse(done.body);
  const file = path.join(root, 'acme', 'conf1', 'sess1', 'rec1.mp4');
  t.log(`completed: ${result.file_path}, ${result.size_bytes} bytes, ${result.duration_seconds} s, ` +
    `${result.tracks.length} tracks: ${result.tracks.map((x) => `${x.name} ${x.codec} ${x.start_seconds.toFixed(1)}+${x.duration_seconds.toFixed(1)}`).join('; ')}`);
  if (path.resolve(result.file_path) !== file || !fs.existsSync(file) || fs.statSync(file).size !== result.size_bytes) {
    throw new Error(`expected the file at ${file} (${result.file_path})`);
  }

  const { streams, duration: total } = probeRecording(file);
  t.log(`ffprobe: ${streams.map((st) => `${st.type}/${st.codec} "${st.name}" ${st.duration.toFixed(2)} s`).join('; ')}`);
  const audio = streams.filter((st) => st.type === 'audio');
  const video = streams.filter((st) => st.type === 'video');
  if (audio.length !== 4 || video.length !== 3) throw new Error(`expected 4 audio tracks (mix + 3) and 3 video, got ${audio.length} and ${video.length}`);
  if (!audio.every((st) => st.codec === 'opus') || !video.every((st) => st.codec === 'vp8')) throw new Error('expected Opus audio and VP8 video');
  if (!/mix/i.test(audio[0].name || '')) throw new Error(`expected the mixed audio track first, got "${audio[0].name}"`);
  const dur = (who, kind) => {
    const st = streams.find((x) => x.type === kind && (x.name || '').startsWith(who));
    if (!st) throw new Error(`no ${kind} track named for ${who}`);
    return st.duration;
  };
  // Durations as the test lived them: alice all along; carol from her join (her media starts
  // within a couple of seconds of it); bob until he left.
  const expect = [['alice', stopS, 1.5], ['carol', stopS - carolS, 2.5], ['bob', bobLeftS, 1.5]];
  for (const [who, want, tol] of expect) {
    for (const kind of ['audio', 'video']) {
      const d = dur(who, kind);
      if (who === 'carol' ? !(d <= want + 0.5 && d >= want - tol) : Math.abs(d - want) > tol) throw new Error(`${who}'s ${kind}: expected about ${want} s, got ${d.toFixed(2)} s`);
    }
  }
  if (Math.abs(total - stopS) > 1.5) throw new Error(`expected the recording about ${stopS.toFixed(1)} s long, got ${total}`);
  const carolVideo = result.tracks.find((x) => x.name === 'carol video');
  if (!carolVideo || Math.abs(carolVideo.start_seconds - carolS) > 2.5) {
    throw new Error(`expected carol's video to start about ${carolS.toFixed(1)} s into the recording, got ${carolVideo && carolVideo.start_seconds}`);
  }
  const packets = assertDtsForward(file);
  assertDecodesClean(file);
  t.log(`${packets} packets, dts never backwards; ffmpeg -xerror decodes every track without a word`);

  // The node registered with the control plane, heartbeats its load and reports presence.
  const [reg] = control.forPath('/nodes/register');
  const regBody = reg && JSON.parse(reg.body);
  if (!regBody || regBody.signaling_url !== `${node.url.replace('http:', 'ws:')}/` || !regBody.name) {
    throw new Error(`expected POST /nodes/register with the node's WebSocket URL, got ${reg && reg.body}`);
  }
  const beats = control.forPath('/nodes/n1/heartbeat').map((r) => JSON.parse(r.body));
  const enc = encodeURIComponent(meeting);
  const joined = control.forPath(`/meetings/${enc}/joined`).map((r) => JSON.parse(r.body).account_id).sort();
  const left = control.forPath(`/meetings/${enc}/left`).map((r) => JSON.parse(r.body).account_id);
  t.log(`control plane: registered, ${beats.length} heartbeats (most participants ${Math.max(...beats.map((b) => b.participants))}), ` +
    `joined ${joined.join(', ')}; left ${left.join(', ')}`);
  if (beats.length < 10 || !beats.some((b) => b.meetings === 1 && b.participants === 3)) {
    throw new Error(`expected heartbeats every second, one with 1 meeting and 3 participants: ${JSON.stringify(beats.slice(-5))}`);
  }
  if (joined.join() !== 'alice,bob,carol' || left.join() !== 'bob') throw new Error('expected joined alice, bob, carol and left bob');

  // A recording still running when the node is told to stop is finished on the way out, and
  // reported before the node exits; its result file goes once the control plane took it.
  const second = await httpPostJson(`${node.url}/recordings/start`, { ...ids, recording_id: 'rec2', token });
  if (second.status !== 201) throw new Error(`a new recording after the first: expected 201, got ${second.status} ${second.body || second.error}`);
  await sleep(4000);
  await node.stop();
  const file2 = path.join(root, 'acme', 'conf1', 'sess1', 'rec2.mp4');
  if (!fs.existsSync(file2)) throw new Error(`expected ${file2} finished when the node stopped`);
  const d2 = probeRecording(file2).duration;
  assertDecodesClean(file2);
  t.log(`rec2, cut short by SIGTERM: ${d2.toFixed(2)} s`);
  if (!(d2 > 2.5 && d2 < 8)) throw new Error(`expected rec2 about 4 s long, got ${d2}`);
  const reports2 = control.forPath('/recordings/rec2/completed');
  const r2 = reports2.length === 1 && JSON.parse(reports2[0].body);
  t.log(`rec2's report on the way out: ${reports2.map((r) => `HTTP ${r.status} ${r.body.slice(0, 160)}…`).join('; ') || 'none'}`);
  if (!r2 || r2.event !== 'recording.completed' || r2.recording_id !== 'rec2' || r2.meeting_id !== meeting ||
      path.resolve(r2.file_path) !== file2 || r2.size_bytes !== fs.statSync(file2).size || r2.tracks.length < 3 ||
      reports2[0].headers.authorization !== 'Bearer k') {
    throw new Error('expected exactly one recording.completed report of rec2 (its file, size and tracks) before the node exited');
  }
  const left2 = fs.readdirSync(path.dirname(file2)).filter((f) => f.startsWith('rec'));
  if (left2.sort().join() !== 'rec1.mp4,rec2.mp4') throw new Error(`expected only the two files left, got ${left2.join(', ')}`);
});
