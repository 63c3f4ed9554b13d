// Issue 7, acceptance 4: the recording flow end to end with a real parley-node. The node
// registers itself (--control-url, --control-key) and heartbeats; the host's meeting is placed
// on it; two parley-client processes (libvpx VP8 + libopus) join with the control plane's join
// tokens. POST /meetings/{id}/record makes the control plane call the node's
// POST /recordings/start (201 only once the node took it); a second start by another account
// only adds a recipient; POST /meetings/{id}/record/stop stops it through the node's
// /recordings/stop; the node's recording-started webhook and its completion callback (its own
// bodies) make the recording active, then complete; the file is at
// <root>/<tenant>/<conference>/<session>/<recording>.mp4, the signed download URL serves it
// (200, 206 with Range), ffprobe reads the download, a tampered or expired URL gets 403, and
// each recipient's e-mail (local SMTP sink) and the recording.completed webhook carry a signed
// link that downloads it (Range; tampered: 403). A second
// recording is ended by the host's END (the node stops and completes it). A node that refuses
// (meeting not running there) or cannot be reached gives 502 and a failed recording.
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { runTest as runE2e, startNode } from '../e2e/lib.mjs';
import { startClient } from '../e2e/client_lib.mjs';
import { TestContext, assert, assertEq, expect, sleep, smtpSink } from './lib.mjs';

const HOST_S = 45; // the host client's stay; it ENDs the meeting when it leaves

function listen(server) {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server.address().port)));
}

