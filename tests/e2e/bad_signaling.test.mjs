// Sends malformed signaling to parley-node over its WebSocket (/ws, subprotocol "parley"): each
// bad message must be answered with ERROR (content_type "ERROR", non-empty msg); only for the
// 1 MiB message and a text frame that is not UTF-8 may the node close the connection instead.
// The node must stay up, two fresh clients (a host's INIT, then a JOIN, both with tokens) must
// still join and see each other join and leave, and SIGTERM must end the node with exit code 0.
// Run: node tests/e2e/bad_signaling.test.mjs
import crypto from 'node:crypto';
import WebSocket from 'ws';
import { runTest, startNode, sleep, withTimeout } from './lib.mjs';

const REPLY_TIMEOUT_MS = 5000;
// Messages the node may push at any time; they neither answer nor excuse a bad message.
const NOTIFICATIONS = new Set(['MEETING_USERS', 'JOIN', 'LEAVE', 'SLOTS', 'RECORDING', 'ACTIVE_SPEAKER']);

// A WebSocket client that queues what happens to it (messages, close, errors) for the test to read.
class Client {
  constructor(ws, label) {
    this.ws = ws;
    this.label = label;
    this.queue = [];
    this.waiter = null;
    ws.on('message', (data, isBinary) => this.push({ kind: 'message', data, isBinary }));
    ws.on('close', (code, reason) => this.push({ kind: 'close', code, reason: reason.toString() }));
    ws.on('error', (e) => this.push({ kind: 'error', error: e.message }));
  }

  static async connect(node, label) {
    const ws = new WebSocket(node.wsUrl, 'parley', { handshakeTimeout: 5000 });
    const client = new Client(ws, label);
    await withTimeout(new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', (e) => reject(new Error(`${label}: WebSocket to ${node.wsUrl} failed: ${e.message}`)));
      ws.once('unexpected-response', (_, res) => reject(new Error(
        `${label}: expected a WebSocket upgrade at ${node.wsUrl}, got HTTP ${res.statusCode}`)));
    }), 6000, `${label}: opening ${node.wsUrl}`);
    if (ws.protocol !== 'parley') {
      throw new Error(`${label}: expected the node to accept subprotocol "parley", it chose "${ws.protocol}"`);
    }
    return client;
  }

  push(ev) {
    this.queue.push(ev);
    if (this.waiter) { const w = this.waiter; this.waiter = null; w(); }
  }

  // Next event, or {kind: 'timeout'}.
  async next(timeoutMs = REPLY_TIMEOUT_MS) {
    const deadline = Date.now() + timeoutMs;
    while (!this.queue.length) {
      const left = deadline - Date.now();
      if (left <= 0) return { kind: 'timeout' };
      await new Promise((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiter = () => { clearTimeout(timer); resolve(); };
      });
    }
    return this.queue.shift();
  }

  // Next event that isn't a notification; JSON messages come back parsed in `msg`.
  async reply(timeoutMs = REPLY_TIMEOUT_MS) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const ev = await this.next(Math.max(0, deadline - Date.now()));
      if (ev.kind !== 'message') return ev;
      if (ev.isBinary) return { ...ev, problem: `a binary frame of ${ev.data.length} bytes` };
      try {
        ev.msg = JSON.parse(ev.data.toString());
      } catch {
        return { ...ev, problem: `a text frame that is not JSON: ${ev.data.toString().slice(0, 120)}` };
      }
      if (ev.msg && NOTIFICATIONS.has(ev.msg.content_type)) continue;
      return ev;
    }
  }

  sendJson(obj) { this.ws.send(JSON.stringify(obj)); }

  close() {
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) this.ws.terminate();
  }
}

function describe(ev) {
  if (ev.kind === 'timeout') return `nothing within ${REPLY_TIMEOUT_MS / 1000} s`;
  if (ev.kind === 'close') return `the connection closed (code ${ev.code}${ev.reason ? `, "${ev.reason}"` : ''})`;
  if (ev.kind === 'error') return `a socket error (${ev.error})`;
  if (ev.problem) return ev.problem;
  return `message ${JSON.stringify(ev.msg).slice(0, 200)}`;
}

