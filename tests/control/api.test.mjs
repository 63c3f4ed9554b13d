// Every account, node and meeting endpoint of parley-control with its error paths, against a
// real PostgreSQL: bad HTTP, bad JSON, missing fields, wrong role, expired and revoked tokens,
// API keys, node credentials, and tenant isolation (tenant B never sees or changes A's rows).
import crypto from 'node:crypto';
import net from 'node:net';
import { assert, assertEq, call, expect, runTest, sleep } from './lib.mjs';

// Sends raw bytes on a fresh connection; resolves with everything the server wrote.
function rawHttp(url, bytes) {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const s = net.connect(Number(port), hostname);
    let out = '';
    s.on('data', (d) => { out += d; });
    s.on('end', () => resolve(out));
    s.on('error', reject);
    s.write(bytes);
    s.setTimeout(5000, () => { s.destroy(); resolve(out); });
  });
}

function signJwt(claims, secret) {
  const enc = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const body = `${enc({ alg: 'HS256', typ: 'JWT' })}.${enc(claims)}`;
  return `${body}.${crypto.createHmac('sha256', secret).update(body).digest('base64url')}`;
}

function verifyJwt(token, secret) {
  const [h, c, sig] = token.split('.');
  const want = crypto.createHmac('sha256', secret).update(`${h}.${c}`).digest('base64url');
  assertEq(sig, want, 'join token signature');
  return JSON.parse(Buffer.from(c, 'base64url').toString());
}

