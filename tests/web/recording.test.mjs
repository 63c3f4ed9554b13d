// Acceptance 2 through the app's own buttons: Ann and Bob meet; Ann clicks Record (the app calls
// POST /meetings/{id}/record, the control plane starts the node's recorder); both pages show the
// recording indicator, Stop recording only on Ann's (the host's); after 10 s Ann clicks Stop recording (POST /meetings/{id}/record/stop) and
// ends the meeting; the recording appears on her recordings page and plays (readyState >= 2,
// currentTime advances). Run: node tests/web/recording.test.mjs
import { runTest, launchBrowser, sleep } from '../e2e/lib.mjs';
import { startStack, annAndBob, waitIndicator, waitInPage, playOnRecordingsPage, expect } from './lib.mjs';

runTest('web_recording', async (t) => {
  const { url } = await startStack(t);
  const browser = await launchBrowser(t);
  const { ann, bob, admin, meetingId } = await annAndBob(t, browser, url);

  await ann.page.locator('#record').click();
  await waitIndicator([ann, bob], true, 15_000);
  t.log('Ann clicked Record: the indicator shows on both pages; 10 s');
  // Only the host (or an admin) may stop a recording: Bob, a participant, gets no Stop button.
  await sleep(1000);
  const stopShown = (p) => p.page.evaluate(() => !document.querySelector('#stop-record').hidden);
  if (!(await stopShown(ann)) || (await stopShown(bob))) {
    throw new Error(`Stop recording should show for Ann (host) only: Ann ${await stopShown(ann)}, Bob ${await stopShown(bob)}`);
  }
  await sleep(10_000);
  await ann.page.locator('#stop-record').click();
  await waitIndicator([ann, bob], false, 15_000);
  await ann.page.locator('#end').click();
  await waitInPage(ann, 'the end of the meeting', () => window.parley.ended || { waiting: true });
  const recs = (await expect(200, url, 'GET', '/recordings', { token: admin })).json.recordings
    .filter((r) => r.meeting_id === meetingId);
  if (recs.length !== 1) throw new Error(`expected one recording of the meeting, got ${JSON.stringify(recs)}`);
  await playOnRecordingsPage(t, ann, recs[0].recording_id);
}, { timeoutMs: 180_000 });
