// Outbound webhooks and recording e-mail through the outbox: the receiver fails the first 3
// deliveries and parley-control is restarted between attempts; every event (meeting
// started/ended, participant joined/left, recording started/completed) still arrives, each
// signature is valid (Standard Webhooks), nothing is lost and a redelivery carries the same
// webhook-id and body. Recipients get an e-mail (local SMTP sink) whose signed link downloads
// the file, with Range, and so does the recording.completed webhook's download_url (a
// tampered one gets 403). Tenant B never sees A's endpoints or events.
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { assert, assertEq, expect, runTest, sleep, smtpSink } from './lib.mjs';

function listen(server) {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server.address().port)));
}

function verify(secret, id, ts, body, sigHeader) {
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  const want = crypto.createHmac('sha256', key).update(`${id}.${ts}.${body}`).digest('base64');
  return sigHeader.split(' ').some((s) => s === `v1,${want}`);
}

runTest('control_webhooks', async (ctx) => {
  await ctx.startPostgres();
  const received = [];   // every request: {id, ts, sig, body, answered}
  let failuresLeft = 3;
  let onFailure = () => {};
  const receiver = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => { body += d; });
    req.on('end', () => {
      const fail = failuresLeft > 0;
      if (fail) failuresLeft--;
      received.push({ id: req.headers['webhook-id'], ts: req.headers['webhook-timestamp'],
        sig: req.headers['webhook-signature'], body, answered: fail ? 500 : 200 });
      res.writeHead(fail ? 500 : 200).end(fail ? 'try later' : 'ok');
      if (fail) onFailure();
    });
  });
  const hookPort = await listen(receiver);
  const mails = [];
  const sink = smtpSink(mails);
  const smtpPort = await listen(sink);
  const args = ['--outbox-interval-ms', '100', '--outbox-backoff-ms', '400',
    '--smtp-url', `smtp://127.0.0.1:${smtpPort}`, '--mail-from', 'rec@parley.test'];
  // `c` serves the API and delivers nothing; `d` delivers and is the one restarted, so no API
  // call of the test races a restart.
  const c = await ctx.startControl([...args.slice(2), '--outbox-interval-ms', '0']);
  let d = await ctx.startControl(args);
  try {
    const node = ctx.nodeKey;
    const login = async (email, password) =>
      (await expect(200, c.url, 'POST', '/auth/login', { body: { email, password } })).json.token;
    const ta = (await expect(201, c.url, 'POST', '/tenants', { body: { tenant_name: 'A', email: 'admin@a.test', password: 'password-a' } })).json;
    await expect(201, c.url, 'POST', '/tenants', { body: { tenant_name: 'B', email: 'admin@b.test', password: 'password-b' } });
    const aA = await login('admin@a.test', 'password-a');
    const bA = await login('admin@b.test', 'password-b');
    await expect(201, c.url, 'POST', '/accounts', { token: aA, body: { email: 'part@a.test', password: 'password-p', role: 'participant' } });
    const pA = await login('part@a.test', 'password-p');

    ctx.log('webhook endpoints');
    await expect(400, c.url, 'POST', '/webhooks', { token: aA, body: { url: 'ftp://x' } });
    await expect(403, c.url, 'POST', '/webhooks', { token: pA, body: { url: `http://127.0.0.1:${hookPort}/hook` } });
    const ep = (await expect(201, c.url, 'POST', '/webhooks', { token: aA, body: { url: `http://127.0.0.1:${hookPort}/hook` } })).json;
    assert(ep.secret.startsWith('whsec_'), 'Standard Webhooks secret');
    assertEq((await expect(200, c.url, 'GET', '/webhooks', { token: bA })).json.webhooks, [], 'B sees no endpoint of A');
    await expect(404, c.url, 'DELETE', `/webhooks/${ep.id}`, { token: bA });
    assertEq((await expect(200, c.url, 'GET', '/webhooks', { token: aA })).json.webhooks.length, 1, 'A lists its endpoint');

    // Restart the control plane after each of the first two failed deliveries.
    let restarts = 0;
    let restarting = Promise.resolve();
    onFailure = () => {
      if (restarts >= 2) return;
      const n = ++restarts;
      restarting = restarting.then(async () => {
        await sleep(100); // let it record the failure (or not: the lease covers that too)
        await d.stop();
        d = await ctx.startControl(args);
        ctx.log(`restarted the control plane (${n})`);
      });
    };

    ctx.log('events: meeting, participants, recording');
    await expect(200, c.url, 'POST', '/nodes/register', { token: node, body: { name: 'n1', signaling_url: (await ctx.fakeRecorder()).wsUrl } });
    const m = (await expect(201, c.url, 'POST', '/meetings', { token: aA, body: { title: 'Review\r\nBcc: evil@x' } })).json;
    await expect(200, c.url, 'POST', `/meetings/${m.meeting_id}/joined`, { token: node, body: { account_id: 'p1' } });
    await expect(200, c.url, 'POST', `/meetings/${m.meeting_id}/left`, { token: node, body: { account_id: 'p1' } });
    const rec = (await expect(201, c.url, 'POST', `/meetings/${m.meeting_id}/record`, { token: aA })).json;
    await expect(200, c.url, 'POST', `/meetings/${m.meeting_id}/record`, { token: pA });
    const started = await expect(200, c.url, 'POST', '/recordings/webhook/recording-started', { token: node, body: { event: 'recording.started', data: {
      recording_id: rec.recording_id, conference_id: m.conference_id, tenant_id: ta.tenant_id, session_id: m.session_id,
      recording_url: 'https://x/r.mp4', title: 'Review', start_time: '2026-11-23T15:00:00Z', host_user_id: ta.account_id, host_user_name: 'Ann' } } });
    assertEq(started.json.status, 'success', 'recording started');
    await expect(200, c.url, 'POST', `/meetings/${m.meeting_id}/end`, { token: node, body: { meeting_id: m.meeting_id, ended_by: ta.account_id } });
    const file = (await expect(200, c.url, 'GET', `/recordings/${rec.recording_id}`, { token: aA })).json.file_path;
    const bytes = crypto.randomBytes(100000);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, bytes);
    await restarting;
    await expect(200, c.url, 'POST', `/recordings/${rec.recording_id}/completed`, { token: node, body: { size_bytes: bytes.length, duration_seconds: 5 } });
    // Tenant B's activity never reaches A's endpoint.
    await expect(201, c.url, 'POST', '/meetings', { token: bA, body: { title: 'B only' } });

    const want = ['meeting.started', 'participant.joined', 'participant.left', 'recording.started',
      'meeting.ended', 'recording.completed'];
    const deliveredTypes = () => new Set(received.filter((r) => r.answered === 200).map((r) => JSON.parse(r.body).type));
    for (let i = 0; i < 300 && (want.some((t) => !deliveredTypes().has(t)) || mails.length < 2); i++) {
      await sleep(100);
      await restarting;
    }
    assertEq(restarts, 2, 'restarted twice between attempts');
    assertEq([...deliveredTypes()].sort(), [...want].sort(), 'every event delivered');
    const ids = new Set(received.map((r) => r.id));
    assertEq(ids.size, want.length, 'one webhook-id per event');
    assertEq(received.filter((r) => r.answered === 500).length, 3, 'three failures seen');
    for (const r of received) {
      assert(verify(ep.secret, r.id, r.ts, r.body, r.sig), `valid signature on ${r.id}`);
      assert(Math.abs(Number(r.ts) - Date.now() / 1000) < 120, 'fresh timestamp');
      // recording.completed's download URL is signed per attempt; the rest is the same.
      const sameBody = (b) => { const j = JSON.parse(b); delete j.data.download_url; delete j.data.download_expires_at; return JSON.stringify(j); };
      const firstBody = received.find((x) => x.id === r.id).body;
      assertEq(sameBody(r.body), sameBody(firstBody), `a redelivery of ${r.id} carries the same body`);
      assertEq(JSON.parse(r.body).data.meeting_id === undefined || JSON.parse(r.body).data.meeting_id === m.meeting_id, true, 'only A\'s meeting');
    }
    assert(received.length >= want.length + 3, 'failed ones were redelivered');
    assertEq(ctx.pg.sql('SELECT count(*) FROM outbox WHERE kind = \'webhook\' AND delivered_at IS NULL')[0][0], '0', 'outbox drained');

    ctx.log('the recording.completed webhook carries a working signed link');
    const completed = JSON.parse(received.find((r) => r.answered === 200 && JSON.parse(r.body).type === 'recording.completed').body).data;
    assertEq([completed.recording_id, completed.size_bytes], [rec.recording_id, bytes.length], 'completed names the recording');
    const hookLink = new URL(completed.download_url);
    assertEq(Number(hookLink.searchParams.get('exp')), completed.download_expires_at, 'download_expires_at is the link\'s exp');
    assert(Math.abs(completed.download_expires_at - (Date.now() / 1000 + 900)) < 120, 'valid --download-ttl (900 s) from delivery');
    const hu = new URL(hookLink.pathname + hookLink.search, c.url); // signed by `d`, which restarts moved
    const viaHook = await expect(206, hu.origin, 'GET', hu.pathname + hu.search, { headers: { range: 'bytes=500-1499' } });
    assert(viaHook.buf.equals(bytes.subarray(500, 1500)), 'Range on the webhook\'s link');
    assertEq(viaHook.headers.get('content-range'), `bytes 500-1499/${bytes.length}`, 'Content-Range on the webhook\'s link');
    assert((await expect(200, hu.origin, 'GET', hu.pathname + hu.search)).buf.equals(bytes), 'the webhook\'s link downloads the file');
    const hsig = hu.searchParams.get('sig'), hexp = hu.searchParams.get('exp');
    await expect(403, hu.origin, 'GET', `${hu.pathname}?exp=${hexp}&sig=${hsig.replace(/.$/, hsig.endsWith('a') ? 'b' : 'a')}`);
    await expect(403, hu.origin, 'GET', `${hu.pathname}?exp=${Number(hexp) + 1}&sig=${hsig}`);

    ctx.log('recording e-mails carry a working signed link');
    assertEq(mails.length, 2, 'one e-mail per recipient');
    assertEq(mails.map((x) => x.to[0]).sort(), ['RCPT TO:<admin@a.test>', 'RCPT TO:<part@a.test>'], 'to the recipients');
    for (const mail of mails) {
      assert(!/^Bcc:/m.test(mail.data), 'no header injected through the title');
      const link = mail.data.match(/(http:\/\/\S+\/files\/\S+)/)[1];
      // The link names the instance that sent it, which a restart replaced: the same path
      // and signature work on any instance.
      const u = new URL(new URL(link).pathname + new URL(link).search, c.url);
      const whole = await expect(200, u.origin, 'GET', u.pathname + u.search);
      assert(whole.buf.equals(bytes), 'the e-mailed link downloads the file');
      const part = await expect(206, u.origin, 'GET', u.pathname + u.search, { headers: { range: 'bytes=10-19' } });
      assert(part.buf.equals(bytes.subarray(10, 20)), 'Range on the e-mailed link');
      const sig = u.searchParams.get('sig');
      await expect(403, u.origin, 'GET', `${u.pathname}?exp=${u.searchParams.get('exp')}&sig=${sig.replace(/.$/, sig.endsWith('a') ? 'b' : 'a')}`);
    }
    const metrics = (await expect(200, d.url, 'GET', '/metrics')).text;
    assert(/parley_control_outbox_pending 0/.test(metrics), 'metrics: nothing pending');
  } finally {
    receiver.close();
    sink.close();
  }
});
