// parley-control with a real parley-node: the join tokens the control plane mints (host and
// participant) are accepted by the node (INIT, JOIN), a token with a forged signature is
// refused, and when the host ENDs the meeting the node's authoritative
// POST /meetings/{id}/end (Bearer <node key>, its exact body) ends it in the control plane and
// frees the node's load; a meeting the host ends through the API is ended on the node too (the
// control plane's POST /meetings/end to the node: END reaches everyone); an ended meeting is deleted by the housekeeping after --meeting-retention;
// a node registering again (a restart) keeps its live meetings live with nobody in them.
import { SigClient, runTest as runE2e, startNode } from '../e2e/lib.mjs';
import { TestContext, assert, assertEq, expect, sleep } from './lib.mjs';

runE2e('control_node_end', async (t) => {
  const ctx = new TestContext('control_node_end', t.tmpDir);
  t.defer('stop parley-control and PostgreSQL', () => ctx.cleanup());
  await ctx.startPostgres();
  const control = await ctx.startControl();
  const url = control.url;
  const node = await startNode(t, { tokenSecret: ctx.tokenSecret, controlUrl: url, controlKey: ctx.nodeKey });
  // The node registers itself (--control-url, --control-key) and heartbeats.
  let reg;
  for (let i = 0; i < 100 && !reg; i++) {
    reg = (await expect(200, url, 'GET', '/nodes', { token: ctx.nodeKey })).json.nodes
      .find((x) => x.healthy && x.signaling_url.startsWith(`ws://127.0.0.1:${node.httpPort}/`));
    if (!reg) await sleep(100);
  }
  if (!reg) throw new Error('the node did not register itself within 10 s');

  const ta = (await expect(201, url, 'POST', '/tenants', { body: { tenant_name: 'A', email: 'host@a.test', password: 'password-a' } })).json;
  const host = (await expect(200, url, 'POST', '/auth/login', { body: { email: 'host@a.test', password: 'password-a' } })).json.token;
  const part = (await expect(201, url, 'POST', '/accounts', { token: host, body: { email: 'p@a.test', password: 'password-p', role: 'participant' } })).json;
  const ptoken = (await expect(200, url, 'POST', '/auth/login', { body: { email: 'p@a.test', password: 'password-p' } })).json.token;

  const m = (await expect(201, url, 'POST', '/meetings', { token: host, body: { title: 'real' } })).json;
  assertEq([m.node_id, m.signaling_url], [reg.node_id, reg.signaling_url], 'the meeting is on the real node');
  t.log(`meeting ${m.meeting_id} on ${m.signaling_url}`);

  const h = await SigClient.connect(node, 'host');
  h.send({ meeting_id: m.meeting_id, content_type: 'INIT', host: ta.account_id, token: m.join_token });
  await h.expect({ meeting_id: m.meeting_id, content_type: 'MEETING_USERS', users: [] });

  // A token whose signature is not the control plane's is refused by the node.
  const forged = await SigClient.connect(node, 'forged');
  const pj = (await expect(200, url, 'POST', `/meetings/${m.meeting_id}/join`, { token: ptoken })).json;
  const parts = pj.join_token.split('.');
  forged.send({ meeting_id: m.meeting_id, content_type: 'JOIN', account_id: part.account_id,
    token: `${parts[0]}.${parts[1]}.${'A'.repeat(parts[2].length)}` });
  await forged.expectDenied(m.meeting_id, /token/i);

  const p = await SigClient.connect(node, 'participant');
  p.send({ meeting_id: m.meeting_id, content_type: 'JOIN', account_id: part.account_id, token: pj.join_token });
  const users = await p.nextPacket('MEETING_USERS');
  assertEq(users.content_type, 'MEETING_USERS', 'the participant joined with the control plane\'s token');

  t.log('END from the host: the node reports it to the control plane');
  h.send({ meeting_id: m.meeting_id, content_type: 'END' });
  let status = 'live';
  for (let i = 0; i < 50 && status !== 'ended'; i++) {
    await sleep(100);
    status = (await expect(200, url, 'GET', `/meetings/${m.meeting_id}`, { token: host })).json.status;
  }
  assertEq(status, 'ended', 'the node\'s END callback ended the meeting');
  assertEq(ctx.pg.sql(`SELECT ended_by FROM meetings WHERE id = '${m.meeting_id}'`)[0][0], ta.account_id, 'ended_by from the node');
  const n = (await expect(200, url, 'GET', '/nodes', { token: ctx.nodeKey })).json.nodes.find((x) => x.node_id === reg.node_id);
  assertEq(n.meetings, 0, 'the node\'s load is freed');
  await expect(204, url, 'DELETE', `/meetings/${m.meeting_id}`, { token: ctx.nodeKey });

  t.log('the host ends a meeting through the API: the control plane tells the node, which sends END');
  const m4 = (await expect(201, url, 'POST', '/meetings', { token: host, body: {} })).json;
  const h4 = await SigClient.connect(node, 'host4');
  h4.send({ meeting_id: m4.meeting_id, content_type: 'INIT', host: ta.account_id, token: m4.join_token });
  await h4.expect({ meeting_id: m4.meeting_id, content_type: 'MEETING_USERS', users: [] });
  const pj4 = (await expect(200, url, 'POST', `/meetings/${m4.meeting_id}/join`, { token: ptoken })).json;
  const p4 = await SigClient.connect(node, 'participant4');
  p4.send({ meeting_id: m4.meeting_id, content_type: 'JOIN', account_id: part.account_id, token: pj4.join_token });
  assertEq((await p4.nextPacket('MEETING_USERS')).content_type, 'MEETING_USERS', 'the participant joined');
  // The node's endpoint takes a host token of the meeting only.
  const nodeHttp = `http://127.0.0.1:${node.httpPort}`;
  await expect(401, nodeHttp, 'POST', '/meetings/end', { body: { token: pj4.join_token } });
  await expect(400, nodeHttp, 'POST', '/meetings/end', { body: {} });
  const endAns = (await expect(200, url, 'POST', `/meetings/${m4.meeting_id}/end`, { token: host })).json;
  assertEq([endAns.status, endAns.node_ended], ['ended', true], 'ended, and the node ended it too');
  for (const c of [h4, p4]) {
    let got;
    for (let i = 0; i < 20 && !got; i++) {
      const msg = await c.nextPacket('END');
      if (msg.content_type === 'END') got = msg;
    }
    assertEq(got, { meeting_id: m4.meeting_id, content_type: 'END' }, `${c.label} got END from the node`);
  }
  await expect(404, nodeHttp, 'POST', '/meetings/end', { body: { token: m4.join_token } });
  const n4 = (await expect(200, url, 'GET', '/nodes', { token: ctx.nodeKey })).json.nodes.find((x) => x.node_id === reg.node_id);
  assertEq(n4.meetings, 0, 'the node\'s load is freed once');

  // Nobody needs to call DELETE: with --meeting-retention 1 the housekeeping deletes an ended
  // meeting (no recording pending) a second after its end; its conference stays.
  const kept = await ctx.startControl(['--meeting-retention', '1']);
  const m2 = (await expect(201, kept.url, 'POST', '/meetings', { token: host, body: {} })).json;
  await expect(200, kept.url, 'POST', `/meetings/${m2.meeting_id}/end`, { token: host });
  let gone = false;
  for (let i = 0; i < 60 && !gone; i++) {
    await sleep(250);
    gone = ctx.pg.sql(`SELECT count(*) FROM meetings WHERE id = '${m2.meeting_id}'`)[0][0] === '0';
  }
  assert(gone, 'the ended meeting is deleted by the housekeeping');
  assertEq(ctx.pg.sql(`SELECT count(*) FROM conferences WHERE id = '${m2.conference_id}'`)[0][0], '1', 'its conference stays');

  // A node registers when it starts: nobody is connected to it any more, but its live meetings
  // stay live so that their people can reconnect (the web app's Reconnect; web_gallery).
  const m3 = (await expect(201, url, 'POST', '/meetings', { token: host, body: {} })).json;
  assertEq(m3.node_id, reg.node_id, 'the third meeting is on the node too');
  await expect(200, url, 'POST', `/meetings/${m3.meeting_id}/joined`, { token: ctx.nodeKey, body: { account_id: part.account_id } });
  const before = (await expect(200, url, 'GET', '/nodes', { token: ctx.nodeKey })).json.nodes.find((x) => x.node_id === reg.node_id);
  assertEq([before.meetings, before.participants], [1, 1], 'the meeting and its participant are counted');
  const again = (await expect(200, url, 'POST', '/nodes/register', { token: ctx.nodeKey,
    body: { name: reg.name, signaling_url: reg.signaling_url } })).json;
  assertEq(again.node_id, reg.node_id, 'a restart keeps the node id');
  assertEq(ctx.pg.sql(`SELECT status, participants FROM meetings WHERE id = '${m3.meeting_id}'`)[0], ['live', '0'],
    'registering again keeps the meeting live, with nobody in it');
  assertEq(ctx.pg.sql(`SELECT count(*) FROM participants WHERE meeting_id = '${m3.meeting_id}' AND left_at IS NULL`)[0][0], '0',
    'whoever was present has left');
  const n3 = (await expect(200, url, 'GET', '/nodes', { token: ctx.nodeKey })).json.nodes.find((x) => x.node_id === reg.node_id);
  assertEq([n3.meetings, n3.participants], [1, 0], 'its load is the live meeting, nobody in it');
  // The participant reconnects: counted again.
  await expect(200, url, 'POST', `/meetings/${m3.meeting_id}/joined`, { token: ctx.nodeKey, body: { account_id: part.account_id } });
  assertEq(ctx.pg.sql(`SELECT participants FROM meetings WHERE id = '${m3.meeting_id}'`)[0][0], '1', 'a rejoin counts again');
}, { timeoutMs: 120_000 });