runTest('control_api', async (ctx) => {
  await ctx.startPostgres();
  const { url } = await ctx.startControl(['--node-timeout', '3']);
  const node = ctx.nodeKey;

  ctx.log('health, routing, HTTP errors');
  assertEq((await expect(200, url, 'GET', '/healthz')).json, { status: 'ok' }, 'healthz');
  assertEq((await expect(200, url, 'GET', '/readyz')).json, { status: 'ready' }, 'readyz');
  assert((await expect(404, url, 'GET', '/nope')).json.error, '404 has an error message');
  await expect(405, url, 'DELETE', '/healthz');
  await expect(404, url, 'GET', '/meetings/..%2f..');
  let raw = await rawHttp(url, 'GARBAGE\r\n\r\n');
  assert(raw.startsWith('HTTP/1.1 400 '), `malformed request gets 400: ${raw}`);
  raw = await rawHttp(url, 'POST /tenants HTTP/1.1\r\nHost: x\r\nContent-Length: 999999\r\n\r\n');
  assert(raw.startsWith('HTTP/1.1 413 '), `oversized body gets 413: ${raw}`);
  raw = await rawHttp(url, 'POST /tenants HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n');
  assert(raw.startsWith('HTTP/1.1 501 '), `chunked gets 501: ${raw}`);
  raw = await rawHttp(url, `GET /healthz HTTP/1.1\r\nX: ${'a'.repeat(20000)}\r\n\r\n`);
  assert(raw.startsWith('HTTP/1.1 431 '), `huge header gets 431: ${raw.slice(0, 40)}`);
  // Keep-alive with two pipelined requests, then close.
  raw = await rawHttp(url, 'GET /healthz HTTP/1.1\r\n\r\nGET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n');
  assertEq(raw.split('HTTP/1.1 200 OK').length - 1, 2, 'two pipelined answers');

  ctx.log('tenants and sign-up');
  await expect(400, url, 'POST', '/tenants', { raw: '{"tenant_name":', headers: { 'content-type': 'application/json' } });
  await expect(400, url, 'POST', '/tenants', { body: [1, 2] });
  await expect(400, url, 'POST', '/tenants', { body: { email: 'a@a.test', password: 'password1' } });
  await expect(400, url, 'POST', '/tenants', { body: { tenant_name: 'A', password: 'password1' } });
  await expect(400, url, 'POST', '/tenants', { body: { tenant_name: 'A', email: 'a@a.test', password: 'short' } });
  await expect(400, url, 'POST', '/tenants', { body: { tenant_name: 'A', email: 'nope', password: 'password1' } });
  await expect(400, url, 'POST', '/tenants', { body: { tenant_name: 7, email: 'a@a.test', password: 'password1' } });
  const ta = (await expect(201, url, 'POST', '/tenants', { body: { tenant_name: 'A', email: 'admin@a.test', password: 'password-a' } })).json;
  const tb = (await expect(201, url, 'POST', '/tenants', { body: { tenant_name: 'B', email: 'admin@b.test', password: 'password-b' } })).json;
  assert(ta.tenant_id && ta.account_id && ta.role === 'admin', 'tenant A created with an admin');
  await expect(409, url, 'POST', '/tenants', { body: { tenant_name: 'C', email: 'ADMIN@a.test', password: 'password-c' } });
  const [pwHash] = ctx.pg.sql(`SELECT password_hash FROM accounts WHERE id = '${ta.account_id}'`)[0];
  assert(pwHash.startsWith('scrypt$') && !pwHash.includes('password-a'), 'password stored as scrypt hash');

  ctx.log('login, several tokens, logout, expiry');
  await expect(400, url, 'POST', '/auth/login', { body: { email: 'admin@a.test' } });
  await expect(401, url, 'POST', '/auth/login', { body: { email: 'admin@a.test', password: 'wrong-pass' } });
  await expect(401, url, 'POST', '/auth/login', { body: { email: 'nobody@a.test', password: 'password-a' } });
  await expect(400, url, 'POST', '/auth/login', { body: { email: 'admin@a.test', password: 'password-a', ttl_seconds: 0 } });
  const login = async (email, password, extra = {}) =>
    (await expect(200, url, 'POST', '/auth/login', { body: { email, password, ...extra } })).json.token;
  const a1 = await login('admin@a.test', 'password-a');
  const a2 = await login('admin@a.test', 'password-a');
  const b1 = await login('admin@b.test', 'password-b');
  const [stored] = ctx.pg.sql(`SELECT count(*) FROM auth_tokens WHERE token_hash = '${a1}'`)[0];
  assertEq(stored, '0', 'the token itself is not stored');
  await expect(401, url, 'GET', '/me');
  await expect(401, url, 'GET', '/me', { token: 'plt_forged' });
  assertEq((await expect(200, url, 'GET', '/me', { token: a1 })).json.tenant_id, ta.tenant_id, 'me');
  await expect(204, url, 'POST', '/auth/logout', { token: a2 });
  await expect(401, url, 'GET', '/me', { token: a2 });
  await expect(200, url, 'GET', '/me', { token: a1 });
  const short = await login('admin@a.test', 'password-a', { ttl_seconds: 1 });
  await expect(200, url, 'GET', '/me', { token: short });
  await sleep(2100);
  await expect(401, url, 'GET', '/me', { token: short });

  ctx.log('accounts and roles');
  await expect(400, url, 'POST', '/accounts', { token: a1, body: { email: 'h@a.test', password: 'password-h', role: 'king' } });
  await expect(400, url, 'POST', '/accounts', { token: a1, body: { email: 'h@a.test', password: 'password-h' } });
  const hostA = (await expect(201, url, 'POST', '/accounts', { token: a1, body: { email: 'host@a.test', password: 'password-h', role: 'host', name: 'Hal' } })).json;
  const partA = (await expect(201, url, 'POST', '/accounts', { token: a1, body: { email: 'part@a.test', password: 'password-p', role: 'participant' } })).json;
  await expect(409, url, 'POST', '/accounts', { token: a1, body: { email: 'part@a.test', password: 'password-p', role: 'participant' } });
  const hA = await login('host@a.test', 'password-h');
  const pA = await login('part@a.test', 'password-p');
  await expect(403, url, 'POST', '/accounts', { token: pA, body: { email: 'x@a.test', password: 'password-x', role: 'admin' } });
  await expect(403, url, 'POST', '/accounts', { token: hA, body: { email: 'x@a.test', password: 'password-x', role: 'admin' } });
  await expect(403, url, 'GET', '/accounts', { token: pA });
  const listA = (await expect(200, url, 'GET', '/accounts', { token: a1 })).json.accounts;
  assertEq(listA.map((a) => a.email).sort(), ['admin@a.test', 'host@a.test', 'part@a.test'], 'A lists its own accounts');
  const listB = (await expect(200, url, 'GET', '/accounts', { token: b1 })).json.accounts;
  assertEq(listB.map((a) => a.email), ['admin@b.test'], 'B sees only its own accounts');

  ctx.log('API keys');
  await expect(403, url, 'POST', '/api-keys', { token: hA, body: {} });
  const key = (await expect(201, url, 'POST', '/api-keys', { token: a1, body: { name: 'backend' } })).json;
  assert(key.key.startsWith('plk_') && key.id, 'key returned once');
  assertEq(ctx.pg.sql(`SELECT count(*) FROM api_keys WHERE key_hash = '${key.key}'`)[0][0], '0', 'key stored hashed');
  assertEq((await expect(200, url, 'GET', '/me', { token: key.key })).json.tenant_id, ta.tenant_id, 'key acts in its tenant');
  const keysA = (await expect(200, url, 'GET', '/api-keys', { token: a1 })).json.api_keys;
  assertEq(keysA.length, 1, 'one key listed');
  assert(!('key' in keysA[0]), 'list never shows the key');
  assertEq((await expect(200, url, 'GET', '/api-keys', { token: b1 })).json.api_keys, [], 'B sees no keys of A');
  await expect(404, url, 'DELETE', `/api-keys/${key.id}`, { token: b1 });
  await expect(200, url, 'GET', '/me', { token: key.key });
  await expect(400, url, 'POST', '/auth/logout', { token: key.key });

  ctx.log('meetings before any node: 503');
  await expect(503, url, 'POST', '/meetings', { token: hA, body: { title: 'none' } });

  ctx.log('nodes');
  await expect(401, url, 'POST', '/nodes/register', { body: { name: 'n1', signaling_url: 'ws://127.0.0.1:1/ws' } });
  await expect(401, url, 'POST', '/nodes/register', { token: a1, body: { name: 'n1', signaling_url: 'ws://127.0.0.1:1/ws' } });
  await expect(400, url, 'POST', '/nodes/register', { token: node, body: { name: 'n1' } });
  await expect(400, url, 'POST', '/nodes/register', { token: node, body: { name: 'n1', signaling_url: 'http://x' } });
  const n1 = (await expect(200, url, 'POST', '/nodes/register', { token: node, body: { name: 'n1', signaling_url: 'ws://127.0.0.1:7001/ws' } })).json;
  assert(n1.node_id && n1.heartbeat_interval_s >= 1, 'register returns the node id and interval');
  const again = (await expect(200, url, 'POST', '/nodes/register', { token: node, body: { name: 'n1', signaling_url: 'ws://127.0.0.1:7001/ws' } })).json;
  assertEq(again.node_id, n1.node_id, 're-registering keeps the id');
  await expect(404, url, 'POST', '/nodes/nope/heartbeat', { token: node, body: {} });
  await expect(400, url, 'POST', `/nodes/${n1.node_id}/heartbeat`, { token: node, body: { meetings: -1 } });
  await expect(400, url, 'POST', `/nodes/${n1.node_id}/heartbeat`, { token: node, body: { draining: 'yes' } });
  await expect(401, url, 'POST', `/nodes/${n1.node_id}/heartbeat`, { token: hA, body: {} });
  await expect(200, url, 'POST', `/nodes/${n1.node_id}/heartbeat`, { token: node, body: { meetings: 0, participants: 0 } });
  await expect(401, url, 'GET', '/nodes', { token: a1 });

  ctx.log('meetings: create, get, isolation');
  await expect(403, url, 'POST', '/meetings', { token: pA, body: { title: 'p' } });
  await expect(400, url, 'POST', '/meetings', { token: hA, body: { title: 5 } });
  const m = (await expect(201, url, 'POST', '/meetings', { token: hA, body: { title: 'standup' } })).json;
  assertEq(m.node_id, n1.node_id, 'placed on the only node');
  assertEq(m.signaling_url, 'ws://127.0.0.1:7001/ws', 'signaling URL returned');
  const claims = verifyJwt(m.join_token, ctx.tokenSecret);
  assertEq([claims.meeting_id, claims.account_id, claims.tenant_id, claims.role],
    [m.meeting_id, hostA.account_id, ta.tenant_id, 'host'], 'host join token claims');
  assert(claims.exp > Date.now() / 1000, 'join token not expired');
  assertEq((await expect(200, url, 'GET', `/meetings/${m.meeting_id}`, { token: pA })).json.title, 'standup', 'A participant sees it');
  await expect(404, url, 'GET', `/meetings/${m.meeting_id}`, { token: b1 });
  assertEq((await expect(200, url, 'GET', '/meetings', { token: b1 })).json.meetings, [], 'B lists no meetings of A');
  assertEq((await expect(200, url, 'GET', '/meetings', { token: pA })).json.meetings.length, 1, 'A lists its meeting');

  ctx.log('join tokens');
  const self = (await expect(200, url, 'POST', `/meetings/${m.meeting_id}/join`, { token: pA })).json;
  assertEq(verifyJwt(self.join_token, ctx.tokenSecret).role, 'participant', 'participant token for self');
  assertEq(verifyJwt(self.join_token, ctx.tokenSecret).account_id, partA.account_id, 'for the caller');
  const hostSelf = (await expect(200, url, 'POST', `/meetings/${m.meeting_id}/join`, { token: hA })).json;
  assertEq(hostSelf.role, 'host', 'the host gets a host token');
  const forP = (await expect(200, url, 'POST', `/meetings/${m.meeting_id}/join`, { token: hA, body: { account_id: partA.account_id } })).json;
  assertEq(verifyJwt(forP.join_token, ctx.tokenSecret).account_id, partA.account_id, 'host mints for another');
  await expect(403, url, 'POST', `/meetings/${m.meeting_id}/join`, { token: pA, body: { account_id: hostA.account_id } });
  await expect(403, url, 'POST', `/meetings/${m.meeting_id}/join`, { token: pA, body: { role: 'host' } });
  await expect(400, url, 'POST', `/meetings/${m.meeting_id}/join`, { token: pA, body: { role: 'recorder' } });
  await expect(404, url, 'POST', `/meetings/${m.meeting_id}/join`, { token: hA, body: { account_id: tb.account_id } });
  await expect(404, url, 'POST', `/meetings/${m.meeting_id}/join`, { token: b1 });

  ctx.log("a guest link's page learns its meeting and node from the join token alone");
  const g = (await expect(200, url, 'POST', '/guest/meeting', { body: { join_token: forP.join_token } })).json;
  assertEq([g.meeting_id, g.title, g.status, g.account_id, g.role],
    [m.meeting_id, 'standup', 'live', partA.account_id, 'participant'], 'the guest answer');
  assertEq(g.signaling_url, m.signaling_url, "the meeting's node, from the database");
  const pClaims = verifyJwt(forP.join_token, ctx.tokenSecret);
  const forged = signJwt(pClaims, `${ctx.tokenSecret}x`);
  assert((await expect(401, url, 'POST', '/guest/meeting', { body: { join_token: forged } })).json.error.includes('join token refused'),
    'a token signed with another secret is refused, saying why');
  await expect(401, url, 'POST', '/guest/meeting', { body: { join_token: signJwt({ ...pClaims, exp: 1000 }, ctx.tokenSecret) } });
  await expect(404, url, 'POST', '/guest/meeting', { body: { join_token: signJwt({ ...pClaims, tenant_id: tb.tenant_id }, ctx.tokenSecret) } });
  await expect(400, url, 'POST', '/guest/meeting', { body: {} });
  await expect(400, url, 'POST', '/guest/meeting', { raw: '{"join_token":', headers: { 'content-type': 'application/json' } });

  ctx.log('join/leave reports move the loads');
  const loads = async () => (await expect(200, url, 'GET', '/nodes', { token: node })).json.nodes[0];
  assertEq([(await loads()).meetings, (await loads()).participants], [1, 0], 'one meeting reserved');
  await expect(401, url, 'POST', `/meetings/${m.meeting_id}/joined`, { token: hA, body: { account_id: 'x' } });
  await expect(400, url, 'POST', `/meetings/${m.meeting_id}/joined`, { token: node, body: {} });
  await expect(404, url, 'POST', '/meetings/nope/joined', { token: node, body: { account_id: 'x' } });
  await expect(200, url, 'POST', `/meetings/${m.meeting_id}/joined`, { token: node, body: { account_id: hostA.account_id } });
  const dup = (await expect(200, url, 'POST', `/meetings/${m.meeting_id}/joined`, { token: node, body: { account_id: hostA.account_id } })).json;
  assertEq(dup.counted, false, 'a repeated join is not counted twice');
  await expect(200, url, 'POST', `/meetings/${m.meeting_id}/joined`, { token: node, body: { account_id: partA.account_id } });
  assertEq((await loads()).participants, 2, 'two participants');
  await expect(200, url, 'POST', `/meetings/${m.meeting_id}/left`, { token: node, body: { account_id: partA.account_id } });
  assertEq((await loads()).participants, 1, 'one left');
  assertEq((await expect(200, url, 'GET', `/meetings/${m.meeting_id}`, { token: hA })).json.participants, 1, 'meeting count');

  ctx.log('end and delete');
  await expect(409, url, 'DELETE', `/meetings/${m.meeting_id}`, { token: hA });
  await expect(403, url, 'POST', `/meetings/${m.meeting_id}/end`, { token: pA });
  await expect(404, url, 'POST', `/meetings/${m.meeting_id}/end`, { token: b1 });
  await expect(200, url, 'POST', `/meetings/${m.meeting_id}/end`, { token: hA });
  await expect(409, url, 'POST', `/meetings/${m.meeting_id}/end`, { token: hA });
  await expect(409, url, 'POST', `/meetings/${m.meeting_id}/end`, { token: node, body: { meeting_id: m.meeting_id, ended_by: 'x', ended_at: '2026-11-23T15:00:00Z' } });
  assertEq([(await loads()).meetings, (await loads()).participants], [0, 0], 'end frees the node');
  await expect(409, url, 'POST', `/meetings/${m.meeting_id}/join`, { token: pA });
  await expect(404, url, 'DELETE', `/meetings/${m.meeting_id}`, { token: b1 });
  await expect(403, url, 'DELETE', `/meetings/${m.meeting_id}`, { token: pA });
  await expect(204, url, 'DELETE', `/meetings/${m.meeting_id}`, { token: hA });
  await expect(404, url, 'GET', `/meetings/${m.meeting_id}`, { token: hA });

  ctx.log('the node ends a meeting authoritatively (its exact request)');
  const m2 = (await expect(201, url, 'POST', '/meetings', { token: key.key, body: {} })).json;
  assertEq(m2.host_account_id, ta.account_id, 'an API key creates as its admin');
  await expect(401, url, 'POST', `/meetings/${m2.meeting_id}/end`, { body: { meeting_id: m2.meeting_id } });
  const ended = await expect(200, url, 'POST', `/meetings/${m2.meeting_id}/end`, { token: node,
    body: { meeting_id: m2.meeting_id, ended_by: ta.account_id, ended_at: '2026-11-23T15:00:00Z' } });
  assertEq(ended.json.status, 'ended', 'node end');
  assertEq(ctx.pg.sql(`SELECT ended_by FROM meetings WHERE id = '${m2.meeting_id}'`)[0][0], ta.account_id, 'ended_by kept');
  await expect(204, url, 'DELETE', `/meetings/${m2.meeting_id}`, { token: node });

  ctx.log('draining and dead nodes get nothing');
  const n2 = (await expect(200, url, 'POST', '/nodes/register', { token: node, body: { name: 'n2', signaling_url: 'ws://127.0.0.1:7002/ws' } })).json;
  await expect(200, url, 'POST', `/nodes/${n1.node_id}/heartbeat`, { token: node, body: { draining: true } });
  for (let i = 0; i < 3; i++) {
    const x = (await expect(201, url, 'POST', '/meetings', { token: hA, body: {} })).json;
    assertEq(x.node_id, n2.node_id, 'a draining node gets no meeting');
  }
  await sleep(3500); // n2 misses heartbeats for longer than --node-timeout 3; n1 drains
  await expect(503, url, 'POST', '/meetings', { token: hA, body: {} });
  await expect(200, url, 'POST', `/nodes/${n1.node_id}/heartbeat`, { token: node, body: { draining: false } });
  assertEq((await expect(201, url, 'POST', '/meetings', { token: hA, body: {} })).json.node_id, n1.node_id, 'back to n1');

  ctx.log('rate limits per key and per address; nodes are not limited');
  const limited = await ctx.startControl(['--rate-key', '1', '--rate-ip', '5']);
  const codes = [];
  for (let i = 0; i < 4; i++) codes.push((await call(limited.url, 'GET', '/me', { token: a1 })).status);
  assertEq(codes.slice(0, 2), [200, 200], 'the burst passes');
  assert(codes.slice(2).includes(429), `then the key is limited: ${codes}`);
  const tooMany = await call(limited.url, 'GET', '/me', { token: a1 });
  assertEq(tooMany.status, 429, 'still limited');
  assertEq(tooMany.headers.get('retry-after'), '1', 'Retry-After');
  await expect(200, limited.url, 'GET', '/me', { token: b1 }); // another key has its own bucket
  for (let i = 0; i < 20; i++) await expect(200, limited.url, 'GET', '/nodes', { token: node });
  const ipCodes = [];
  for (let i = 0; i < 12; i++) ipCodes.push((await call(limited.url, 'GET', '/healthz')).status);
  assert(ipCodes.includes(429), `the address is limited: ${ipCodes}`);
  await sleep(2100);
  await expect(200, limited.url, 'GET', '/me', { token: a1 });

  ctx.log('a silent or slow connection is closed');
  const idle = await ctx.startControl(['--idle-timeout', '1']);
  const started = Date.now();
  raw = await rawHttp(idle.url, 'GET /healthz HTTP/1.1\r\nHost: x\r\n');
  assertEq(raw, '', 'no answer to half a request');
  assert(Date.now() - started < 4500, 'closed by the server, not by the client timeout');

  ctx.log('revoking an API key');
  await expect(200, url, 'DELETE', `/api-keys/${key.id}`, { token: a1 });
  await expect(401, url, 'GET', '/me', { token: key.key });
});