function isError(ev) {
  return ev.kind === 'message' && !ev.problem && ev.msg && typeof ev.msg === 'object' &&
    ev.msg.content_type === 'ERROR' && typeof ev.msg.msg === 'string' && ev.msg.msg.trim() !== '';
}

const MINIMAL_SDP = [
  'v=0', 'o=- 1 1 IN IP4 127.0.0.1', 's=-', 't=0 0', 'a=group:BUNDLE 0',
  'm=audio 9 UDP/TLS/RTP/SAVPF 111', 'c=IN IP4 0.0.0.0', 'a=mid:0', 'a=sendonly',
  'a=ice-ufrag:abcd', 'a=ice-pwd:abcdefghijklmnopqrstuvwx', 'a=setup:actpass', 'a=rtcp-mux',
  `a=fingerprint:sha-256 ${Array.from({ length: 32 }, () => 'AB').join(':')}`,
  'a=rtpmap:111 opus/48000/2', '',
].join('\r\n');

// Random characters U+0001..U+00FF (no NUL, which a JSON parser may refuse before the SDP parser
// ever sees the text).
function randomText(n) {
  return Array.from(crypto.randomBytes(n), (b) => String.fromCharCode(b || 1)).join('');
}

// Each case: what to send (text or binary); `join` = start that meeting first (INIT with a host
// token, and get MEETING_USERS);
// `mayClose` = closing the connection is an acceptable answer.
function cases(pid) {
  const m = (i) => `bad-${i}-${pid}`;
  const j = (obj) => JSON.stringify(obj);
  return [
    { name: 'text that is not JSON', text: 'hello, this is {not json' },
    { name: 'truncated JSON', text: '{"meeting_id":"m","content_type":"JO' },
    { name: 'empty text frame', text: '' },
    { name: 'JSON array instead of an object', text: '[{"meeting_id":"m","content_type":"JOIN"}]' },
    { name: 'JSON string instead of an object', text: '"JOIN"' },
    { name: 'JSON number instead of an object', text: '42' },
    { name: 'JSON null instead of an object', text: 'null' },
    { name: 'missing content_type', text: j({ meeting_id: m(1), account_id: 'x' }) },
    { name: 'content_type not a string', text: j({ meeting_id: m(2), content_type: 7, account_id: 'x' }) },
    { name: 'unknown content_type', text: j({ meeting_id: m(3), content_type: 'FROBNICATE' }) },
    { name: 'JOIN with account_id a number', text: j({ meeting_id: m(4), content_type: 'JOIN', account_id: 42 }) },
    { name: 'JOIN with account_id an array', text: j({ meeting_id: m(5), content_type: 'JOIN', account_id: ['x'] }) },
    { name: 'MEETING_USERS with users an object',
      text: j({ meeting_id: m(6), content_type: 'MEETING_USERS', users: { alice: 1 } }) },
    { name: 'OFFER before JOIN', text: j({ meeting_id: m(7), content_type: 'OFFER', sdp: MINIMAL_SDP }) },
    { name: 'OFFER with sdp a number', join: m(8), text: j({ meeting_id: m(8), content_type: 'OFFER', sdp: 12345 }) },
    { name: 'OFFER with sdp an object',
      join: m(9), text: j({ meeting_id: m(9), content_type: 'OFFER', sdp: { type: 'offer' } }) },
    { name: 'OFFER with garbage SDP',
      join: m(10), text: j({ meeting_id: m(10), content_type: 'OFFER', sdp: 'this is not SDP\r\nm=garbage\r\n' }) },
    { name: 'OFFER with half an SDP',
      join: m(11), text: j({ meeting_id: m(11), content_type: 'OFFER', sdp: MINIMAL_SDP.slice(0, 90) }) },
    { name: 'OFFER with random bytes as SDP',
      join: m(12), text: j({ meeting_id: m(12), content_type: 'OFFER', sdp: randomText(600) }) },
    { name: 'binary frame', binary: crypto.randomBytes(300) },
    // RFC 6455 says to fail the connection on invalid UTF-8 in a text frame; ERROR is fine too.
    { name: 'text frame with invalid UTF-8', mayClose: true,
      raw: Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0xc3, 0x28, 0x22, 0x7d]) },
    { name: '1 MiB message', mayClose: true,
      text: j({ meeting_id: m(13), content_type: 'JOIN', account_id: 'a'.repeat(1 << 20) }) },
  ];
}

