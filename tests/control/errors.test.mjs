// Issue 7, acceptance 1, 2 and /readyz: a table of every endpoint of docs/api.md walked for its
// error paths (no token, a garbage token, an expired login token (ttl_seconds 1) → 401; a role
// too low → 403; a user token on a node endpoint → 401; bad JSON → 400 with a JSON error;
// missing required fields → 400), then a tenant isolation matrix: tenant A's admin and host
// get 404 on every id of tenant B (meetings, recordings, recipients, record, record/stop,
// download-url, join, end, delete, api-keys, webhooks, B's accounts as join targets), A's
// lists never show B's rows, the inbound recording-started webhook naming B's conference under
// A's tenant is refused, and B's rows are unchanged afterwards (SQL). Last, PostgreSQL is
// stopped and /readyz answers 503.
import { assert, assertEq, call, expect, runTest, sleep } from './lib.mjs';

runTest('control_errors', async (ctx) => {
  await ctx.startPostgres();
  const { url } = await ctx.startControl(['--outbox-interval-ms', '0']);
  const node = ctx.nodeKey;
  const rec = await ctx.fakeRecorder();
  await expect(200, url, 'POST', '/nodes/register', { token: node, body: { name: 'n1', signaling_url: rec.wsUrl } });
  const nodeId = (await expect(200, url, 'GET', '/nodes', { token: node })).json.nodes[0].node_id;

  const login = async (email, password, ttl) => (await expect(200, url, 'POST', '/auth/login',
    { body: { email, password, ...(ttl ? { ttl_seconds: ttl } : {}) } })).json.token;
  const tenant = async (t) => {
    const x = (await expect(201, url, 'POST', '/tenants', { body: { tenant_name: t, email: `admin@${t}.test`, password: 'password-1' } })).json;
    const admin = await login(`admin@${t}.test`, 'password-1');
    const mk = async (role) => (await expect(201, url, 'POST', '/accounts', { token: admin,
      body: { email: `${role}@${t}.test`, password: 'password-2', role } })).json.account_id;
    const hostId = await mk('host'), partId = await mk('participant');
    return { ...x, admin, hostId, partId, host: await login(`host@${t}.test`, 'password-2'),
      part: await login(`participant@${t}.test`, 'password-2') };
  };
  const A = await tenant('a'), B = await tenant('b');
  const expired = await login('admin@a.test', 'password-1', 1);

  // B's rows: a live meeting with an active recording (B's host and participant recipients),
  // a complete recording of an ended meeting, an API key and a webhook endpoint.
  const started = async (m, r, T) => expect(200, url, 'POST', '/recordings/webhook/recording-started', { token: node, body: { event: 'recording.started', data: {
    recording_id: r, conference_id: m.conference_id, tenant_id: T.tenant_id, session_id: m.session_id, recording_url: 'file:///x.mp4',
    title: 't', start_time: '2026-11-23T15:00:00Z', host_user_id: T.hostId, host_user_name: 'H' } } });
  const bDone = (await expect(201, url, 'POST', '/meetings', { token: B.host, body: { title: 'B done' } })).json;
  const bDoneRec = (await expect(201, url, 'POST', `/meetings/${bDone.meeting_id}/record`, { token: B.host })).json.recording_id;
  await started(bDone, bDoneRec, B);
  await expect(200, url, 'POST', `/recordings/${bDoneRec}/completed`, { token: node, body: { size_bytes: 10, duration_seconds: 1 } });
  await expect(200, url, 'POST', `/meetings/${bDone.meeting_id}/end`, { token: B.host });
  const bm = (await expect(201, url, 'POST', '/meetings', { token: B.host, body: { title: 'B live' } })).json;
  const bRec = (await expect(201, url, 'POST', `/meetings/${bm.meeting_id}/record`, { token: B.host })).json.recording_id;
  await expect(200, url, 'POST', `/meetings/${bm.meeting_id}/record`, { token: B.part });
  await started(bm, bRec, B);
  const bKey = (await expect(201, url, 'POST', '/api-keys', { token: B.admin, body: { name: 'b' } })).json;
  const bHook = (await expect(201, url, 'POST', '/webhooks', { token: B.admin, body: { url: 'http://127.0.0.1:9/h' } })).json;
  // A's own meeting, for the endpoints whose id must exist to reach the role check.
  const am = (await expect(201, url, 'POST', '/meetings', { token: A.host, body: { title: 'A' } })).json;
  const aRec = (await expect(201, url, 'POST', `/meetings/${am.meeting_id}/record`, { token: A.host })).json.recording_id;

  ctx.log('every endpoint: credentials, role, bad JSON, missing fields');
  // auth: none | user | node | both (node or user); role: the lowest allowed user role;
  // body: takes a JSON body; missing: a body lacking a required field (400).
  const M = am.meeting_id;
  const table = [
    { m: 'POST', p: '/tenants', auth: 'none', body: true, missing: { email: 'x@y.test', password: 'password-1' } },
    { m: 'POST', p: '/auth/login', auth: 'none', body: true, missing: { email: 'admin@a.test' } },
    { m: 'POST', p: '/auth/logout', auth: 'user' },
    { m: 'GET', p: '/me', auth: 'user' },
    { m: 'POST', p: '/accounts', auth: 'user', role: 'admin', body: true, missing: { email: 'n@a.test', password: 'password-1' } },
    { m: 'GET', p: '/accounts', auth: 'user', role: 'admin' },
    { m: 'POST', p: '/api-keys', auth: 'user', role: 'admin', body: true },
    { m: 'GET', p: '/api-keys', auth: 'user', role: 'admin' },
    { m: 'DELETE', p: '/api-keys/nokey', auth: 'user', role: 'admin' },
    { m: 'POST', p: '/nodes/register', auth: 'node', body: true, missing: { name: 'x' } },
    { m: 'POST', p: `/nodes/${nodeId}/heartbeat`, auth: 'node', body: true },
    { m: 'GET', p: '/nodes', auth: 'node' },
    { m: 'POST', p: '/meetings', auth: 'user', role: 'host', body: true },
    { m: 'GET', p: '/meetings', auth: 'user' },
    { m: 'GET', p: `/meetings/${M}`, auth: 'user' },
    { m: 'POST', p: `/meetings/${M}/join`, auth: 'user', body: true },
    { m: 'POST', p: `/meetings/${M}/joined`, auth: 'node', body: true, missing: {} },
    { m: 'POST', p: `/meetings/${M}/left`, auth: 'node', body: true, missing: {} },
    { m: 'POST', p: `/meetings/${M}/end`, auth: 'both', role: 'host', body: true },
    { m: 'DELETE', p: `/meetings/${M}`, auth: 'both', role: 'host' },
    { m: 'POST', p: `/meetings/${M}/record`, auth: 'user' },
    { m: 'POST', p: `/meetings/${M}/record/stop`, auth: 'user', role: 'host' },
    { m: 'GET', p: `/meetings/${M}/recipients`, auth: 'user' },
    { m: 'POST', p: '/recordings/webhook/recording-started', auth: 'node', body: true, missing: { event: 'recording.started', data: {} }, contract: true },
    { m: 'POST', p: `/recordings/${aRec}/completed`, auth: 'node', body: true },
    { m: 'POST', p: `/recordings/${aRec}/progress`, auth: 'node' },
    { m: 'GET', p: '/recordings', auth: 'user' },
    { m: 'GET', p: `/recordings/${aRec}`, auth: 'user' },
    { m: 'POST', p: `/recordings/${aRec}/download-url`, auth: 'user' },
    { m: 'POST', p: '/webhooks', auth: 'user', role: 'admin', body: true, missing: {} },
    { m: 'GET', p: '/webhooks', auth: 'user', role: 'admin' },
    { m: 'DELETE', p: '/webhooks/nohook', auth: 'user', role: 'admin' },
  ];
  await sleep(1500); // the ttl_seconds 1 token has expired
  const failures = [];
  const want = async (status, e, opts, what) => {
    const r = await call(url, e.m, e.p, opts);
    if (r.status !== status) failures.push(`${e.m} ${e.p} ${what}: got ${r.status} ${r.text}, want ${status}`);
    else if (e.contract && status !== 200) {
      if (r.json?.status !== 'failure') failures.push(`${e.m} ${e.p} ${what}: not the original failure body: ${r.text}`);
    } else if (status >= 400 && typeof r.json?.error !== 'string') failures.push(`${e.m} ${e.p} ${what}: no JSON error: ${r.text}`);
  };
  for (const e of table) {
    if (e.auth !== 'none') {
      await want(401, e, {}, 'no token');
      await want(401, e, { token: 'plt_' + '0'.repeat(64) }, 'unknown token');
      await want(401, e, { token: expired }, 'expired token');
    }
    if (e.auth === 'node') await want(401, e, { token: A.admin }, 'a user token on a node endpoint');
    if (e.auth === 'user' || e.auth === 'both') {
      if (e.role === 'admin') await want(403, e, { token: A.host }, 'host on an admin endpoint');
      if (e.role) await want(403, e, { token: A.part }, 'participant');
    }
    // A user's END has no body (docs/api.md): the node's body is the one parsed.
    const tok = e.auth === 'node' || e.auth === 'both' ? node : e.auth === 'none' ? undefined : A.admin;
    if (e.body) {
      await want(400, e, { token: tok, raw: '{"a":', headers: { 'content-type': 'application/json' } }, 'bad JSON');
      await want(400, e, { token: tok, raw: '[1]', headers: { 'content-type': 'application/json' } }, 'not an object');
    }
    if (e.missing) await want(400, e, { token: tok, body: e.missing }, 'missing field');
  }
  assert(failures.length === 0, `endpoints misbehaving:\n  ${failures.join('\n  ')}`);
  // The expired token is refused for its age, not its form: a fresh one of the same account works.
  await expect(200, url, 'GET', '/me', { token: A.admin });

  ctx.log('tenant isolation: A\'s admin and host on B\'s ids');
  const snapshot = () => ({
    meetings: ctx.pg.sql(`SELECT id, status, recording, participants, ended_at IS NULL FROM meetings WHERE tenant_id = '${B.tenant_id}' ORDER BY id`),
    recordings: ctx.pg.sql(`SELECT id, status, file_path FROM recordings WHERE tenant_id = '${B.tenant_id}' ORDER BY id`),
    recipients: ctx.pg.sql(`SELECT recording_id, account_id FROM recipients rc JOIN accounts a ON a.id = rc.account_id ORDER BY 1, 2`),
    keys: ctx.pg.sql(`SELECT id, revoked_at IS NULL FROM api_keys WHERE tenant_id = '${B.tenant_id}'`),
    hooks: ctx.pg.sql(`SELECT id, url FROM webhook_endpoints WHERE tenant_id = '${B.tenant_id}'`),
    sessions: ctx.pg.sql(`SELECT s.id, s.recording_url FROM sessions s JOIN conferences c ON c.id = s.conference_id WHERE c.tenant_id = '${B.tenant_id}' ORDER BY 1`),
    accounts: ctx.pg.sql(`SELECT id, email, role FROM accounts WHERE tenant_id = '${B.tenant_id}' ORDER BY id`),
  });
  const before = snapshot();
  const recipientsBefore = before.recipients.length;
  const iso = [];
  const no = async (status, m, p, token, body, what) => {
    const r = await call(url, m, p, { token, body });
    if (!(Array.isArray(status) ? status : [status]).includes(r.status)) iso.push(`${m} ${p} (${what}): got ${r.status} ${r.text}, want ${status}`);
    return r;
  };
  for (const [who, tok] of [['A admin', A.admin], ['A host', A.host]]) {
    for (const mid of [bm.meeting_id, bDone.meeting_id]) {
      await no(404, 'GET', `/meetings/${mid}`, tok, undefined, who);
      await no(404, 'POST', `/meetings/${mid}/join`, tok, {}, who);
      await no(404, 'POST', `/meetings/${mid}/join`, tok, { account_id: B.partId }, who);
      await no(404, 'POST', `/meetings/${mid}/record`, tok, undefined, who);
      await no(404, 'POST', `/meetings/${mid}/record/stop`, tok, undefined, who);
      await no(404, 'GET', `/meetings/${mid}/recipients`, tok, undefined, who);
      await no(404, 'POST', `/meetings/${mid}/end`, tok, undefined, who);
      await no(404, 'DELETE', `/meetings/${mid}`, tok, undefined, who);
    }
    for (const rid of [bRec, bDoneRec]) {
      await no(404, 'GET', `/recordings/${rid}`, tok, undefined, who);
      await no(404, 'POST', `/recordings/${rid}/download-url`, tok, undefined, who);
    }
    // An account of B is not a join target on A's own meeting either.
    await no(404, 'POST', `/meetings/${am.meeting_id}/join`, tok, { account_id: B.hostId }, who);
    const lists = [
      ['/meetings', 'meetings', (x) => x.meeting_id], ['/recordings', 'recordings', (x) => x.recording_id]];
    if (tok === A.admin) lists.push(['/accounts', 'accounts', (x) => x.account_id], ['/api-keys', 'api_keys', (x) => x.id], ['/webhooks', 'webhooks', (x) => x.id]);
    const bIds = new Set([bm.meeting_id, bDone.meeting_id, bRec, bDoneRec, B.account_id, B.hostId, B.partId, bKey.id, bHook.id]);
    for (const [p, key, id] of lists) {
      const got = (await expect(200, url, 'GET', p, { token: tok })).json[key];
      if (got.some((x) => bIds.has(id(x)))) iso.push(`GET ${p} (${who}) lists B's rows`);
    }
  }
  await no(404, 'DELETE', `/api-keys/${bKey.id}`, A.admin, undefined, 'A admin');
  await no(404, 'DELETE', `/webhooks/${bHook.id}`, A.admin, undefined, 'A admin');
  // An API key of A acts only in A.
  const aKey = (await expect(201, url, 'POST', '/api-keys', { token: A.admin, body: {} })).json.key;
  await no(404, 'GET', `/meetings/${bm.meeting_id}`, aKey, undefined, 'A key');
  await no(404, 'POST', `/meetings/${bm.meeting_id}/end`, aKey, undefined, 'A key');
  await no(404, 'DELETE', `/api-keys/${bKey.id}`, aKey, undefined, 'A key');
  // The node's recording-started webhook naming B's conference under A's tenant: refused.
  const r = await call(url, 'POST', '/recordings/webhook/recording-started', { token: node, body: { event: 'recording.started', data: {
    recording_id: 'cross-tenant-rec', conference_id: bm.conference_id, tenant_id: A.tenant_id, session_id: bm.session_id,
    recording_url: 'file:///evil.mp4', title: 'x', start_time: '2026-11-23T15:00:00Z', host_user_id: A.hostId, host_user_name: 'A' } } });
  if (r.status !== 400 || r.json?.status !== 'failure') iso.push(`recording-started naming B's conference as A: ${r.status} ${r.text}`);
  // ... and B's session under A's tenant with a new conference id.
  const r2 = await call(url, 'POST', '/recordings/webhook/recording-started', { token: node, body: { event: 'recording.started', data: {
    recording_id: 'cross-tenant-rec2', conference_id: 'new-conf', tenant_id: A.tenant_id, session_id: bm.session_id,
    recording_url: 'file:///evil.mp4', title: 'x', start_time: '2026-11-23T15:00:00Z', host_user_id: A.hostId, host_user_name: 'A' } } });
  if (r2.status !== 400) iso.push(`recording-started naming B's session as A: ${r2.status} ${r2.text}`);
  // ... and B's recording id reused under A.
  const am2 = (await expect(201, url, 'POST', '/meetings', { token: A.host, body: { title: 'A2' } })).json;
  const r3 = await call(url, 'POST', '/recordings/webhook/recording-started', { token: node, body: { event: 'recording.started', data: {
    recording_id: bRec, conference_id: am2.conference_id, tenant_id: A.tenant_id, session_id: am2.session_id,
    recording_url: 'file:///evil.mp4', title: 'x', start_time: '2026-11-23T15:00:00Z', host_user_id: A.hostId, host_user_name: 'A' } } });
  if (r3.status !== 400 || r3.json?.status !== 'failure') iso.push(`recording-started reusing B's recording id as A: ${r3.status} ${r3.text}`);
  assertEq(ctx.pg.sql(`SELECT count(*) FROM recordings WHERE id LIKE 'cross-tenant%'`)[0][0], '0', 'no cross-tenant recording made');
  assert(iso.length === 0, `tenant isolation leaks:\n  ${iso.join('\n  ')}`);
  const after = snapshot();
  assertEq(after.recipients.length, recipientsBefore, 'no recipient added to B\'s recordings');
  assertEq(after, before, 'B\'s rows are unchanged');
  // B still works on its own rows.
  await expect(200, url, 'GET', `/meetings/${bm.meeting_id}/recipients`, { token: B.host });
  await expect(200, url, 'POST', `/recordings/${bDoneRec}/download-url`, { token: B.admin });

  ctx.log('/readyz without PostgreSQL');
  assertEq((await expect(200, url, 'GET', '/readyz')).json, { status: 'ready' }, 'ready while the database runs');
  ctx.pg.stop();
  const down = await expect(503, url, 'GET', '/readyz');
  assertEq(down.json, { status: 'unavailable', error: 'database unavailable' }, 'readyz 503 body');
  assertEq((await expect(200, url, 'GET', '/healthz')).json, { status: 'ok' }, 'healthz still 200');
  assertEq((await expect(503, url, 'GET', '/readyz')).json.status, 'unavailable', 'still 503 on a second try');
});
