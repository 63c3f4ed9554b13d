// Three browser pages join one meeting through parley-node; every page decodes both others'
// cameras and receives both microphones for at least 5 s, and has been told who the active
// speaker is (ACTIVE_SPEAKER, from the RFC 6464 levels of Chromium's beeping fake microphone).
// The node is then stopped with SIGTERM while all three are still connected and must exit 0.
// Run: node tests/e2e/three_pages.test.mjs
import { runTest, startNode, meetingCheck } from './lib.mjs';

runTest('three_pages', async (t) => {
  const node = await startNode(t);
  const names = ['alice', 'bob', 'carol'];
  const { participants } = await meetingCheck(t, node, {
    meeting: `three-${process.pid}`, names, seconds: 5,
  });
  for (const p of participants) {
    const speaker = await p.page.evaluate(() => window.parley.activeSpeaker);
    t.log(`${p.name}: last ACTIVE_SPEAKER ${speaker}`);
    if (!names.includes(speaker)) {
      throw new Error(`${p.name}: expected an ACTIVE_SPEAKER naming one of ${names.join(', ')}, got ${speaker}`);
    }
  }
  await node.stop();
});
