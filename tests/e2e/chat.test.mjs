// Chat over data channels: alice, bob and carol meet (dave in another meeting on the same
// node). A message alice types reaches bob and carol as {"from":"alice","text":...} through the
// node's SCTP relay, with the sender stamped by the node; one from carol reaches alice and bob;
// dave hears none of it. Run: node tests/e2e/chat.test.mjs
import {
  runTest, startNode, launchBrowser, openParticipant, waitForPageJoined, waitForMedia, sleep,
  httpGet, metricSum, chatOf, waitChat,
} from './lib.mjs';

runTest('chat', async (t) => {
  const node = await startNode(t);
  const browser = await launchBrowser(t);
  const meeting = `chat-${process.pid}`;
  const alice = await openParticipant(t, browser, node, { meeting, name: 'alice', host: true });
  await waitForPageJoined(t, alice);
  const bob = await openParticipant(t, browser, node, { meeting, name: 'bob' });
  const carol = await openParticipant(t, browser, node, { meeting, name: 'carol' });
  const dave = await openParticipant(t, browser, node, { meeting: `other-${process.pid}`, name: 'dave', host: true });
  await waitForMedia(t, [alice, bob, carol]);
  const deadline = Date.now() + 15_000;
  for (const p of [alice, bob, carol, dave]) {
    while (!(await chatOf(p)).open) {
      if (Date.now() > deadline) throw new Error(`${p.name}: the chat data channel never opened`);
      await sleep(100);
    }
  }
  t.log('every page has its chat channel open');
  const hello = 'hello from alice — ünïcödé & "quotes"';
  if (!await alice.page.evaluate((x) => window.parley.sendChat(x), hello)) throw new Error('alice could not send');
  await waitChat(bob, 'alice', hello);
  await waitChat(carol, 'alice', hello);
  if (!await carol.page.evaluate(() => window.parley.sendChat('carol here'))) throw new Error('carol could not send');
  await waitChat(alice, 'carol', 'carol here');
  await waitChat(bob, 'carol', 'carol here');
  t.log('alice\'s message reached bob and carol; carol\'s reached alice and bob');
  await sleep(500);
  const d = await chatOf(dave);
  if (d.chat.length) throw new Error(`dave (another meeting) got chat: ${JSON.stringify(d.chat)}`);
  const b = await chatOf(bob);
  if (b.chat.length !== 2) throw new Error(`bob: expected exactly 2 messages, got ${JSON.stringify(b.chat)}`);
  await sleep(1100);
  const m = (await httpGet(`${node.url}/metrics`)).body;
  const got = metricSum(m, 'parley_chat_messages_total'), sent = metricSum(m, 'parley_chat_deliveries_total');
  t.log(`/metrics: ${got} chat messages in, ${sent} delivered`);
  if (got !== 2 || sent !== 4) throw new Error(`expected 2 chat messages in and 4 deliveries, got ${got} and ${sent}`);
  await browser.close();
  await node.stop();
});