function parse(ev) {
  if (ev.kind !== 'message' || ev.isBinary) return null;
  try { return JSON.parse(ev.data.toString()); } catch { return null; }
}

// The next event must be a JSON message satisfying `ok`.
async function expectMessage(client, expectation, ok) {
  const ev = await client.next();
  const msg = parse(ev);
  if (!msg || typeof msg !== 'object' || !ok(msg)) {
    throw new Error(`expected: ${expectation}; got ${msg ? `message ${JSON.stringify(msg).slice(0, 200)}` : describe(ev)}`);
  }
  return msg;
}

runTest('bad_signaling', async (t) => {
  const node = await startNode(t);
  const failures = [];
  const list = cases(process.pid);
  for (const c of list) {
    const client = await Client.connect(node, c.name);
    try {
      if (c.join) {
        const token = node.mintToken({ meeting: c.join, account: 'prober', role: 'host' });
        client.sendJson({ meeting_id: c.join, content_type: 'INIT', host: 'prober', token });
        const ev = await client.next();
        const msg = parse(ev);
        if (!msg || msg.content_type !== 'MEETING_USERS') {
          failures.push(`${c.name}: a valid INIT (sent first) should get MEETING_USERS, got ` +
            (msg ? `message ${JSON.stringify(msg).slice(0, 200)}` : describe(ev)));
          continue;
        }
      }
      client.ws.send(c.binary ?? c.raw ?? c.text, { binary: !!c.binary });
      const ev = await client.reply();
      const ok = isError(ev) || (c.mayClose && (ev.kind === 'close' || ev.kind === 'error'));
      const expected = c.mayClose ? 'an ERROR message or the connection closed' : 'an ERROR message with a non-empty msg';
      if (ok) t.log(`ok   ${c.name}: ${describe(ev)}`);
      else {
        t.log(`FAIL ${c.name}: expected ${expected}, got ${describe(ev)}`);
        failures.push(`${c.name}: expected ${expected}, got ${describe(ev)}`);
      }
    } finally {
      client.close();
    }
    node.assertAlive(`after "${c.name}"`);
  }
  if (failures.length) {
    throw new Error(`${failures.length} of ${list.length} bad messages were not handled as expected:\n  ` +
      failures.join('\n  '));
  }

  // The node still works: two fresh clients join one meeting and see each other come and go.
  await sleep(200);
  node.assertAlive('after all bad messages');
  const meeting = `after-abuse-${process.pid}`;
  const a = await Client.connect(node, 'fresh client a');
  const b = await Client.connect(node, 'fresh client b');
  t.defer('close fresh sockets', () => { a.close(); b.close(); });
  a.sendJson({ meeting_id: meeting, content_type: 'INIT', host: 'alice',
    token: node.mintToken({ meeting, account: 'alice', role: 'host' }) });
  await expectMessage(a, 'alice, starting a new meeting (INIT), gets MEETING_USERS with users []',
    (m) => m.content_type === 'MEETING_USERS' && Array.isArray(m.users) && m.users.length === 0);
  b.sendJson({ meeting_id: meeting, content_type: 'JOIN', account_id: 'bob',
    token: node.mintToken({ meeting, account: 'bob', role: 'participant' }) });
  await expectMessage(b, 'bob, joining after alice, gets MEETING_USERS with users ["alice"]',
    (m) => m.content_type === 'MEETING_USERS' && JSON.stringify(m.users) === '["alice"]');
  await expectMessage(a, `alice gets JOIN of bob in ${meeting}`,
    (m) => m.content_type === 'JOIN' && m.account_id === 'bob' && m.meeting_id === meeting);
  b.close();
  await expectMessage(a, 'alice gets LEAVE of bob once bob\'s socket closed',
    (m) => m.content_type === 'LEAVE' && m.account_id === 'bob');
  t.log('fresh clients join, see each other join and leave');
  a.sendJson({ meeting_id: meeting, content_type: 'LEAVE', account_id: 'alice' });
  await sleep(200);
  a.close();
  await node.stop();
});
