// Placement under concurrency: two parley-control instances on one database create 200
// meetings at once over 3 registered nodes; each node's recorded load must equal the meetings
// placed on it (and the participants reported in it), the spread stays even, and a node that
// stops heartbeating gets no new meetings, and past --node-lost its live meetings are ended.
import { assert, assertEq, expect, runTest, sleep } from './lib.mjs';

runTest('control_placement', async (ctx) => {
  await ctx.startPostgres();
  // Both start at once: the migrations run once, under the advisory lock.
  // A load test: rate limits off (the api test covers them).
  const flags = ['--node-timeout', '8', '--node-lost', '12', '--rate-ip', '0', '--rate-key', '0'];
  const [c1, c2] = await Promise.all([ctx.startControl(flags), ctx.startControl(flags)]);
  assertEq(ctx.pg.sql('SELECT count(*) FROM schema_migrations')[0][0], '1', 'migrations applied once');
  const node = ctx.nodeKey;

  const t = (await expect(201, c1.url, 'POST', '/tenants', { body: { tenant_name: 'T', email: 'a@t.test', password: 'password-t' } })).json;
  const token = (await expect(200, c2.url, 'POST', '/auth/login', { body: { email: 'a@t.test', password: 'password-t' } })).json.token;

  const nodes = [];
  for (let i = 0; i < 3; i++)
    nodes.push((await expect(200, c1.url, 'POST', '/nodes/register', { token: node,
      body: { name: `node${i}`, signaling_url: `ws://127.0.0.1:${7100 + i}/ws` } })).json.node_id);
  let beating = new Set(nodes);
  let stop = false;
  const heartbeats = (async () => {
    while (!stop) {
      await Promise.all([...beating].map((id) => expect(200, c2.url, 'POST', `/nodes/${id}/heartbeat`, { token: node, body: {} })));
      await sleep(500);
    }
  })();

  ctx.log('200 concurrent creates through two instances');
  const created = await Promise.all(Array.from({ length: 200 }, (_, i) =>
    expect(201, i % 2 ? c1.url : c2.url, 'POST', '/meetings', { token, body: { title: `m${i}` } })));
  const perNode = new Map(nodes.map((id) => [id, 0]));
  for (const r of created) perNode.set(r.json.node_id, perNode.get(r.json.node_id) + 1);
  const list = (await expect(200, c1.url, 'GET', '/nodes', { token: node })).json.nodes;
  for (const n of list) {
    assertEq(n.meetings, perNode.get(n.node_id), `recorded load of ${n.name} equals meetings placed`);
    const [live] = ctx.pg.sql(`SELECT count(*) FROM meetings WHERE node_id = '${n.node_id}' AND status = 'live'`)[0];
    assertEq(Number(live), n.meetings, `${n.name} load equals its live meetings`);
  }
  const counts = [...perNode.values()];
  ctx.log(`spread: ${counts.join(' / ')}`);
  assertEq(counts.reduce((a, b) => a + b, 0), 200, 'all 200 placed');
  // Lowest load first: with at most 8 statements in flight the spread stays within a few.
  assert(Math.max(...counts) - Math.min(...counts) <= 16, `even spread ${counts}`);

  ctx.log('concurrent join/leave reports keep participants exact');
  const ids = created.map((r) => r.json.meeting_id);
  await Promise.all(ids.flatMap((id, i) => [0, 1, 2].map((k) =>
    expect(200, (i + k) % 2 ? c1.url : c2.url, 'POST', `/meetings/${id}/joined`, { token: node, body: { account_id: `u${k}` } }))));
  await Promise.all(ids.map((id, i) =>
    expect(200, i % 2 ? c1.url : c2.url, 'POST', `/meetings/${id}/left`, { token: node, body: { account_id: 'u0' } })));
  // End a quarter of them, from both instances, while others join.
  await Promise.all(ids.slice(0, 50).map((id, i) =>
    expect(200, i % 2 ? c1.url : c2.url, 'POST', `/meetings/${id}/end`, { token: node, body: { meeting_id: id } })));
  for (const n of (await expect(200, c2.url, 'GET', '/nodes', { token: node })).json.nodes) {
    const [m, p] = ctx.pg.sql(`SELECT count(*) FILTER (WHERE status = 'live'), coalesce(sum(participants) FILTER (WHERE status = 'live'), 0) FROM meetings WHERE node_id = '${n.node_id}'`)[0];
    const [present] = ctx.pg.sql(`SELECT count(*) FROM participants p JOIN meetings m ON m.id = p.meeting_id WHERE m.node_id = '${n.node_id}' AND p.left_at IS NULL`)[0];
    assertEq([n.meetings, n.participants], [Number(m), Number(p)], `${n.name} loads after joins, leaves and ends`);
    assertEq(n.participants, Number(present), `${n.name} participants equal those present`);
  }
  const totalP = list.length && (await expect(200, c1.url, 'GET', '/nodes', { token: node })).json.nodes
    .reduce((a, n) => a + n.participants, 0);
  assertEq(totalP, 150 * 2, '150 live meetings with 2 participants each');

  ctx.log('a node that stops heartbeating gets nothing');
  const dead = nodes[2];
  beating = new Set(nodes.slice(0, 2));
  await sleep(9000); // past --node-timeout 8
  const after = await Promise.all(Array.from({ length: 30 }, (_, i) =>
    expect(201, i % 2 ? c1.url : c2.url, 'POST', '/meetings', { token, body: {} })));
  for (const r of after) assert(r.json.node_id !== dead, 'no meeting on the silent node');
  const deadRow = (await expect(200, c1.url, 'GET', '/nodes', { token: node })).json.nodes.find((n) => n.node_id === dead);
  assertEq(deadRow.healthy, false, 'the silent node is reported unhealthy');
  // Past --node-lost 12 the silent node's live meetings are ended (it took them with it) and
  // its load drops to 0; the beating nodes' meetings stay live.
  const liveOn = (id) => Number(ctx.pg.sql(`SELECT count(*) FROM meetings WHERE node_id = '${id}' AND status = 'live'`)[0][0]);
  const before = liveOn(dead);
  assert(before > 0, 'the silent node had live meetings');
  const others = nodes.slice(0, 2).map(liveOn);
  for (let i = 0; i < 60 && liveOn(dead) > 0; i++) await sleep(250);
  assertEq(liveOn(dead), 0, 'the lost node\'s meetings are ended');
  assertEq(Number(ctx.pg.sql(`SELECT count(*) FROM meetings WHERE node_id = '${dead}' AND ended_by = 'node-lost'`)[0][0]), before,
    'each ended by node-lost');
  assertEq(Number(ctx.pg.sql(`SELECT count(*) FROM participants p JOIN meetings m ON m.id = p.meeting_id WHERE m.node_id = '${dead}' AND p.left_at IS NULL`)[0][0]),
    0, 'nobody is left present in them');
  const lostRow = (await expect(200, c1.url, 'GET', '/nodes', { token: node })).json.nodes.find((n) => n.node_id === dead);
  assertEq([lostRow.meetings, lostRow.participants], [0, 0], 'the lost node\'s load is 0');
  assertEq(nodes.slice(0, 2).map(liveOn), others, 'the beating nodes\' meetings stay live');
  stop = true;
  await heartbeats;
  void t;
});
