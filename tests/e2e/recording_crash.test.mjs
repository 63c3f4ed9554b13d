// Crash safety of the node's recorder: alice and bob are recorded for 12 s, then the node is
// killed with SIGKILL (nothing flushed, nothing closed). A new node started on the same
// --recordings-root finds the interrupted recording and finishes it from its fragments: the MP4
// is where it belongs, decodes with `ffmpeg -xerror` without a word, and holds at least 10 s of
// every track; and it tells the control plane (a stand-in here): POST /recordings/r9/completed
// with the file, its tracks and "recovered": true. The control plane refuses it (503) while that
// node runs and as it stops: the report waits on disk (r9.result) and the next start sends it.
// Run: node tests/e2e/recording_crash.test.mjs
import fs from 'node:fs';
import path from 'node:path';
import {
  runTest, startNode, launchBrowser, openParticipant, waitForPageJoined, waitForMedia, sleep,
  httpPostJson, startControlPlane,
} from './lib.mjs';
import { assertDecodesClean, assertDtsForward, probeRecording } from './recording_lib.mjs';

runTest('recording_crash', async (t) => {
  const root = path.join(t.tmpDir, 'recordings');
  const node = await startNode(t, { args: ['--recordings-root', root] });
  const browser = await launchBrowser(t);
  const meeting = `crash-${process.pid}`;
  const alice = await openParticipant(t, browser, node, { meeting, name: 'alice', host: true });
  await waitForPageJoined(t, alice);
  const bob = await openParticipant(t, browser, node, { meeting, name: 'bob' });
  await waitForMedia(t, [alice, bob]);
  const token = node.mintToken({ meeting, account: 'recorder-r9', role: 'recorder', tenant: 't1' });
  const start = await httpPostJson(`${node.url}/recordings/start`,
    { token, recording_id: 'r9', conference_id: 'c1', session_id: 's1' });
  if (start.status !== 201) throw new Error(`POST /recordings/start: expected 201, got ${start.status} ${start.body}`);
  await sleep(12_000);
  await node.crash();
  await browser.close();
  const file = path.join(root, 't1', 'c1', 's1', 'r9.mp4');
  if (fs.existsSync(file)) throw new Error('test bug: the final file exists before any recovery');
  const parts = fs.readdirSync(path.join(root, 't1', 'c1', 's1'));
  t.log(`after the crash: ${parts.join(', ')}`);

  // The control plane refuses the report at first (503): the node keeps trying after its
  // heartbeats, and once more on its way out; the result stays on disk for the next start.
  const control = await startControlPlane(t);
  control.replies.set('/nodes/register', { node_id: 'n1', name: 'x', heartbeat_interval_s: 1 });
  control.failFirst.set('/recordings/r9/completed', 1e9);
  const again = await startNode(t, { controlUrl: control.url, controlKey: 'k', args: ['--recordings-root', root] });
  const deadline = Date.now() + 60_000;
  while (!/recovered an interrupted recording/.test(again.output()) && Date.now() < deadline) await sleep(250);
  if (!fs.existsSync(file)) throw new Error(`expected ${file} recovered by the restarted node; its log: ${again.logPath}`);
  const { streams } = probeRecording(file);
  t.log(`recovered: ${streams.map((st) => `${st.type}/${st.codec} "${st.name}" ${st.duration.toFixed(2)} s`).join('; ')}`);
  const named = (who, kind) => streams.find((st) => st.type === kind && (st.name || '').startsWith(who));
  for (const who of ['alice', 'bob']) {
    for (const kind of ['audio', 'video']) {
      const st = named(who, kind);
      if (!st) throw new Error(`the recovered file has no ${kind} track for ${who}`);
      if (!(st.duration >= 10)) throw new Error(`${who}'s ${kind}: expected at least 10 s recovered, got ${st.duration.toFixed(2)} s`);
    }
  }
  const packets = assertDtsForward(file);
  assertDecodesClean(file);
  t.log(`${packets} packets, dts never backwards; ffmpeg -xerror decodes every track without a word`);
  const refused = await control.waitFor('/recordings/r9/completed', 5, 20_000);
  if (refused.length < 5) throw new Error(`expected the refused report tried again after heartbeats, got ${refused.length} tries`);
  await again.stop();
  const result = path.join(root, 't1', 'c1', 's1', 'r9.result');
  const tries = control.forPath('/recordings/r9/completed').length;
  t.log(`the report was refused ${tries} times (the last on the way out); ${path.basename(result)} waits on disk`);
  if (!fs.existsSync(result)) throw new Error(`expected ${result} kept while the control plane has not taken the report`);
  control.failFirst.set('/recordings/r9/completed', 0);
  const third = await startNode(t, { controlUrl: control.url, controlKey: 'k', args: ['--recordings-root', root] });
  const reports = await control.waitFor('/recordings/r9/completed', tries + 1, 15_000);
  const done = reports.length > tries && reports[tries];
  if (!done || done.status !== 200) throw new Error('the next start did not report the recovered recording to the control plane');
  const rep = JSON.parse(done.body);
  t.log(`reported: ${done.body.slice(0, 200)}…`);
  if (rep.event !== 'recording.completed' || rep.recovered !== true || rep.recording_id !== 'r9' ||
      rep.tenant_id !== 't1' || rep.conference_id !== 'c1' || path.resolve(rep.file_path) !== path.resolve(file) ||
      rep.size_bytes !== fs.statSync(file).size || !(rep.duration_seconds >= 10) || rep.tracks.length !== streams.length) {
    throw new Error(`unexpected completion report of the recovered recording: ${done.body}`);
  }
  if (done.headers.authorization !== 'Bearer k') throw new Error(`report sent with ${done.headers.authorization}`);
  if (fs.readdirSync(path.join(root, 't1', 'c1', 's1')).some((f) => f.endsWith('.parts'))) {
    throw new Error('the fragments should be gone once the file is finished');
  }
  const deadline2 = Date.now() + 5000;
  while (fs.existsSync(result) && Date.now() < deadline2) await sleep(100);
  if (fs.existsSync(result)) throw new Error(`expected ${result} removed once the control plane took the report`);
  await third.stop();
});
