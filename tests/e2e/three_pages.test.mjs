// Three browser pages join one meeting through parley-node; every page decodes both others'
// cameras and receives both microphones for at least 5 s. The node is then stopped with SIGTERM
// while all three are still connected and must exit 0.
// Run: node tests/e2e/three_pages.test.mjs
import { runTest, startNode, meetingCheck } from './lib.mjs';

runTest('three_pages', async (t) => {
  const node = await startNode(t);
  await meetingCheck(t, node, {
    meeting: `three-${process.pid}`, names: ['alice', 'bob', 'carol'], seconds: 5,
  });
  await node.stop();
});
