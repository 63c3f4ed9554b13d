// The recording catalogue of parley-control against a real PostgreSQL: record start (first
// starts, later ones add recipients, one active recording per meeting enforced by the
// database), the node's recording-started webhook with its exact request and response bodies
// (and nothing changed without node credentials), completion, deletion only once no
// recording is pending, signed download URLs with Range (403 on tamper or expiry), stale
// recordings aborted, and tenant isolation on each of these endpoints.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { assert, assertEq, call, expect, runTest, sleep } from './lib.mjs';

const SUCCESS = '{"status":"success","message":"Recording start event received successfully."}';
const FAILURE = '{"status":"failure","message":"Failed to process recording start event."}';

runTest('control_recordings', async (ctx) => {
  await ctx.startPostgres();
  const { url } = await ctx.startControl();
  const node = ctx.nodeKey;
  const login = async (email, password) =>
    (await expect(200, url, 'POST', '/auth/login', { body: { email, password } })).json.token;

  const ta = (await expect(201, url, 'POST', '/tenants', { body: { tenant_name: 'A', email: 'admin@a.test', password: 'password-a' } })).json;
  await expect(201, url, 'POST', '/tenants', { body: { tenant_name: 'B', email: 'admin@b.test', password: 'password-b' } });
  const aA = await login('admin@a.test', 'password-a');
  const bA = await login('admin@b.test', 'password-b');
  const mk = async (email, role) => (await expect(201, url, 'POST', '/accounts', { token: aA, body: { email, password: 'password-x', role } })).json;
  const host = await mk('host@a.test', 'host');
  const part = await mk('part@a.test', 'participant');
  await mk('other@a.test', 'participant');
  const hA = await login('host@a.test', 'password-x');
  const pA = await login('part@a.test', 'password-x');
  const oA = await login('other@a.test', 'password-x');
  const recorder = await ctx.fakeRecorder();
  await expect(200, url, 'POST', '/nodes/register', { token: node, body: { name: 'n1', signaling_url: recorder.wsUrl } });
  const m = (await expect(201, url, 'POST', '/meetings', { token: hA, body: { title: 'Weekly' } })).json;

  ctx.log('record: first starts, later ones add recipients');
  await expect(404, url, 'POST', `/meetings/${m.meeting_id}/record`, { token: bA });
  await expect(404, url, 'POST', '/meetings/nope/record', { token: hA });
  await expect(401, url, 'POST', `/meetings/${m.meeting_id}/record`);
  const first = (await expect(201, url, 'POST', `/meetings/${m.meeting_id}/record`, { token: hA })).json;
  assert(first.started && first.recording_id, 'first request starts');
  const rc = JSON.parse(Buffer.from(first.recorder_token.split('.')[1], 'base64url').toString());
  assertEq([rc.role, rc.meeting_id, rc.tenant_id], ['recorder', m.meeting_id, ta.tenant_id], 'recorder token claims');
  // The node was asked to start, with the recorder token and the recording's ids (the meeting
  // has no host name: an empty optional field is left out, the node refuses empty strings).
  assertEq(recorder.calls, [{ path: '/recordings/start', body: { token: first.recorder_token,
    recording_id: first.recording_id, conference_id: m.conference_id, session_id: m.session_id,
    title: 'Weekly', host_user_id: host.account_id, tenant_name: 'A' } }], 'POST /recordings/start to the node');
  const second = (await expect(200, url, 'POST', `/meetings/${m.meeting_id}/record`, { token: pA })).json;
  assertEq([second.started, second.recording_id, second.recipient_added], [false, first.recording_id, true], 'second request joins');
  await expect(200, url, 'POST', `/meetings/${m.meeting_id}/record`, { token: hA });
  let threw = false;
  try {
    ctx.pg.sql(`INSERT INTO recordings (id, conference_id, meeting_id, tenant_id, status, file_path) SELECT 'x2', conference_id, id, tenant_id, 'starting', '/x' FROM meetings WHERE id = '${m.meeting_id}'`);
  } catch { threw = true; }
  assert(threw, 'the database refuses a second active recording');
  const rcp = (await expect(200, url, 'GET', `/meetings/${m.meeting_id}/recipients`, { token: pA })).json;
  assertEq(rcp.recording_id, first.recording_id, 'recipients of the recording');
  assertEq(rcp.recipients.map((r) => r.email).sort(), ['host@a.test', 'part@a.test'], 'both recipients, once each');
  await expect(404, url, 'GET', `/meetings/${m.meeting_id}/recipients`, { token: bA });

  ctx.log('inbound webhook: exact contract, node credentials');
  const event = { event: 'recording.started', data: {
    recording_id: first.recording_id, conference_id: m.conference_id, tenant_id: ta.tenant_id,
    session_id: m.session_id, recording_url: `https://rec.example/${first.recording_id}.mp4`,
    title: 'Weekly', start_time: '2026-11-23T15:00:00Z', host_user_id: host.account_id,
    host_user_name: 'Hal', tenant_name: 'A' } };
  const hook = '/recordings/webhook/recording-started';
  let r = await call(url, 'POST', hook, { body: event });
  assertEq([r.status, r.text], [401, FAILURE], 'no credentials: failure body');
  r = await call(url, 'POST', hook, { body: event, token: aA });
  assertEq([r.status, r.text], [401, FAILURE], 'user credentials are not node credentials');
  assertEq(ctx.pg.sql(`SELECT status, (SELECT recording_url FROM sessions WHERE id = '${m.session_id}') FROM recordings WHERE id = '${first.recording_id}'`)[0],
    ['starting', ''], 'an unauthenticated call changed nothing');
  r = await call(url, 'POST', hook, { raw: '{"event":', token: node });
  assertEq([r.status, r.text], [400, FAILURE], 'bad JSON: failure body');
  const missing = structuredClone(event); delete missing.data.session_id;
  r = await call(url, 'POST', hook, { body: missing, token: node });
  assertEq([r.status, r.text], [400, FAILURE], 'missing field: failure body');
  const traversal = structuredClone(event); traversal.data.session_id = '../../etc';
  r = await call(url, 'POST', hook, { body: traversal, token: node });
  assertEq([r.status, r.text], [400, FAILURE], 'an id that is not a path component is refused');
  const badTime = structuredClone(event); badTime.data.start_time = 'half past noon';
  r = await call(url, 'POST', hook, { body: badTime, token: node });
  assertEq([r.status, r.text], [400, FAILURE], 'bad start_time: failure body');
  r = await call(url, 'POST', hook, { body: event, token: node });
  assertEq([r.status, r.text], [200, SUCCESS], 'success body, exactly');
  assertEq(ctx.pg.sql(`SELECT status FROM recordings WHERE id = '${first.recording_id}'`)[0][0], 'active', 'recording active');
  assertEq(ctx.pg.sql(`SELECT recording_url FROM sessions WHERE id = '${m.session_id}'`)[0][0], event.data.recording_url, 'session recording_url set');
  // A recording the control plane did not start (tenant_name left out: it is optional).
  const fresh = structuredClone(event);
  Object.assign(fresh.data, { recording_id: 'rec-ext-1', conference_id: 'conf-ext', session_id: 'sess-ext' });
  delete fresh.data.tenant_name;
  r = await call(url, 'POST', hook, { body: fresh, token: node });
  assertEq([r.status, r.text], [200, SUCCESS], 'new conference and session stored');
  assertEq(ctx.pg.sql("SELECT file_path FROM recordings WHERE id = 'rec-ext-1'")[0][0],
    path.join(ctx.recordings, ta.tenant_id, 'conf-ext', 'sess-ext', 'rec-ext-1.mp4'), 'file_path layout');
  const wrongTenant = structuredClone(fresh); wrongTenant.data.tenant_id = 'no-such-tenant';
  Object.assign(wrongTenant.data, { recording_id: 'rec-ext-2' });
  r = await call(url, 'POST', hook, { body: wrongTenant, token: node });
  assertEq([r.status, r.text], [400, FAILURE], 'unknown tenant: failure');

  ctx.log('the catalogue and who may see it');
  const rec = (await expect(200, url, 'GET', `/recordings/${first.recording_id}`, { token: hA })).json;
  assertEq(rec.file_path, path.join(ctx.recordings, ta.tenant_id, m.conference_id, m.session_id, `${first.recording_id}.mp4`), 'file path layout');
  await expect(200, url, 'GET', `/recordings/${first.recording_id}`, { token: pA });  // recipient
  await expect(200, url, 'GET', `/recordings/${first.recording_id}`, { token: aA });  // admin
  await expect(404, url, 'GET', `/recordings/${first.recording_id}`, { token: oA });  // neither
  await expect(404, url, 'GET', `/recordings/${first.recording_id}`, { token: bA });  // other tenant
  await expect(409, url, 'POST', `/recordings/${first.recording_id}/download-url`, { token: hA });
  const ids = async (tok) => (await expect(200, url, 'GET', '/recordings', { token: tok })).json.recordings.map((x) => x.recording_id).sort();
  assertEq(await ids(aA), [first.recording_id, 'rec-ext-1'].sort(), 'the admin lists the tenant\'s recordings');
  assertEq(await ids(pA), [first.recording_id], 'a recipient lists what it may see');
  assertEq(await ids(oA), [], 'others list nothing');
  assertEq(await ids(bA), [], 'another tenant lists nothing');

  ctx.log('end, pending recording blocks deletion, completion');
  await expect(200, url, 'POST', `/meetings/${m.meeting_id}/end`, { token: hA });
  await expect(409, url, 'DELETE', `/meetings/${m.meeting_id}`, { token: hA });
  const bytes = crypto.randomBytes(300000);
  // The node's path wins when it differs from the one the control plane computed.
  const nodePath = path.join(ctx.recordings, 'node-side', `${first.recording_id}.mp4`);
  fs.mkdirSync(path.dirname(nodePath), { recursive: true });
  fs.writeFileSync(nodePath, bytes);
  await expect(401, url, 'POST', `/recordings/${first.recording_id}/completed`, { token: hA, body: {} });
  await expect(400, url, 'POST', `/recordings/${first.recording_id}/completed`, { token: node, body: { status: 'great' } });
  await expect(400, url, 'POST', `/recordings/${first.recording_id}/completed`, { token: node, body: { size_bytes: 'big' } });
  await expect(400, url, 'POST', `/recordings/${first.recording_id}/completed`, { token: node, body: { event: 'recording.paused' } });
  await expect(400, url, 'POST', `/recordings/${first.recording_id}/completed`, { token: node, body: { event: 'recording.completed', status: 'failed' } });
  await expect(400, url, 'POST', `/recordings/${first.recording_id}/completed`, { token: node, body: { file_path: `${ctx.recordings}/../etc/x.mp4` } });
  await expect(400, url, 'POST', `/recordings/${first.recording_id}/completed`, { token: node, body: { file_path: 'relative.mp4' } });
  // Exactly what the node sends (docs/protocol.md), extra members and all.
  await expect(200, url, 'POST', `/recordings/${first.recording_id}/completed`, { token: node, body: {
    event: 'recording.completed', recording_id: first.recording_id, meeting_id: m.meeting_id,
    tenant_id: ta.tenant_id, conference_id: m.conference_id, file_path: nodePath,
    size_bytes: bytes.length, duration_seconds: 60.6, tracks: [{ name: 'mix', codec: 'opus',
      kind: 'audio', mix: true, start_seconds: 0, duration_seconds: 60.6 }] } });
  assertEq(ctx.pg.sql(`SELECT status, file_path FROM recordings WHERE id = '${first.recording_id}'`)[0], ['complete', nodePath], 'complete, at the node\'s path');
  // The node's failure report.
  await expect(200, url, 'POST', '/recordings/rec-ext-1/completed', { token: node, body: { event: 'recording.failed', recording_id: 'rec-ext-1', error: 'disk full' } });
  assertEq(ctx.pg.sql("SELECT status FROM recordings WHERE id = 'rec-ext-1'")[0][0], 'failed', 'recording.failed → failed');
  await expect(404, url, 'POST', `/recordings/${first.recording_id}/completed`, { token: node, body: {} });
  assertEq(ctx.pg.sql(`SELECT duration_seconds, file_size_mb FROM sessions WHERE id = '${m.session_id}'`)[0], ['61', '0.29'], 'session duration and size');
  await expect(204, url, 'DELETE', `/meetings/${m.meeting_id}`, { token: hA });
  await expect(200, url, 'GET', `/recordings/${first.recording_id}`, { token: hA }); // the catalogue keeps it

  ctx.log('signed download URLs with Range');
  await expect(404, url, 'POST', `/recordings/${first.recording_id}/download-url`, { token: oA });
  await expect(404, url, 'POST', `/recordings/${first.recording_id}/download-url`, { token: bA });
  const link = (await expect(200, url, 'POST', `/recordings/${first.recording_id}/download-url`, { token: pA })).json;
  assert(link.expires_at - Date.now() / 1000 > 800 && link.expires_at - Date.now() / 1000 <= 901, '15 minutes by default');
  const u = new URL(link.url);
  const full = await expect(200, u.origin, 'GET', u.pathname + u.search);
  assert(full.buf.equals(bytes), 'the whole file');
  assertEq(full.headers.get('accept-ranges'), 'bytes', 'Accept-Ranges');
  const part1 = await expect(206, u.origin, 'GET', u.pathname + u.search, { headers: { range: 'bytes=100-199' } });
  assert(part1.buf.equals(bytes.subarray(100, 200)), 'bytes 100-199');
  assertEq(part1.headers.get('content-range'), `bytes 100-199/${bytes.length}`, 'Content-Range');
  const tail = await expect(206, u.origin, 'GET', u.pathname + u.search, { headers: { range: 'bytes=-1000' } });
  assert(tail.buf.equals(bytes.subarray(bytes.length - 1000)), 'suffix range');
  const open = await expect(206, u.origin, 'GET', u.pathname + u.search, { headers: { range: 'bytes=299000-' } });
  assert(open.buf.equals(bytes.subarray(299000)), 'open range');
  const bad = await expect(416, u.origin, 'GET', u.pathname + u.search, { headers: { range: 'bytes=400000-' } });
  assertEq(bad.headers.get('content-range'), `bytes */${bytes.length}`, '416 says the size');
  const head = await expect(200, u.origin, 'HEAD', u.pathname + u.search);
  assertEq(head.headers.get('content-length'), String(bytes.length), 'HEAD length');
  const sig = u.searchParams.get('sig'), exp = u.searchParams.get('exp');
  const flip = sig.slice(0, -1) + (sig.endsWith('0') ? '1' : '0');
  await expect(403, u.origin, 'GET', `${u.pathname}?exp=${exp}&sig=${flip}`);
  await expect(403, u.origin, 'GET', `${u.pathname}?exp=${Number(exp) + 1}&sig=${sig}`);
  await expect(403, u.origin, 'GET', `/files/rec-ext-1?exp=${exp}&sig=${sig}`);
  await expect(403, u.origin, 'GET', u.pathname);
  // A path that is not a regular file gets a 404 (it used to close the connection unanswered).
  const keep = ctx.pg.sql(`SELECT file_path FROM recordings WHERE id = '${first.recording_id}'`)[0][0];
  ctx.pg.sql(`UPDATE recordings SET file_path = '${path.dirname(keep)}' WHERE id = '${first.recording_id}'`);
  await expect(404, u.origin, 'GET', u.pathname + u.search);
  ctx.pg.sql(`UPDATE recordings SET file_path = '${keep}' WHERE id = '${first.recording_id}'`);
  await expect(206, u.origin, 'GET', u.pathname + u.search, { headers: { range: 'bytes=0-0' } });
  // An expired link: a second instance signs with a 1 s lifetime.
  const short = await ctx.startControl(['--download-ttl', '1']);
  const link2 = (await expect(200, short.url, 'POST', `/recordings/${first.recording_id}/download-url`, { token: pA })).json;
  const u2 = new URL(link2.url);
  await expect(206, u2.origin, 'GET', u2.pathname + u2.search, { headers: { range: 'bytes=0-0' } });
  await sleep(2100);
  await expect(403, u2.origin, 'GET', u2.pathname + u2.search);

  ctx.log('stale recordings are aborted, then a new one may start');
  // A webhook endpoint, to see the recording.failed event of the abort in the outbox.
  await expect(201, url, 'POST', '/webhooks', { token: aA, body: { url: 'http://127.0.0.1:9/none' } });
  await ctx.startControl(['--recording-stale', '1']);
  const m2 = (await expect(201, url, 'POST', '/meetings', { token: hA, body: {} })).json;
  const s1 = (await expect(201, url, 'POST', `/meetings/${m2.meeting_id}/record`, { token: hA })).json;
  let status = 'starting';
  for (let i = 0; i < 40 && status !== 'aborted'; i++) {
    await sleep(250);
    status = ctx.pg.sql(`SELECT status FROM recordings WHERE id = '${s1.recording_id}'`)[0][0];
  }
  assertEq(status, 'aborted', 'a recording without progress is aborted');
  assertEq(ctx.pg.sql(`SELECT payload->'data'->>'reason' FROM outbox WHERE event_type = 'recording.failed' AND payload->'data'->>'recording_id' = '${s1.recording_id}'`),
    [['aborted']], 'a recording.failed event for the abort');
  const s2 = (await expect(201, url, 'POST', `/meetings/${m2.meeting_id}/record`, { token: hA })).json;
  assert(s2.recording_id !== s1.recording_id, 'a new recording starts after the abort');

  ctx.log('an active recording lives while its node heartbeats, and is aborted once it stops');
  ctx.pg.sql(`UPDATE recordings SET status = 'active' WHERE id = '${s2.recording_id}'`);
  const nodeId = ctx.pg.sql("SELECT id FROM nodes WHERE name = 'n1'")[0][0];
  for (let i = 0; i < 20; i++) { // 6 s: more than one housekeeping pass (every 5 s)
    await expect(200, url, 'POST', `/nodes/${nodeId}/heartbeat`, { token: node, body: { meetings: 1, participants: 1 } });
    await sleep(300);
  }
  assertEq(ctx.pg.sql(`SELECT status FROM recordings WHERE id = '${s2.recording_id}'`), [['active']],
    'a recording on a heartbeating node is not stale (6 s of beats, 1 s threshold)');
  status = 'active';
  for (let i = 0; i < 40 && status !== 'aborted'; i++) {
    await sleep(250);
    status = ctx.pg.sql(`SELECT status FROM recordings WHERE id = '${s2.recording_id}'`)[0][0];
  }
  assertEq(status, 'aborted', 'the recording is aborted once its node stops heartbeating');
});
