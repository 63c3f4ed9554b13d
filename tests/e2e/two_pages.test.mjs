// Two browser pages join one meeting through parley-node; each decodes the other's camera and
// receives the other's microphone for at least 5 s. Run: node tests/e2e/two_pages.test.mjs
import { runTest, startNode, meetingCheck, sleep, withTimeout } from './lib.mjs';

runTest('two_pages', async (t) => {
  const node = await startNode(t);
  const { browser } = await meetingCheck(t, node, {
    meeting: `two-${process.pid}`, names: ['alice', 'bob'], seconds: 5,
  });
  t.log('closing the browser (both participants leave)');
  await withTimeout(browser.close(), 10_000, 'closing chromium');
  await sleep(500);
  node.assertAlive('after both participants left');
  await node.stop();
});