// Polls fn() until it returns a truthy value; fails with `what` after ms.
async function until(what, ms, fn) {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms / 1000} s`);
    await sleep(200);
  }
}

function probe(file) {
  const p = JSON.parse(execFileSync('ffprobe', ['-v', 'error', '-show_streams', '-show_format', '-of', 'json', file],
    { encoding: 'utf8' }));
  return { streams: p.streams.map((s) => `${s.codec_type}/${s.codec_name}`), duration: Number(p.format.duration) };
}

runE2e('control_recording_flow', async (t) => {
  const ctx = new TestContext('control_recording_flow', t.tmpDir);
  t.defer('stop parley-control and PostgreSQL', () => ctx.cleanup());
  const mails = [];
  const sink = smtpSink(mails);
  const smtpPort = await listen(sink);
  t.defer('close the SMTP sink', () => sink.close());
  await ctx.startPostgres();
  const control = await ctx.startControl(['--outbox-interval-ms', '100', '--smtp-url',
    `smtp://127.0.0.1:${smtpPort}`, '--mail-from', 'rec@parley.test']);
  const url = control.url;
  const node = await startNode(t, { tokenSecret: ctx.tokenSecret, controlUrl: url, controlKey: ctx.nodeKey,
    args: ['--recordings-root', ctx.recordings] });

  const nodes = await until('the node registers and heartbeats', 20_000, async () => {
    const n = (await expect(200, url, 'GET', '/nodes', { token: ctx.nodeKey })).json.nodes;
    return n.length === 1 && n[0].healthy && n[0].signaling_url.includes(`:${node.httpPort}`) ? n : null;
  });
  t.log(`the node registered itself: ${nodes[0].name} ${nodes[0].signaling_url}, healthy`);

  const ta = (await expect(201, url, 'POST', '/tenants', { body: { tenant_name: 'Acme', email: 'admin@a.test', password: 'password-a' } })).json;
  const admin = (await expect(200, url, 'POST', '/auth/login', { body: { email: 'admin@a.test', password: 'password-a' } })).json.token;
  const mk = async (email, role, name) => (await expect(201, url, 'POST', '/accounts', { token: admin, body: { email, password: 'password-x', role, name } })).json;
  const hostAcc = await mk('host@a.test', 'host', 'Hal');
  const partAcc = await mk('part@a.test', 'participant', 'Pat');
  const login = async (email) => (await expect(200, url, 'POST', '/auth/login', { body: { email, password: 'password-x' } })).json.token;
  const host = await login('host@a.test');
  // A webhook receiver for tenant A: recording.completed carries a signed download URL too.
  const hooks = [];
  const receiver = http.createServer((req, res) => {
    let b = '';
    req.on('data', (d) => { b += d; });
    req.on('end', () => { hooks.push(JSON.parse(b)); res.writeHead(200).end('ok'); });
  });
  const hookPort = await listen(receiver);
  t.defer('close the webhook receiver', () => receiver.close());
  await expect(201, url, 'POST', '/webhooks', { token: admin, body: { url: `http://127.0.0.1:${hookPort}/hook` } });
  const part = await login('part@a.test');

  const m = (await expect(201, url, 'POST', '/meetings', { token: host, body: { title: 'Quarterly review' } })).json;
  assertEq([m.node_id, m.signaling_url], [nodes[0].node_id, nodes[0].signaling_url], 'the meeting is placed on the node');
  const pj = (await expect(200, url, 'POST', `/meetings/${m.meeting_id}/join`, { token: part })).json;

  // Media: the host and a participant publish VP8 + Opus with the control plane's tokens.
  const client = (label, account, role, token, duration, extra = []) => startClient(t, ['--url', m.signaling_url,
    '--meeting', m.meeting_id, '--token', token, '--account', account, '--role', role, '--publish', 'vp8',
    '--audio', '--subscribe', '0', '--duration', String(duration), '--log-level', 'info', ...extra], label);
  const hostClient = client('host', hostAcc.account_id, 'host', m.join_token, HOST_S, ['--end']);
  const clientsAt = Date.now();
  await sleep(1500);
  client('participant', partAcc.account_id, 'participant', pj.join_token, HOST_S + 10);
  await until('both clients in the meeting (joined callbacks)', 15_000, async () =>
    (await expect(200, url, 'GET', `/meetings/${m.meeting_id}`, { token: host })).json.participants === 2);
  await sleep(2500); // media flowing

  t.log('record: the first start makes the node record');
  await expect(403, url, 'POST', `/meetings/${m.meeting_id}/record/stop`, { token: part });
  await expect(409, url, 'POST', `/meetings/${m.meeting_id}/record/stop`, { token: host });
  const rec = (await expect(201, url, 'POST', `/meetings/${m.meeting_id}/record`, { token: host })).json;
  const recStartedAt = Date.now();
  assertEq([rec.started, rec.status, rec.conference_id, rec.session_id], [true, 'starting', m.conference_id, m.session_id], 'a recording started');
  const second = (await expect(200, url, 'POST', `/meetings/${m.meeting_id}/record`, { token: part })).json;
  assertEq([second.started, second.recording_id, second.recipient_added], [false, rec.recording_id, true], 'a second start only adds a recipient');
  const rcp = (await expect(200, url, 'GET', `/meetings/${m.meeting_id}/recipients`, { token: host })).json;
  assertEq(rcp.recipients.map((x) => x.email).sort(), ['host@a.test', 'part@a.test'], 'recipients listed');
  // The node's recording-started webhook (its own body, recording_url file://...) makes it active.
  const expected = path.join(ctx.recordings, ta.tenant_id, m.conference_id, m.session_id, `${rec.recording_id}.mp4`);
  await until('the node\'s recording-started webhook', 10_000, async () =>
    (await expect(200, url, 'GET', `/recordings/${rec.recording_id}`, { token: host })).json.status === 'active');
  assertEq(ctx.pg.sql(`SELECT recording_url FROM sessions WHERE id = '${m.session_id}'`)[0][0], `file://${expected}`,
    'the session\'s recording_url is the node\'s file:// URL');
  assertEq((await expect(200, url, 'GET', `/meetings/${m.meeting_id}`, { token: host })).json.recording, true, 'meeting flagged as recording');

  t.log('a node that refuses, and one that cannot be reached: 502, recording failed');
  const m2 = (await expect(201, url, 'POST', '/meetings', { token: host, body: { title: 'nobody here' } })).json;
  assertEq(m2.node_id, m.node_id, 'second meeting on the real node too');
  let r = await expect(502, url, 'POST', `/meetings/${m2.meeting_id}/record`, { token: host });
  assert(/did not start the recording \(HTTP 404: the meeting is not running on this node\)/.test(r.json.error), `clear error: ${r.json.error}`);
  assertEq(ctx.pg.sql(`SELECT r.status, m.recording FROM recordings r JOIN meetings m ON m.id = r.meeting_id WHERE m.id = '${m2.meeting_id}'`),
    [['failed', 'f']], 'refused: recording failed, meeting flag cleared');
  await expect(200, url, 'POST', '/nodes/register', { token: ctx.nodeKey, body: { name: 'gone', signaling_url: 'ws://127.0.0.1:9/ws' } });
  const m3 = (await expect(201, url, 'POST', '/meetings', { token: host, body: { title: 'unreachable' } })).json;
  assert(m3.node_id !== m.node_id, 'third meeting on the unreachable node (lowest load)');
  r = await expect(502, url, 'POST', `/meetings/${m3.meeting_id}/record`, { token: host });
  assert(/did not start the recording \(.*(connect|refused).*\)/i.test(r.json.error), `clear error: ${r.json.error}`);
  assertEq(ctx.pg.sql(`SELECT r.status, m.recording FROM recordings r JOIN meetings m ON m.id = r.meeting_id WHERE m.id = '${m3.meeting_id}'`),
    [['failed', 'f']], 'unreachable: recording failed, meeting flag cleared');
  t.log(`refused: "${r.json.error}"`);

  await sleep(Math.max(0, 8000 - (Date.now() - recStartedAt)));
  t.log('stop through the control plane');
  const stop = (await expect(202, url, 'POST', `/meetings/${m.meeting_id}/record/stop`, { token: host })).json;
  const stoppedAfterS = (Date.now() - recStartedAt) / 1000;
  assertEq(stop.recording_id, rec.recording_id, 'stop names the recording');
  const done = await until('the node\'s completion callback', 60_000, async () => {
    const x = (await expect(200, url, 'GET', `/recordings/${rec.recording_id}`, { token: part })).json;
    return x.status === 'complete' ? x : null;
  });
  await expect(409, url, 'POST', `/meetings/${m.meeting_id}/record/stop`, { token: admin });
  assertEq(done.file_path, expected, 'the file path is <root>/<tenant>/<conference>/<session>/<recording>.mp4');
  const bytes = fs.readFileSync(expected);
  assertEq(done.size_bytes, bytes.length, 'size_bytes is the file\'s');
  assert(done.duration_seconds >= stoppedAfterS - 3 && done.duration_seconds <= stoppedAfterS + 2,
    `duration ${done.duration_seconds} s for a recording stopped after ${stoppedAfterS.toFixed(1)} s`);
  assertEq((await expect(200, url, 'GET', `/meetings/${m.meeting_id}`, { token: host })).json.recording, false, 'meeting flag cleared');
  const onDisk = probe(expected);
  t.log(`recording 1: ${bytes.length} bytes, ${done.duration_seconds} s (stopped after ${stoppedAfterS.toFixed(1)} s); ffprobe: ${onDisk.streams.join(', ')}`);
  assertEq(onDisk.streams.filter((s) => s === 'video/vp8').length, 2, 'both clients\' video recorded');
  assert(onDisk.streams.filter((s) => s === 'audio/opus').length >= 2, 'their audio recorded');

  t.log('signed download URL');
  await expect(201, url, 'POST', '/tenants', { body: { tenant_name: 'B', email: 'b@b.test', password: 'password-b' } });
  const other = (await expect(200, url, 'POST', '/auth/login', { body: { email: 'b@b.test', password: 'password-b' } })).json.token;
  await expect(404, url, 'POST', `/recordings/${rec.recording_id}/download-url`, { token: other });
  const dl = (await expect(200, url, 'POST', `/recordings/${rec.recording_id}/download-url`, { token: part })).json;
  const u = new URL(dl.url);
  const whole = await expect(200, u.origin, 'GET', u.pathname + u.search);
  assert(whole.buf.equals(bytes), 'the URL serves the whole file');
  assertEq(whole.headers.get('content-type'), 'video/mp4', 'content type');
  const dlFile = path.join(t.tmpDir, 'downloaded.mp4');
  fs.writeFileSync(dlFile, whole.buf);
  const got = probe(dlFile);
  assertEq(got.streams, onDisk.streams, 'ffprobe reads the downloaded file');
  const part206 = await expect(206, u.origin, 'GET', u.pathname + u.search, { headers: { range: 'bytes=1000-1999' } });
  assert(part206.buf.equals(bytes.subarray(1000, 2000)), 'Range 1000-1999');
  assertEq(part206.headers.get('content-range'), `bytes 1000-1999/${bytes.length}`, 'Content-Range');
  const tail = await expect(206, u.origin, 'GET', u.pathname + u.search, { headers: { range: 'bytes=-100' } });
  assert(tail.buf.equals(bytes.subarray(bytes.length - 100)), 'suffix Range');
  const sig = u.searchParams.get('sig'), exp = Number(u.searchParams.get('exp'));
  await expect(403, u.origin, 'GET', `${u.pathname}?exp=${exp}&sig=${sig.replace(/.$/, sig.endsWith('a') ? 'b' : 'a')}`);
  await expect(403, u.origin, 'GET', `${u.pathname}?exp=${exp + 3600}&sig=${sig}`);
  const past = Math.floor(Date.now() / 1000) - 10;
  const pastSig = crypto.createHmac('sha256', ctx.urlSecret).update(`${rec.recording_id}.${past}`).digest('hex');
  await expect(403, u.origin, 'GET', `${u.pathname}?exp=${past}&sig=${pastSig}`);
  // The same HMAC with a future expiry is accepted: the 403 above is the expiry, not the form.
  const future = Math.floor(Date.now() / 1000) + 60;
  const futureSig = crypto.createHmac('sha256', ctx.urlSecret).update(`${rec.recording_id}.${future}`).digest('hex');
  await expect(200, u.origin, 'HEAD', `${u.pathname}?exp=${future}&sig=${futureSig}`);

  t.log('e-mail to each recipient with a signed link');
  await until('two e-mails', 20_000, async () => mails.length >= 2);
  assertEq(mails.map((x) => x.to[0]).sort(), ['RCPT TO:<host@a.test>', 'RCPT TO:<part@a.test>'], 'to the recipients');
  for (const mail of mails) {
    const link = new URL(mail.data.match(/(http:\/\/\S+\/files\/\S+)/)[1]);
    assert(link.searchParams.get('sig') && link.searchParams.get('exp'), 'a signed link');
    const viaMail = await expect(200, link.origin, 'GET', link.pathname + link.search);
    assert(viaMail.buf.equals(bytes), 'the e-mailed link downloads the file');
    const r206 = await expect(206, link.origin, 'GET', link.pathname + link.search, { headers: { range: 'bytes=0-99' } });
    assert(r206.buf.equals(bytes.subarray(0, 100)), 'Range on the e-mailed link');
  }

  t.log('the recording.completed webhook carries a signed link');
  const hook = await until('recording.completed delivered', 20_000, async () =>
    hooks.find((h) => h.type === 'recording.completed' && h.data.recording_id === rec.recording_id));
  const hl = new URL(hook.data.download_url);
  assertEq(Number(hl.searchParams.get('exp')), hook.data.download_expires_at, 'download_expires_at is the link\'s exp');
  const viaHook = await expect(206, hl.origin, 'GET', hl.pathname + hl.search, { headers: { range: 'bytes=100-1099' } });
  assert(viaHook.buf.equals(bytes.subarray(100, 1100)), 'Range on the webhook\'s link');
  assert((await expect(200, hl.origin, 'GET', hl.pathname + hl.search)).buf.equals(bytes), 'the webhook\'s link downloads the file');
  const hsig = hl.searchParams.get('sig');
  await expect(403, hl.origin, 'GET', `${hl.pathname}?exp=${hl.searchParams.get('exp')}&sig=${hsig.replace(/.$/, hsig.endsWith('a') ? 'b' : 'a')}`);

  t.log('a second recording, ended by the host\'s END');
  const rec2 = (await expect(201, url, 'POST', `/meetings/${m.meeting_id}/record`, { token: part })).json;
  assert(rec2.recording_id !== rec.recording_id, 'a new recording');
  await until('recording 2 active', 10_000, async () =>
    (await expect(200, url, 'GET', `/recordings/${rec2.recording_id}`, { token: part })).json.status === 'active');
  assert((Date.now() - clientsAt) / 1000 < HOST_S - 3, 'recording 2 started well before the host\'s END');
  const hostExit = await hostClient.exited;
  assertEq(hostExit.code, 0, 'the host client ended the meeting and exited 0');
  const done2 = await until('recording 2 completed after END', 60_000, async () => {
    const x = (await expect(200, url, 'GET', `/recordings/${rec2.recording_id}`, { token: part })).json;
    return x.status === 'complete' ? x : null;
  });
  assertEq((await expect(200, url, 'GET', `/meetings/${m.meeting_id}`, { token: host })).json.status, 'ended', 'the node reported the END');
  const p2 = probe(done2.file_path);
  assertEq(fs.statSync(done2.file_path).size, done2.size_bytes, 'recording 2 on disk');
  t.log(`recording 2 (ended by END): ${done2.size_bytes} bytes, ${done2.duration_seconds} s; ffprobe: ${p2.streams.join(', ')}`);
  assert(p2.streams.includes('video/vp8'), 'recording 2 has video');
  await expect(204, url, 'DELETE', `/meetings/${m.meeting_id}`, { token: ctx.nodeKey });
  await node.stop();
}, { timeoutMs: 200_000 });
