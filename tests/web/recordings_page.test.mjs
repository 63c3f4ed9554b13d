// The recordings page: Ann and Bob meet through the web app; a recording of 10 s is made by the
// node's recorder (started here with the recorder token the control plane's
// POST /meetings/{id}/record hands out, through the node's POST /recordings/start: the call the
// control plane itself will make once that is wired, see tests/web/recording.test.mjs); both
// pages show the recording indicator while it runs; Ann ends the meeting; the recording appears
// on her recordings page and plays in its <video> through a signed URL (readyState >= 2,
// currentTime advances). Run: node tests/web/recordings_page.test.mjs
import { runTest, launchBrowser, sleep, httpPostJson } from '../e2e/lib.mjs';
import { startStack, annAndBob, waitIndicator, waitInPage, playOnRecordingsPage, expect } from './lib.mjs';

runTest('web_recordings_page', async (t) => {
  const { url, node } = await startStack(t);
  const browser = await launchBrowser(t);
  const { ann, bob, annAcct, admin, meetingId } = await annAndBob(t, browser, url);

  const rec = (await expect(201, url, 'POST', `/meetings/${meetingId}/record`, { token: admin })).json;
  const start = await httpPostJson(`${node.url}/recordings/start`, { token: rec.recorder_token,
    recording_id: rec.recording_id, conference_id: rec.conference_id, session_id: rec.session_id,
    title: 'Weekly', host_user_id: annAcct, host_user_name: 'Ann', tenant_name: 'Acme' });
  if (start.status !== 201) throw new Error(`node POST /recordings/start: ${start.status} ${start.body}`);
  await waitIndicator([ann, bob], true);
  t.log(`recording ${rec.recording_id}: the indicator shows on both pages; 10 s`);
  await sleep(10_000);
  const stop = await httpPostJson(`${node.url}/recordings/stop`, { token: rec.recorder_token });
  if (stop.status !== 202) throw new Error(`node POST /recordings/stop: ${stop.status} ${stop.body}`);
  await waitIndicator([ann, bob], false);

  await ann.page.locator('#end').click();
  await waitInPage(ann, 'the end of the meeting', () => window.parley.ended || { waiting: true });
  await playOnRecordingsPage(t, ann, rec.recording_id);
  const listed = await ann.page.evaluate(() => window.parleyApp.recordings.map((r) => [r.recording_id, r.title, r.status]));
  t.log(`listed: ${JSON.stringify(listed)}`);
}, { timeoutMs: 180_000 });
