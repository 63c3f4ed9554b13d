// The signaling protocol of docs/protocol.md, packet by packet, without a browser: scripted
// WebSocket clients join meetings with tokens minted by `parley-node token` (or forged in JS),
// send every client packet and provoke every documented denial, and compare what the node sends
// back with the document: exact JSON (deep equality of the parsed packet) for MEETING_USERS,
// JOIN, LEAVE, END, JOIN_DENIED, SLOTS and RECORDING; for ERROR its meeting_id and a msg that
// names the reason; for ANSWER an SDP that answers every m-line of the offer. Offers are the
// captured Chromium offer tests/data/chromium_offer.sdp (2 sendonly + 8 recvonly video/audio
// pairs), or built from its m-sections (more slots, or no sending lines for the recorder); no
// media flows. An HTTP server in the test plays the control plane for the END callback.
// Prints one line per case; exits 0 when every case passed.
// Run: node tests/e2e/protocol.test.mjs
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import {
  runTest, startNode, SigClient, decodeToken, deepEqual, describeEvent, httpGet, sleep, startControlPlane,
  withTimeout, randomSecret, REPO_ROOT,
} from './lib.mjs';

const PID = process.pid;
const QUIET_MS = 150;          // "nothing else arrives" window
const CASE_TIMEOUT_MS = 25_000;
const BITRATE = 1500000;

// ---- offers ---------------------------------------------------------------------------------

const CAPTURED = fs.readFileSync(path.join(REPO_ROOT, 'tests', 'data', 'chromium_offer.sdp'), 'utf8');

function splitSdp(sdp) {
  const lines = sdp.split('\r\n');
  if (lines[lines.length - 1] === '') lines.pop();
  const session = [];
  const sections = [];
  for (const line of lines) {
    if (line.startsWith('m=')) sections.push([line]);
    else if (sections.length) sections[sections.length - 1].push(line);
    else session.push(line);
  }
  return { session, sections };
}

const TEMPLATE = (() => {
  const { session, sections } = splitSdp(CAPTURED);
  const dir = (s) => s.find((l) => /^a=(sendonly|recvonly|sendrecv|inactive)$/.test(l)).slice(2);
  const kind = (s) => s[0].slice(2, 7);
  const pick = (k, d) => sections.find((s) => kind(s) === k && dir(s) === d);
  return {
    session, sendAudio: pick('audio', 'sendonly'), sendVideo: pick('video', 'sendonly'),
    recvVideo: pick('video', 'recvonly'), recvAudio: pick('audio', 'recvonly'),
  };
})();

// An m-section with only the payload types `keep` (and the lines about them).
function slimSection(section, keep) {
  const [m, ...rest] = section;
  const parts = m.split(' ');
  const head = parts.slice(0, 3);
  const fmts = parts.slice(3).filter((pt) => keep.includes(pt));
  return [[...head, ...fmts].join(' '), ...rest.filter((l) => {
    const pt = /^a=(rtpmap|rtcp-fb|fmtp):(\d+)/.exec(l);
    return !pt || keep.includes(pt[2]);
  })];
}
const SLIM = {
  recvVideo: slimSection(TEMPLATE.recvVideo, ['96', '97']),   // VP8 + its rtx
  recvAudio: slimSection(TEMPLATE.recvAudio, ['111']),        // opus
};

// An offer like the page makes: (optionally) audio + video sendonly, then pairs of recvonly
// video/audio slots (videoSlots video lines, audioSlots audio lines), mids 0, 1, 2, ...
// `slim` keeps only VP8 and opus on the slot lines (a much smaller SDP).
// Returns {sdp, videoMids, audioMids, mids}.
function buildOffer({ send = true, videoSlots = 8, audioSlots = videoSlots, slim = false } = {}) {
  const recvVideo = slim ? SLIM.recvVideo : TEMPLATE.recvVideo;
  const recvAudio = slim ? SLIM.recvAudio : TEMPLATE.recvAudio;
  const sections = [];
  const videoMids = [];
  const audioMids = [];
  const add = (tpl) => {
    const mid = String(sections.length);
    sections.push(tpl.map((l) => (l.startsWith('a=mid:') ? `a=mid:${mid}` : l)));
    return mid;
  };
  if (send) { add(TEMPLATE.sendAudio); add(TEMPLATE.sendVideo); }
  for (let i = 0; i < Math.max(videoSlots, audioSlots); i++) {
    if (i < videoSlots) videoMids.push(add(recvVideo));
    if (i < audioSlots) audioMids.push(add(recvAudio));
  }
  const mids = sections.map((_, i) => String(i));
  const session = TEMPLATE.session.map((l) => (l.startsWith('a=group:BUNDLE') ? `a=group:BUNDLE ${mids.join(' ')}` : l));
  const sdp = [...session, ...sections.flat(), ''].join('\r\n');
  return { sdp, videoMids, audioMids, mids };
}

const PAGE_OFFER = buildOffer();   // == the captured offer (checked at start)

// ---- node-side helpers ----------------------------------------------------------------------

let opened = [];   // clients of the running case, closed after it

async function connect(node, label) {
  const c = await SigClient.connect(node, label);
  opened.push(c);
  return c;
}

const token = (node, meeting, account, role = 'participant', extra = {}) =>
  node.mintToken({ meeting, account, role, ...extra });

function sortedUsers(list) { return [...list].sort(); }

// The next packet is MEETING_USERS for `meeting` naming exactly `users` (in any order: the
// document does not order the list).
async function expectUsers(c, meeting, users) {
  const want = JSON.stringify({ meeting_id: meeting, content_type: 'MEETING_USERS', users: sortedUsers(users) });
  const msg = await c.nextPacket(`${want} (users in any order)`);
  const ok = msg.content_type === 'MEETING_USERS' && Array.isArray(msg.users) &&
    deepEqual({ ...msg, users: sortedUsers(msg.users) }, JSON.parse(want));
  if (!ok) c.fail(`${want} (users in any order)`, { kind: 'message', msg });
  return msg;
}

const byMid = (a, b) => Number(a.mid) - Number(b.mid) || String(a.mid).localeCompare(String(b.mid));

// The next packet is SLOTS for `meeting` with exactly `entries` ([mid, kind, account] or
// {mid, kind, account_id}); the list is compared in mid order.
async function expectSlots(c, meeting, entries) {
  const want = entries.map((e) => (Array.isArray(e) ? { mid: e[0], kind: e[1], account_id: e[2] } : e)).sort(byMid);
  const wantPkt = { meeting_id: meeting, content_type: 'SLOTS', slots: want };
  const text = JSON.stringify(wantPkt);
  const msg = await c.nextPacket(`${text} (slots in any order)`);
  const ok = msg.content_type === 'SLOTS' && Array.isArray(msg.slots) &&
    deepEqual({ ...msg, slots: [...msg.slots].sort(byMid) }, wantPkt);
  if (!ok) c.fail(`${text} (slots in any order)`, { kind: 'message', msg });
  return msg;
}

// The next packets are exactly `packets`, in any order (for packets whose order the document
// leaves open).
async function expectUnordered(c, packets) {
  const left = packets.map((p) => JSON.stringify(p));
  const got = [];
  while (left.length) {
    const msg = await c.nextPacket(`${left.join(' and ')} (in any order)`);
    const norm = (x) => {
      if (x.content_type === 'SLOTS' && Array.isArray(x.slots)) return { ...x, slots: [...x.slots].sort(byMid) };
      if (x.content_type === 'MEETING_USERS' && Array.isArray(x.users)) return { ...x, users: sortedUsers(x.users) };
      return x;
    };
    const i = left.findIndex((w) => deepEqual(norm(JSON.parse(w)), norm(msg)));
    if (i < 0) {
      throw new Error(`${c.label}: expected ${left.join(' and ')} (in any order)` +
        `${got.length ? ` after ${got.join(', ')}` : ''}; got ${describeEvent({ kind: 'message', msg })}`);
    }
    got.push(left.splice(i, 1)[0]);
  }
}

const quiet = (clients, ms = QUIET_MS) => Promise.all(clients.map((c) => c.expectNothing(ms)));

// An ANSWER to `offer`: exactly {meeting_id, content_type, sdp}; the SDP has one m-line per
// offered line, same kinds and mids in the same order, a sending line answered recvonly and a
// slot (recvonly) answered sendonly.
async function expectAnswer(c, meeting, offer) {
  const msg = await c.nextPacket(`ANSWER for ${meeting}`, 10_000);
  const keys = Object.keys(msg).sort().join(',');
  if (msg.content_type !== 'ANSWER' || msg.meeting_id !== meeting || keys !== 'content_type,meeting_id,sdp' ||
      typeof msg.sdp !== 'string') {
    c.fail(`{"meeting_id":"${meeting}","content_type":"ANSWER","sdp":"v=0..."}`, { kind: 'message', msg });
  }
  const problems = [];
  if (!msg.sdp.startsWith('v=0\r\n')) problems.push('does not start with "v=0\\r\\n"');
  const { sections } = splitSdp(msg.sdp);
  const offered = splitSdp(offer.sdp).sections;
  if (sections.length !== offered.length) problems.push(`${sections.length} m-lines for ${offered.length} offered`);
  for (let i = 0; i < Math.min(sections.length, offered.length); i++) {
    const kind = sections[i][0].slice(2, 7);
    const okind = offered[i][0].slice(2, 7);
    const mid = (sections[i].find((l) => l.startsWith('a=mid:')) || '').slice(6);
    const dir = (sections[i].find((l) => /^a=(sendonly|recvonly|sendrecv|inactive)$/.test(l)) || 'a=?').slice(2);
    const odir = offered[i].find((l) => /^a=(sendonly|recvonly|sendrecv|inactive)$/.test(l)).slice(2);
    const wantDir = odir === 'recvonly' ? 'sendonly' : 'recvonly';
    if (kind !== okind) problems.push(`m-line ${i} is ${kind}, offered ${okind}`);
    if (mid !== String(i)) problems.push(`m-line ${i} has mid "${mid}", offered "${i}"`);
    if (dir !== wantDir) problems.push(`mid ${i} (offered ${odir}) answered ${dir}, expected ${wantDir}`);
    if (problems.length > 5) break;
  }
  if (problems.length) throw new Error(`${c.label}: the ANSWER SDP does not answer the offer: ${problems.join('; ')}`);
  return msg.sdp;
}

// A meeting as the test sees it: who is in (name -> client), so that joins can check the JOIN
// relay to every member.
class Meeting {
  constructor(node, id) { this.node = node; this.id = id; this.members = new Map(); }

  get clients() { return [...this.members.values()]; }

  async init(name = 'host') {
    const c = await connect(this.node, `${name}@${this.id}`);
    c.send({ meeting_id: this.id, content_type: 'INIT', host: name, token: token(this.node, this.id, name, 'host') });
    await c.expect({ meeting_id: this.id, content_type: 'MEETING_USERS', users: [] });
    this.members.set(name, c);
    return c;
  }

  // JOIN (role participant, or host) and check MEETING_USERS and the JOIN relay. `also`: other
  // sockets in the meeting that get the relay too (a recorder).
  // `jsToken`: mint in JS (same format; the bulk joins would otherwise spawn ~50 processes each).
  async join(name, { role = 'participant', also = [], jsToken = false } = {}) {
    const c = await connect(this.node, `${name}@${this.id}`);
    const tk = jsToken ? this.node.jsMintToken({ meeting: this.id, account: name, role }) : token(this.node, this.id, name, role);
    c.send({ meeting_id: this.id, content_type: 'JOIN', account_id: name, token: tk });
    await expectUsers(c, this.id, [...this.members.keys()]);
    for (const o of [...this.clients, ...also]) await o.expect({ meeting_id: this.id, content_type: 'JOIN', account_id: name });
    this.members.set(name, c);
    return c;
  }

  async offer(name, offer = PAGE_OFFER) {
    const c = this.members.get(name);
    c.send({ meeting_id: this.id, content_type: 'OFFER', sdp: offer.sdp });
    return expectAnswer(c, this.id, offer);
  }
}

// A started meeting whose host has made the page's offer (video slots at mids 2, 4, ..., 16)
// and `others` participants u1..uN who never offer.
async function fixture(node, tag, others = 3) {
  const m = new Meeting(node, `${tag}-${PID}`);
  const h = await m.init('host');
  await m.offer('host');
  const users = [];
  for (let i = 1; i <= others; i++) { users.push(`u${i}`); await m.join(`u${i}`); }
  return { m, h, M: m.id, users };
}

const sub = (M, list, n = list.length) => ({
  meeting_id: M, content_type: 'SUBSCRIBE', num_actions: n,
  subscriptions: list.map((x) => (typeof x === 'string' ? { account_id: x, bitrate: BITRATE } : x)),
});
const V = PAGE_OFFER.videoMids;   // ['2', '4', ..., '16']

function httpGetBody(url) {
  return new Promise((resolve) => {
    const req = http.get(url, { timeout: 5000, agent: false }, (res) => {
      let body = '';
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', (e) => resolve({ error: e.message, body: '' }));
  });
}

// ---- the cases ------------------------------------------------------------------------------

runTest('protocol', async (t) => {
  const built = buildOffer().sdp;
  if (built !== CAPTURED) throw new Error('test bug: buildOffer() does not reproduce tests/data/chromium_offer.sdp');

  const control = await startControlPlane(t);
  const controlKey = `ck-${randomSecret()}`;
  const main = await startNode(t, { controlUrl: control.url, controlKey });
  const small = await startNode(t, { maxParticipants: 3, devTokenEndpoint: true });
  const big = await startNode(t, { maxParticipants: 60 });

  const results = [];
  async function check(name, fn) {
    const started = Date.now();
    opened = [];
    try {
      await withTimeout(Promise.resolve().then(fn), CASE_TIMEOUT_MS, name);
      results.push({ name, ok: true });
      t.log(`ok   ${name} (${Date.now() - started} ms)`);
    } catch (e) {
      results.push({ name, ok: false, why: e.message });
      t.log(`FAIL ${name}: ${e.message}`);
    } finally {
      for (const c of opened) c.close();
      opened = [];
      for (const n of [main, small, big]) n.assertAlive(`after "${name}"`);
    }
  }

  // -- tokens ---------------------------------------------------------------------------------

  await check('parley-node token prints an HS256 JWT with the documented claims', async () => {
    const now = Math.floor(Date.now() / 1000);
    const tok = main.mintToken({ meeting: 'm-claims', account: 'alice', role: 'host', tenant: 'acme', ttl: 120 });
    const { header, claims } = decodeToken(tok);
    if (header.alg !== 'HS256') throw new Error(`expected header alg "HS256", got ${JSON.stringify(header)}`);
    const want = { meeting_id: 'm-claims', account_id: 'alice', tenant_id: 'acme', role: 'host' };
    for (const [k, v] of Object.entries(want)) {
      if (claims[k] !== v) throw new Error(`expected claim ${k}=${JSON.stringify(v)}, got ${JSON.stringify(claims)}`);
    }
    if (!Number.isInteger(claims.iat) || Math.abs(claims.iat - now) > 5 || claims.exp !== claims.iat + 120) {
      throw new Error(`expected integer iat ~${now} and exp = iat + 120, got iat ${claims.iat}, exp ${claims.exp}`);
    }
    // HS256: the signature is HMAC-SHA256 of "header.claims" with the secret.
    const [h, c, sig] = tok.split('.');
    const mac = crypto.createHmac('sha256', main.tokenSecret).update(`${h}.${c}`).digest('base64url');
    if (mac !== sig) throw new Error('the signature is not HMAC-SHA256 of header.claims with the --secret');
  });

  await check('--dev-token-endpoint: GET /dev/token -> {"token"} that the node accepts', async () => {
    const M = `dev-${PID}`;
    const r = await httpGetBody(`${small.url}/dev/token?meeting=${M}&account=alice&role=host`);
    if (r.status !== 200) throw new Error(`expected 200 from GET /dev/token, got ${r.status || r.error}: ${r.body}`);
    let body;
    try { body = JSON.parse(r.body); } catch { throw new Error(`expected JSON {"token": "..."}, got ${r.body.slice(0, 200)}`); }
    if (Object.keys(body).join(',') !== 'token' || typeof body.token !== 'string') {
      throw new Error(`expected exactly {"token": "..."}, got ${r.body.slice(0, 200)}`);
    }
    const { claims } = decodeToken(body.token);
    if (claims.meeting_id !== M || claims.account_id !== 'alice' || claims.role !== 'host') {
      throw new Error(`expected claims for ${M}/alice/host, got ${JSON.stringify(claims)}`);
    }
    const c = await connect(small, 'alice');
    c.send({ meeting_id: M, content_type: 'INIT', host: 'alice', token: body.token });
    await c.expect({ meeting_id: M, content_type: 'MEETING_USERS', users: [] });
  });

  await check('without --dev-token-endpoint there is no /dev/token', async () => {
    const r = await httpGetBody(`${main.url}/dev/token?meeting=m&account=alice&role=host`);
    if (r.status === 200 && /token/.test(r.body)) throw new Error(`GET /dev/token answered 200 with ${r.body.slice(0, 100)}`);
  });

  // -- INIT -----------------------------------------------------------------------------------

  await check('INIT by the host -> MEETING_USERS [] (exact)', async () => {
    const m = new Meeting(main, `init-${PID}`);
    const h = await m.init('alice');
    await h.expectNothing(QUIET_MS);
  });

  await check('INIT with a participant token -> ERROR, JOIN_DENIED; the meeting is not started', async () => {
    const M = `init-part-${PID}`;
    const c = await connect(main, 'alice');
    c.send({ meeting_id: M, content_type: 'INIT', host: 'alice', token: token(main, M, 'alice', 'participant') });
    await c.expectDenied(M, /host token/i);
    const d = await connect(main, 'bob');
    d.send({ meeting_id: M, content_type: 'JOIN', account_id: 'bob', token: token(main, M, 'bob') });
    await d.expectDenied(M, /not (been |yet )?started/i);
  });

  const initDenials = [
    ['INIT without a token', (M) => ({ host: 'alice' }), /token/i],
    ['INIT with a token for another account than host', (M) => ({ host: 'mallory', token: token(main, M, 'alice', 'host') }), /another account|account/i],
    ['INIT with a token for another meeting', (M) => ({ host: 'alice', token: token(main, `${M}-other`, 'alice', 'host') }), /another meeting/i],
    ['INIT with a token signed with another secret', (M) => ({ host: 'alice',
      token: main.jsMintToken({ secret: 'not-the-secret', meeting: M, account: 'alice', role: 'host' }) }), /signature/i],
    ['INIT with a recorder token', (M) => ({ host: 'alice', token: token(main, M, 'alice', 'recorder') }), /host token/i],
  ];
  for (const [name, fields, re] of initDenials) {
    await check(`${name} -> ERROR, JOIN_DENIED`, async () => {
      const M = `init-deny-${results.length}-${PID}`;
      const c = await connect(main, 'alice');
      c.send({ meeting_id: M, content_type: 'INIT', ...fields(M) });
      await c.expectDenied(M, re);
    });
  }

  // -- JOIN -----------------------------------------------------------------------------------

  await check('JOIN before INIT -> ERROR (not started), JOIN_DENIED', async () => {
    const M = `not-started-${PID}`;
    const c = await connect(main, 'bob');
    c.send({ meeting_id: M, content_type: 'JOIN', account_id: 'bob', token: token(main, M, 'bob') });
    await c.expectDenied(M, /not (been |yet )?started/i);
  });

  {
    const M = `join-deny-${PID}`;
    let host = null;
    const joinDenials = [
      ['JOIN without a token', () => ({}), /token/i],
      ['JOIN with a token signed with another secret', () => ({
        token: main.jsMintToken({ secret: 'wrong-secret', meeting: M, account: 'bob' }) }), /signature/i],
      ['JOIN with a tampered token (claims changed after signing)', () => {
        const [h, , s] = token(main, M, 'bob').split('.');
        const forged = Buffer.from(JSON.stringify({ meeting_id: M, account_id: 'bob', tenant_id: 'default', role: 'host',
          iat: Math.floor(Date.now() / 1000), exp: Math.floor(Date.now() / 1000) + 3600 })).toString('base64url');
        return { token: `${h}.${forged}.${s}` };
      }, /signature/i],
      ['JOIN with an expired token (parley-node token --ttl -10)', () => ({ token: token(main, M, 'bob', 'participant', { ttl: -10 }) }), /expired/i],
      ['JOIN with an expired token (minted in JS, exp = now - 5)', () => ({
        token: main.jsMintToken({ meeting: M, account: 'bob', iat: Math.floor(Date.now() / 1000) - 60,
          exp: Math.floor(Date.now() / 1000) - 5 }) }), /expired/i],
      ['JOIN with a token for another meeting', () => ({ token: token(main, `${M}-x`, 'bob') }), /another meeting/i],
      ['JOIN with a token for another account', () => ({ token: token(main, M, 'carol') }), /another account/i],
      ['JOIN with a recorder token', () => ({ token: token(main, M, 'bob', 'recorder') }), /recorder/i],
      ['JOIN with a token that is not a JWT', () => ({ token: 'not-a-jwt' }), /malformed|invalid token/i],
      ['JOIN with an alg "none" token', () => ({ token: main.jsMintToken({ meeting: M, account: 'bob',
        header: { alg: 'none', typ: 'JWT' }, signature: '' }) }), /alg|HS256/i],
    ];
    for (const [name, fields, re] of joinDenials) {
      await check(`${name} -> ERROR, JOIN_DENIED; nobody hears of it`, async () => {
        if (!host) {
          const m = new Meeting(main, M);
          host = await m.init('host');
          opened = [];   // the host stays for the following cases
        }
        const c = await connect(main, 'bob');
        c.send({ meeting_id: M, content_type: 'JOIN', account_id: 'bob', ...fields() });
        await c.expectDenied(M, re);
        await host.expectNothing(QUIET_MS);
      });
    }
    await check('after the refused JOINs the same account joins with a valid token', async () => {
      const c = await connect(main, 'bob');
      c.send({ meeting_id: M, content_type: 'JOIN', account_id: 'bob', token: token(main, M, 'bob') });
      await expectUsers(c, M, ['host']);
      await host.expect({ meeting_id: M, content_type: 'JOIN', account_id: 'bob' });
      host.close();
    });
  }

  await check('JOIN relayed exactly {meeting_id, content_type, account_id}; MEETING_USERS exact', async () => {
    const m = new Meeting(main, `relay-${PID}`);
    await m.init('alice');
    await m.join('bob');     // bob: MEETING_USERS ["alice"]; alice: JOIN bob
    await m.join('carol');   // carol: ["alice","bob"]; alice and bob: JOIN carol
    await quiet(m.clients);
  });

  await check('JOIN with a host token is accepted (JOIN takes host or participant)', async () => {
    const m = new Meeting(main, `cohost-${PID}`);
    await m.init('alice');
    await m.join('dave', { role: 'host' });
    await quiet(m.clients);
  });

  await check('JOIN of an account already in the meeting -> ERROR, JOIN_DENIED', async () => {
    const m = new Meeting(main, `dup-${PID}`);
    await m.init('alice');
    await m.join('bob');
    const c = await connect(main, 'bob again');
    c.send({ meeting_id: m.id, content_type: 'JOIN', account_id: 'bob', token: token(main, m.id, 'bob') });
    await c.expectDenied(m.id, /already in the meeting/i);
    await quiet(m.clients);
  });

  await check('INIT by the host while the host is in -> ERROR, JOIN_DENIED', async () => {
    const m = new Meeting(main, `dup-host-${PID}`);
    await m.init('alice');
    const c = await connect(main, 'alice again');
    c.send({ meeting_id: m.id, content_type: 'INIT', host: 'alice', token: token(main, m.id, 'alice', 'host') });
    await c.expectDenied(m.id, /already in the meeting/i);
    await quiet(m.clients);
  });

  await check('INIT of a running meeting lets the host rejoin like JOIN', async () => {
    const m = new Meeting(main, `rejoin-${PID}`);
    const a = await m.init('alice');
    const b = await m.join('bob');
    a.send({ meeting_id: m.id, content_type: 'LEAVE', account_id: 'alice' });
    await b.expect({ meeting_id: m.id, content_type: 'LEAVE', account_id: 'alice' });
    await a.expectClose();
    const a2 = await connect(main, 'alice again');
    a2.send({ meeting_id: m.id, content_type: 'INIT', host: 'alice', token: token(main, m.id, 'alice', 'host') });
    await expectUsers(a2, m.id, ['bob']);
    await b.expect({ meeting_id: m.id, content_type: 'JOIN', account_id: 'alice' });
    await quiet([a2, b]);
  });

  await check('a second join on one socket (JOIN, INIT, RECORD_JOIN) -> ERROR', async () => {
    const m = new Meeting(main, `twice-${PID}`);
    await m.init('alice');
    const b = await m.join('bob');
    b.send({ meeting_id: m.id, content_type: 'JOIN', account_id: 'bob2', token: token(main, m.id, 'bob2') });
    await b.expectError(m.id, /already|joined|second/i);
    b.send({ meeting_id: m.id, content_type: 'INIT', host: 'bob', token: token(main, m.id, 'bob', 'host') });
    await b.expectError(m.id, /already|joined|second/i);
    b.send({ meeting_id: m.id, content_type: 'RECORD_JOIN', token: token(main, m.id, 'rec', 'recorder') });
    await b.expectError(m.id, /already|joined|second/i);
    await quiet(m.clients);
  });

  await check('a full meeting (--max-participants 3) -> ERROR, JOIN_DENIED', async () => {
    const m = new Meeting(small, `full-${PID}`);
    await m.init('alice');
    await m.join('bob');
    await m.join('carol');
    const d = await connect(small, 'dave');
    d.send({ meeting_id: m.id, content_type: 'JOIN', account_id: 'dave', token: token(small, m.id, 'dave') });
    await d.expectDenied(m.id, /full/i);
    await quiet(m.clients);
  });

  await check('default --max-participants is 50: the 51st JOIN is denied', async () => {
    const m = new Meeting(main, `fifty-${PID}`);
    await m.init('p0');
    for (let i = 1; i < 50; i++) await m.join(`p${i}`, { jsToken: true });
    const c = await connect(main, 'p50');
    c.send({ meeting_id: m.id, content_type: 'JOIN', account_id: 'p50', token: token(main, m.id, 'p50') });
    await c.expectDenied(m.id, /full/i);
    await quiet(m.clients.slice(0, 5));
  });

  // -- LEAVE ----------------------------------------------------------------------------------

  await check('LEAVE is relayed exactly to the others; the sender\'s socket closes', async () => {
    const m = new Meeting(main, `leave-${PID}`);
    const a = await m.init('alice');
    const b = await m.join('bob');
    const c = await m.join('carol');
    b.send({ meeting_id: m.id, content_type: 'LEAVE', account_id: 'bob' });
    await a.expect({ meeting_id: m.id, content_type: 'LEAVE', account_id: 'bob' });
    await c.expect({ meeting_id: m.id, content_type: 'LEAVE', account_id: 'bob' });
    await b.expectClose();
    await quiet([a, c]);
  });

  await check('closing the socket is a LEAVE', async () => {
    const m = new Meeting(main, `close-${PID}`);
    const a = await m.init('alice');
    const b = await m.join('bob');
    b.close();
    await a.expect({ meeting_id: m.id, content_type: 'LEAVE', account_id: 'bob' });
    await a.expectNothing(QUIET_MS);
  });

  await check('LEAVE with someone else\'s account_id -> ERROR; nobody leaves', async () => {
    const m = new Meeting(main, `leave-other-${PID}`);
    const a = await m.init('alice');
    const b = await m.join('bob');
    const c = await m.join('carol');
    b.send({ meeting_id: m.id, content_type: 'LEAVE', account_id: 'carol' });
    await b.expectError(m.id, /another account|sender/i);
    await quiet([a, b, c]);
    await m.join('dave');   // MEETING_USERS still lists alice, bob and carol
  });

  // -- END ------------------------------------------------------------------------------------

  await check('END from a participant -> ERROR; the meeting goes on', async () => {
    const m = new Meeting(main, `end-part-${PID}`);
    const a = await m.init('alice');
    const b = await m.join('bob');
    b.send({ meeting_id: m.id, content_type: 'END' });
    await b.expectError(m.id, /only the host/i);
    await quiet([a, b]);
    await m.join('carol');
  });

  const endedId = `end-${PID}`;
  await check('END from the host: END to every socket (recorder too), all close, control plane POST', async () => {
    const m = new Meeting(main, endedId);
    const a = await m.init('alice');
    await m.join('bob');
    await m.join('carol');
    const r = await connect(main, 'rec');
    r.send({ meeting_id: m.id, content_type: 'RECORD_JOIN', token: token(main, m.id, 'rec', 'recorder') });
    await expectUsers(r, m.id, ['alice', 'bob', 'carol']);
    for (const c of m.clients) await c.expect({ meeting_id: m.id, content_type: 'RECORDING', recording: true });
    await sleep(QUIET_MS);
    r.queue = r.queue.filter((ev) => !(ev.msg && ev.msg.content_type === 'RECORDING' && ev.msg.recording === true));
    const before = Date.now();
    a.send({ meeting_id: m.id, content_type: 'END' });
    for (const c of [...m.clients, r]) {
      await c.expect({ meeting_id: m.id, content_type: 'END' });
      await c.expectClose();
    }
    const p = `/meetings/${m.id}/end`;
    const reqs = await control.waitFor(p, 1, 5000);
    if (!reqs.length) {
      throw new Error(`expected POST ${p} on the control plane within 5 s; got ` +
        `${control.requests.length ? control.requests.map((q) => `${q.method} ${q.url}`).join(', ') : 'no request'}`);
    }
    const q = reqs[0];
    if (q.method !== 'POST') throw new Error(`expected POST ${p}, got ${q.method}`);
    if (q.headers.authorization !== `Bearer ${controlKey}`) {
      throw new Error(`expected "Authorization: Bearer <--control-key>", got ${JSON.stringify(q.headers.authorization)}`);
    }
    let body;
    try { body = JSON.parse(q.body); } catch { throw new Error(`expected a JSON body, got ${JSON.stringify(q.body.slice(0, 200))}`); }
    const keys = Object.keys(body).sort().join(',');
    if (keys !== 'ended_at,ended_by,meeting_id' || body.meeting_id !== m.id || body.ended_by !== 'alice' ||
        typeof body.ended_at !== 'string' || !/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/.test(body.ended_at) ||
        Math.abs(Date.parse(body.ended_at) - before) > 60_000) {
      throw new Error(`expected body {"meeting_id":"${m.id}","ended_by":"alice","ended_at":"<now, ISO 8601 UTC>"}, ` +
        `got ${q.body}`);
    }
    await sleep(500);
    if (control.forPath(p).length !== 1) throw new Error(`expected one POST ${p} (it succeeded), got ${control.forPath(p).length}`);
  });

  await check('after END: JOIN and INIT to the ended meeting -> ERROR, JOIN_DENIED', async () => {
    const c = await connect(main, 'late bob');
    c.send({ meeting_id: endedId, content_type: 'JOIN', account_id: 'bob', token: token(main, endedId, 'bob') });
    await c.expectDenied(endedId, /has ended|ended/i);
    const h = await connect(main, 'late alice');
    h.send({ meeting_id: endedId, content_type: 'INIT', host: 'alice', token: token(main, endedId, 'alice', 'host') });
    await h.expectDenied(endedId, /ended/i);
  });

  await check('END by a participant that JOINed with a host token', async () => {
    const m = new Meeting(main, `end-cohost-${PID}`);
    await m.init('alice');
    const d = await m.join('dave', { role: 'host' });
    await m.join('bob');
    d.send({ meeting_id: m.id, content_type: 'END' });
    for (const c of m.clients) {
      await c.expect({ meeting_id: m.id, content_type: 'END' });
      await c.expectClose();
    }
    const reqs = await control.waitFor(`/meetings/${m.id}/end`, 1, 5000);
    const body = reqs.length ? JSON.parse(reqs[0].body) : null;
    if (!body || body.ended_by !== 'dave') {
      throw new Error(`expected POST /meetings/${m.id}/end with ended_by "dave", got ${reqs.length ? reqs[0].body : 'no request'}`);
    }
  });

  await check('the END callback is retried when the control plane fails', async () => {
    const m = new Meeting(main, `end-retry-${PID}`);
    const a = await m.init('alice');
    const p = `/meetings/${m.id}/end`;
    control.failFirst.set(p, 1);
    a.send({ meeting_id: m.id, content_type: 'END' });
    await a.expect({ meeting_id: m.id, content_type: 'END' });
    await a.expectClose();
    const reqs = await control.waitFor(p, 2, 8000);
    if (reqs.length < 2) throw new Error(`expected a retry after a 503, got ${reqs.length} request(s) in 8 s`);
    if (reqs[1].body !== reqs[0].body) throw new Error(`the retry has another body: ${reqs[0].body} / ${reqs[1].body}`);
    await sleep(1500);
    if (control.forPath(p).length !== 2) throw new Error(`expected no attempt after the successful retry, got ${control.forPath(p).length} in all`);
  });

  await check('the END callback gives up after at most 3 retries', async () => {
    const m = new Meeting(main, `end-giveup-${PID}`);
    const a = await m.init('alice');
    const p = `/meetings/${m.id}/end`;
    control.failFirst.set(p, 1000);
    a.send({ meeting_id: m.id, content_type: 'END' });
    await a.expect({ meeting_id: m.id, content_type: 'END' });
    await a.expectClose();
    // Wait until 3 s pass without a new attempt (at most 15 s).
    const deadline = Date.now() + 15_000;
    let n = 0;
    for (;;) {
      const reqs = await control.waitFor(p, n + 1, 3000);
      if (reqs.length === n || Date.now() > deadline) break;
      n = reqs.length;
    }
    n = control.forPath(p).length;
    t.log(`     (${n} attempts in all)`);
    if (n < 2 || n > 4) throw new Error(`expected the first POST and 1 to 3 retries (2 to 4 attempts), got ${n}`);
    control.failFirst.delete(p);
  });

  await check('END without --control-url: relayed and closed, no callback, the node stays up', async () => {
    const m = new Meeting(small, `end-noctl-${PID}`);
    const a = await m.init('alice');
    await m.join('bob');
    a.send({ meeting_id: m.id, content_type: 'END' });
    for (const c of m.clients) {
      await c.expect({ meeting_id: m.id, content_type: 'END' });
      await c.expectClose();
    }
    await sleep(500);
    small.assertAlive('after END without --control-url');
    const home = await httpGet(`${small.url}/`, 3000);
    if (home.status !== 200) throw new Error(`expected GET / 200 after END, got ${home.status || home.error}`);
    // The other node heartbeats meanwhile: only calls about this meeting would be the small node's.
    if (control.requests.some((r) => r.url.includes(m.id))) throw new Error('a node without --control-url called the control plane');
  });

  // -- OFFER / ANSWER -------------------------------------------------------------------------

  await check('OFFER -> ANSWER answering every m-line (sendonly -> recvonly, slots -> sendonly)', async () => {
    const m = new Meeting(main, `offer-${PID}`);
    const a = await m.init('alice');
    await m.offer('alice');
    await a.expectNothing(QUIET_MS);
  });

  await check('a second OFFER -> ERROR', async () => {
    const m = new Meeting(main, `offer2-${PID}`);
    const a = await m.init('alice');
    await m.offer('alice');
    a.send({ meeting_id: m.id, content_type: 'OFFER', sdp: PAGE_OFFER.sdp });
    await a.expectError(m.id, /renegotiat|one offer|once|second/i);
    await a.expectNothing(QUIET_MS);
  });

  await check('OFFER with SDP that cannot be parsed, or sdp not a string -> ERROR', async () => {
    const m = new Meeting(main, `offer-bad-${PID}`);
    const a = await m.init('alice');
    a.send({ meeting_id: m.id, content_type: 'OFFER', sdp: 'v=0\r\nthis is not SDP\r\nm=garbage\r\n' });
    await a.expectError(m.id, /sdp|offer|pars|m=|line/i);
    a.send({ meeting_id: m.id, content_type: 'OFFER', sdp: 42 });
    await a.expectError(m.id, /sdp/i);
    await m.offer('alice');   // still no offer taken: a good one is answered
  });

  await check('audio is automatic once both offered; the slot is freed on LEAVE', async () => {
    const m = new Meeting(main, `audio-${PID}`);
    const a = await m.init('alice');
    await m.offer('alice');
    const b = await m.join('bob');
    await m.offer('bob');
    await expectSlots(b, m.id, [['3', 'audio', 'alice']]);
    await expectSlots(a, m.id, [['3', 'audio', 'bob']]);
    b.send({ meeting_id: m.id, content_type: 'LEAVE', account_id: 'bob' });
    await expectUnordered(a, [
      { meeting_id: m.id, content_type: 'LEAVE', account_id: 'bob' },
      { meeting_id: m.id, content_type: 'SLOTS', slots: [] },
    ]);
    await a.expectNothing(QUIET_MS);
  });

  // -- SUBSCRIBE ------------------------------------------------------------------------------

  await check('SUBSCRIBE -> SLOTS: video feeds in the first free video slots', async () => {
    const { h, M } = await fixture(main, 'sub');
    h.send(sub(M, ['u1']));
    await expectSlots(h, M, [[V[0], 'video', 'u1']]);
    h.send(sub(M, ['u2', 'u3']));
    await expectSlots(h, M, [[V[0], 'video', 'u1'], [V[1], 'video', 'u2'], [V[2], 'video', 'u3']]);
    await h.expectNothing(QUIET_MS);
  });

  await check('SUBSCRIBE before the OFFER -> ERROR; after it, the same SUBSCRIBE works', async () => {
    const m = new Meeting(main, `sub-early-${PID}`);
    const h = await m.init('host');
    await m.join('u1');
    h.send(sub(m.id, ['u1']));
    await h.expectError(m.id, /offer/i);
    await m.offer('host');
    h.send(sub(m.id, ['u1']));
    await expectSlots(h, m.id, [[V[0], 'video', 'u1']]);
  });

  await check('SUBSCRIBE with no entries (num_actions 0) -> ERROR', async () => {
    const { h, M } = await fixture(main, 'sub-empty', 1);
    h.send({ meeting_id: M, content_type: 'SUBSCRIBE', num_actions: 0, subscriptions: [] });
    await h.expectError(M, /at least one/i);
    await h.expectNothing(QUIET_MS);
  });

  await check('SUBSCRIBE again to the same account only changes its bitrate (bitrates 0 and 100000000 ok)', async () => {
    const { h, M } = await fixture(main, 'sub-again');
    h.send(sub(M, ['u1', 'u2']));
    await expectSlots(h, M, [[V[0], 'video', 'u1'], [V[1], 'video', 'u2']]);
    h.send(sub(M, [{ account_id: 'u2', bitrate: 0 }]));
    await expectSlots(h, M, [[V[0], 'video', 'u1'], [V[1], 'video', 'u2']]);
    h.send(sub(M, [{ account_id: 'u1', bitrate: 100000000 }]));
    await expectSlots(h, M, [[V[0], 'video', 'u1'], [V[1], 'video', 'u2']]);
  });

  const subDenials = [
    ['num_actions not the number of entries', (M) => sub(M, ['u2', 'u3'], 3), /num_actions/i],
    ['an account not in the meeting', (M) => sub(M, ['u2', 'nobody']), /nobody/],
    ['the subscriber\'s own account', (M) => sub(M, ['host']), /yourself|own account/i],
    ['the same account twice', (M) => sub(M, ['u2', 'u2']), /u2.*(twice|duplicate|more than once)/i],
    ['bitrate above 100000000', (M) => sub(M, [{ account_id: 'u2', bitrate: 100000001 }]), /bitrate/i],
    ['a negative bitrate', (M) => sub(M, [{ account_id: 'u2', bitrate: -1 }]), /bitrate/i],
    ['bitrate not an integer', (M) => sub(M, [{ account_id: 'u2', bitrate: '1500000' }]), /bitrate/i],
    ['bitrate missing', (M) => sub(M, [{ account_id: 'u2' }]), /bitrate/i],
    ['num_actions not an integer', (M) => ({ ...sub(M, ['u2']), num_actions: '1' }), /num_actions/i],
    ['subscriptions not a list', (M) => ({ meeting_id: M, content_type: 'SUBSCRIBE', num_actions: 1, subscriptions: { account_id: 'u2' } }), /subscriptions/i],
  ];
  for (const [name, pkt, re] of subDenials) {
    await check(`SUBSCRIBE with ${name} -> ERROR, nothing changes`, async () => {
      const { h, M } = await fixture(main, `sub-deny-${results.length}`);
      h.send(sub(M, ['u1']));
      await expectSlots(h, M, [[V[0], 'video', 'u1']]);
      h.send(pkt(M));
      await h.expectError(M, re);
      h.send(sub(M, ['u3']));   // the refused packet changed nothing: u2 has no slot
      await expectSlots(h, M, [[V[0], 'video', 'u1'], [V[1], 'video', 'u3']]);
    });
  }

  await check('SUBSCRIBE to more feeds than the offer has video slots -> ERROR, nothing changes', async () => {
    const { h, M } = await fixture(main, 'sub-many', 10);
    h.send(sub(M, ['u1']));
    await expectSlots(h, M, [[V[0], 'video', 'u1']]);
    h.send(sub(M, ['u2', 'u3', 'u4', 'u5', 'u6', 'u7', 'u8', 'u9']));   // 9 feeds, 8 slots
    await h.expectError(M, /video slot/i);
    h.send(sub(M, ['u10']));
    await expectSlots(h, M, [[V[0], 'video', 'u1'], [V[1], 'video', 'u10']]);
    h.send(sub(M, ['u2', 'u3', 'u4', 'u5', 'u6', 'u7']));   // exactly 8: fine
    await expectSlots(h, M, [[V[0], 'video', 'u1'], [V[1], 'video', 'u10'],
      ...['u2', 'u3', 'u4', 'u5', 'u6', 'u7'].map((u, i) => [V[i + 2], 'video', u])]);
  });

  // -- UNSUBSCRIBE ----------------------------------------------------------------------------

  await check('UNSUBSCRIBE with the list under num_actions -> SLOTS without it', async () => {
    const { h, M } = await fixture(main, 'unsub-na');
    h.send(sub(M, ['u1', 'u2', 'u3']));
    await expectSlots(h, M, [[V[0], 'video', 'u1'], [V[1], 'video', 'u2'], [V[2], 'video', 'u3']]);
    h.send({ meeting_id: M, content_type: 'UNSUBSCRIBE', num_actions: [{ account_id: 'u2', bitrate: 0 }] });
    await expectSlots(h, M, [[V[0], 'video', 'u1'], [V[2], 'video', 'u3']]);
    h.send(sub(M, ['u2']));   // the freed slot is the first free one again
    await expectSlots(h, M, [[V[0], 'video', 'u1'], [V[1], 'video', 'u2'], [V[2], 'video', 'u3']]);
  });

  await check('UNSUBSCRIBE with the list under unsubscriptions -> SLOTS without them', async () => {
    const { h, M } = await fixture(main, 'unsub-u');
    h.send(sub(M, ['u1', 'u2', 'u3']));
    await expectSlots(h, M, [[V[0], 'video', 'u1'], [V[1], 'video', 'u2'], [V[2], 'video', 'u3']]);
    h.send({ meeting_id: M, content_type: 'UNSUBSCRIBE', unsubscriptions: [{ account_id: 'u1' }, { account_id: 'u3' }] });
    await expectSlots(h, M, [[V[1], 'video', 'u2']]);
  });

  await check('UNSUBSCRIBE of an account not subscribed -> ERROR, nothing changes', async () => {
    const { h, M } = await fixture(main, 'unsub-deny');
    h.send(sub(M, ['u1', 'u2']));
    await expectSlots(h, M, [[V[0], 'video', 'u1'], [V[1], 'video', 'u2']]);
    h.send({ meeting_id: M, content_type: 'UNSUBSCRIBE', num_actions: [{ account_id: 'u1', bitrate: 0 }, { account_id: 'u3', bitrate: 0 }] });
    await h.expectError(M, /not subscribed.*u3/i);
    h.send({ meeting_id: M, content_type: 'UNSUBSCRIBE', unsubscriptions: [{ account_id: 'u1' }] });   // u1 was still there
    await expectSlots(h, M, [[V[1], 'video', 'u2']]);
  });

  await check('UNSUBSCRIBE with both lists, or with neither -> ERROR', async () => {
    const { h, M } = await fixture(main, 'unsub-lists');
    h.send(sub(M, ['u1']));
    await expectSlots(h, M, [[V[0], 'video', 'u1']]);
    h.send({ meeting_id: M, content_type: 'UNSUBSCRIBE', num_actions: [{ account_id: 'u1', bitrate: 0 }],
      unsubscriptions: [{ account_id: 'u1' }] });
    await h.expectError(M, /num_actions.*unsubscriptions|both|one of/i);
    h.send({ meeting_id: M, content_type: 'UNSUBSCRIBE' });
    await h.expectError(M, /unsubscriptions|num_actions/);
    h.send({ meeting_id: M, content_type: 'UNSUBSCRIBE', unsubscriptions: [{ account_id: 'u1' }] });
    await expectSlots(h, M, []);
  });

  // -- UNSUB_SUB ------------------------------------------------------------------------------

  const unsubSub = (M, un, su, n = un.length + su.length) => ({
    meeting_id: M, content_type: 'UNSUB_SUB', num_actions: n,
    unsubscribe: un.map((a) => ({ account_id: a, bitrate: 0 })),
    subscribe: su.map((a) => ({ account_id: a, bitrate: BITRATE })),
  });

  await check('UNSUB_SUB: the freed slot goes to the new account (same mid)', async () => {
    const { h, M } = await fixture(main, 'swap');
    h.send(sub(M, ['u1', 'u2']));
    await expectSlots(h, M, [[V[0], 'video', 'u1'], [V[1], 'video', 'u2']]);
    h.send(unsubSub(M, ['u1'], ['u3']));
    await expectSlots(h, M, [[V[0], 'video', 'u3'], [V[1], 'video', 'u2']]);
    await h.expectNothing(QUIET_MS);
  });

  await check('UNSUB_SUB: freed slots go to the subscriptions in order, then free slots', async () => {
    const { h, M } = await fixture(main, 'swap-order', 6);
    h.send(sub(M, ['u1', 'u2', 'u3']));
    await expectSlots(h, M, [[V[0], 'video', 'u1'], [V[1], 'video', 'u2'], [V[2], 'video', 'u3']]);
    h.send(unsubSub(M, ['u1', 'u3'], ['u4', 'u5', 'u6']));
    await expectSlots(h, M, [[V[0], 'video', 'u4'], [V[1], 'video', 'u2'], [V[2], 'video', 'u5'], [V[3], 'video', 'u6']]);
  });

  await check('UNSUB_SUB with every video slot taken is checked after the unsubscriptions', async () => {
    const { h, M, users } = await fixture(main, 'swap-full', 9);
    h.send(sub(M, users.slice(0, 8)));
    await expectSlots(h, M, users.slice(0, 8).map((u, i) => [V[i], 'video', u]));
    h.send(unsubSub(M, ['u8'], ['u9']));
    await expectSlots(h, M, [...users.slice(0, 7).map((u, i) => [V[i], 'video', u]), [V[7], 'video', 'u9']]);
  });

  const swapDenials = [
    ['an unknown account in subscribe', (M) => unsubSub(M, ['u1'], ['nobody']), /nobody/],
    ['an account not subscribed in unsubscribe', (M) => unsubSub(M, ['u2'], ['u3']), /not subscribed.*u2/i],
    ['num_actions not the number of entries', (M) => unsubSub(M, ['u1'], ['u3'], 1), /num_actions/i],
    ['more feeds than video slots after the swap', (M) => unsubSub(M, ['u1'], ['u2', 'u3', 'u4', 'u5', 'u6', 'u7', 'u8', 'u9', 'u10']), /video slot/i],
  ];
  for (const [name, pkt, re] of swapDenials) {
    await check(`UNSUB_SUB with ${name} -> ERROR, nothing applied`, async () => {
      const { h, M } = await fixture(main, `swap-deny-${results.length}`, 10);
      h.send(sub(M, ['u1']));
      await expectSlots(h, M, [[V[0], 'video', 'u1']]);
      h.send(pkt(M));
      await h.expectError(M, re);
      h.send(sub(M, ['u4']));   // u1 still subscribed, nothing else added
      await expectSlots(h, M, [[V[0], 'video', 'u1'], [V[1], 'video', 'u4']]);
    });
  }

  await check('a subscribed account leaves: LEAVE and SLOTS without it; the slot is reused', async () => {
    const { h, m, M } = await fixture(main, 'sub-leave');
    h.send(sub(M, ['u1', 'u2']));
    await expectSlots(h, M, [[V[0], 'video', 'u1'], [V[1], 'video', 'u2']]);
    const u1 = m.members.get('u1');
    u1.send({ meeting_id: M, content_type: 'LEAVE', account_id: 'u1' });
    await expectUnordered(h, [
      { meeting_id: M, content_type: 'LEAVE', account_id: 'u1' },
      { meeting_id: M, content_type: 'SLOTS', slots: [{ mid: V[1], kind: 'video', account_id: 'u2' }] },
    ]);
    h.send(sub(M, ['u3']));
    await expectSlots(h, M, [[V[0], 'video', 'u3'], [V[1], 'video', 'u2']]);
  });

  // -- limits ---------------------------------------------------------------------------------

  await check('an offer as the page makes it with 49 slot pairs (under --max-message-bytes) -> ANSWER', async () => {
    const offer49 = buildOffer({ videoSlots: 49, audioSlots: 49 });
    const recorderOffer = buildOffer({ send: false, videoSlots: 50, audioSlots: 49 });
    t.log(`     (offer sizes: participant ${offer49.sdp.length} bytes, recorder ${recorderOffer.sdp.length} bytes; ` +
      `limit of a message ${512 << 10})`);
    const m = new Meeting(main, `big-offer-${PID}`);
    await m.init('host');
    await m.offer('host', offer49);
    const r = await connect(main, 'rec');
    r.send({ meeting_id: m.id, content_type: 'RECORD_JOIN', token: token(main, m.id, 'rec', 'recorder') });
    await expectUsers(r, m.id, ['host']);
    await sleep(QUIET_MS);
    r.queue = r.queue.filter((ev) => !(ev.msg && ev.msg.content_type === 'RECORDING'));
    r.send({ meeting_id: m.id, content_type: 'OFFER', sdp: recorderOffer.sdp });
    await expectAnswer(r, m.id, recorderOffer);
  });

  await check('49 video feeds for a participant (49-slot offer), the 50th -> ERROR', async () => {
    const offer49 = buildOffer({ videoSlots: 49, audioSlots: 49, slim: true });
    const m = new Meeting(big, `limit-${PID}`);
    const h = await m.init('host');
    await m.offer('host', offer49);
    const users = [];
    for (let i = 1; i <= 50; i++) { users.push(`u${i}`); await m.join(`u${i}`, { jsToken: true }); }
    h.send(sub(m.id, users.slice(0, 49)));
    await expectSlots(h, m.id, users.slice(0, 49).map((u, i) => [offer49.videoMids[i], 'video', u]));
    h.send(sub(m.id, ['u50']));
    await h.expectError(m.id, /(too many|at most|limit).*49|49 video feeds/i);
    // A second participant asks for 50 at once.
    const u50 = m.members.get('u50');
    await m.offer('u50', offer49);
    await expectSlots(u50, m.id, [[offer49.audioMids[0], 'audio', 'host']]);
    await expectSlots(h, m.id, [...users.slice(0, 49).map((u, i) => [offer49.videoMids[i], 'video', u]),
      [offer49.audioMids[0], 'audio', 'u50']]);
    u50.send(sub(m.id, ['host', ...users.slice(0, 49)]));
    await u50.expectError(m.id, /(too many|at most|limit).*49|49 video feeds/i);
    await u50.expectNothing(QUIET_MS);
  });

  await check('the recorder takes 50 video feeds (50-slot offer), the 51st -> ERROR', async () => {
    const offerRec = buildOffer({ send: false, videoSlots: 50, audioSlots: 49, slim: true });
    const m = new Meeting(big, `limit-rec-${PID}`);
    await m.init('host');
    const users = [];
    for (let i = 1; i <= 50; i++) { users.push(`u${i}`); await m.join(`u${i}`, { jsToken: true }); }
    const r = await connect(big, 'rec');
    r.send({ meeting_id: m.id, content_type: 'RECORD_JOIN', token: token(big, m.id, 'rec', 'recorder') });
    await expectUsers(r, m.id, ['host', ...users]);
    for (const c of m.clients) await c.expect({ meeting_id: m.id, content_type: 'RECORDING', recording: true });
    await sleep(QUIET_MS);
    r.queue = r.queue.filter((ev) => !(ev.msg && ev.msg.content_type === 'RECORDING' && ev.msg.recording === true));
    r.send({ meeting_id: m.id, content_type: 'OFFER', sdp: offerRec.sdp });
    await expectAnswer(r, m.id, offerRec);
    r.send(sub(m.id, users));
    await expectSlots(r, m.id, users.map((u, i) => [offerRec.videoMids[i], 'video', u]));
    r.send(sub(m.id, ['host']));
    await r.expectError(m.id, /(too many|at most|limit).*50|50 video feeds/i);
  });

  // -- RECORD_JOIN ----------------------------------------------------------------------------

  await check('RECORD_JOIN: MEETING_USERS, RECORDING true to all (exact), no JOIN relay; later joiners', async () => {
    const m = new Meeting(main, `rec-${PID}`);
    const a = await m.init('alice');
    await m.offer('alice');
    const b = await m.join('bob');
    const r = await connect(main, 'rec');
    r.send({ meeting_id: m.id, content_type: 'RECORD_JOIN', token: token(main, m.id, 'rec', 'recorder') });
    await expectUsers(r, m.id, ['alice', 'bob']);
    await a.expect({ meeting_id: m.id, content_type: 'RECORDING', recording: true });
    await b.expect({ meeting_id: m.id, content_type: 'RECORDING', recording: true });
    await quiet([a, b]);
    // The recorder itself may or may not hear RECORDING; nothing else.
    const ev = await r.next(QUIET_MS);
    if (ev.kind !== 'timeout' && !(ev.msg && deepEqual(ev.msg, { meeting_id: m.id, content_type: 'RECORDING', recording: true }))) {
      r.fail('nothing (or RECORDING true) after MEETING_USERS', ev);
    }
    // A participant joining now: MEETING_USERS without the recorder, and RECORDING true.
    const c = await connect(main, 'carol');
    c.send({ meeting_id: m.id, content_type: 'JOIN', account_id: 'carol', token: token(main, m.id, 'carol') });
    await expectUnordered(c, [
      { meeting_id: m.id, content_type: 'MEETING_USERS', users: ['alice', 'bob'] },
      { meeting_id: m.id, content_type: 'RECORDING', recording: true },
    ]);
    for (const o of [a, b, r]) await o.expect({ meeting_id: m.id, content_type: 'JOIN', account_id: 'carol' });
    m.members.set('carol', c);
    await quiet([a, b, c]);
    // The recorder offers (no sending lines): ANSWER, then alice's audio in its first audio slot.
    const offerRec = buildOffer({ send: false, videoSlots: 8 });
    r.send({ meeting_id: m.id, content_type: 'OFFER', sdp: offerRec.sdp });
    await expectAnswer(r, m.id, offerRec);
    await expectSlots(r, m.id, [[offerRec.audioMids[0], 'audio', 'alice']]);
    // It subscribes like anyone else.
    r.send(sub(m.id, ['bob', 'alice']));
    await expectSlots(r, m.id, [[offerRec.audioMids[0], 'audio', 'alice'], [offerRec.videoMids[0], 'video', 'bob'],
      [offerRec.videoMids[1], 'video', 'alice']]);
    // END is for hosts.
    r.send({ meeting_id: m.id, content_type: 'END' });
    await r.expectError(m.id, /only the host/i);
    // The recorder leaves: RECORDING false to everyone, nothing else.
    r.send({ meeting_id: m.id, content_type: 'LEAVE', account_id: 'rec' });
    await r.expectClose();
    for (const o of [a, b, c]) await o.expect({ meeting_id: m.id, content_type: 'RECORDING', recording: false });
    await quiet([a, b, c]);
  });

  await check('the recorder closing its socket -> RECORDING false', async () => {
    const m = new Meeting(main, `rec-close-${PID}`);
    const a = await m.init('alice');
    const r = await connect(main, 'rec');
    r.send({ meeting_id: m.id, content_type: 'RECORD_JOIN', token: token(main, m.id, 'rec', 'recorder') });
    await expectUsers(r, m.id, ['alice']);
    await a.expect({ meeting_id: m.id, content_type: 'RECORDING', recording: true });
    r.close();
    await a.expect({ meeting_id: m.id, content_type: 'RECORDING', recording: false });
    await a.expectNothing(QUIET_MS);
  });

  await check('a recorder OFFER that publishes -> ERROR', async () => {
    const m = new Meeting(main, `rec-pub-${PID}`);
    await m.init('alice');
    const r = await connect(main, 'rec');
    r.send({ meeting_id: m.id, content_type: 'RECORD_JOIN', token: token(main, m.id, 'rec', 'recorder') });
    await expectUsers(r, m.id, ['alice']);
    await sleep(QUIET_MS);
    r.queue = r.queue.filter((ev) => !(ev.msg && ev.msg.content_type === 'RECORDING'));
    r.send({ meeting_id: m.id, content_type: 'OFFER', sdp: PAGE_OFFER.sdp });
    await r.expectError(m.id, /recorder.*(publish|recvonly)/i);
  });

  const recDenials = [
    ['a participant token', (M) => token(main, M, 'rec', 'participant'), /recorder token/i],
    ['a host token', (M) => token(main, M, 'rec', 'host'), /recorder token/i],
    ['a recorder token for another meeting', (M) => token(main, `${M}-x`, 'rec', 'recorder'), /another meeting/i],
    ['an expired recorder token', (M) => token(main, M, 'rec', 'recorder', { ttl: -10 }), /expired/i],
    ['no token', () => undefined, /token/i],
  ];
  for (const [name, tok, re] of recDenials) {
    await check(`RECORD_JOIN with ${name} -> ERROR, JOIN_DENIED; no RECORDING`, async () => {
      const m = new Meeting(main, `rec-deny-${results.length}-${PID}`);
      const a = await m.init('alice');
      const r = await connect(main, 'rec');
      const tk = tok(m.id);
      r.send({ meeting_id: m.id, content_type: 'RECORD_JOIN', ...(tk ? { token: tk } : {}) });
      await r.expectDenied(m.id, re);
      await a.expectNothing(QUIET_MS);
    });
  }

  // -- packets the node refuses ---------------------------------------------------------------

  await check('packets that need a joined socket, sent before INIT / JOIN / RECORD_JOIN -> ERROR', async () => {
    const M = `early-${PID}`;
    const packets = [
      { content_type: 'OFFER', sdp: PAGE_OFFER.sdp },
      sub(M, ['bob']),
      { content_type: 'UNSUBSCRIBE', unsubscriptions: [{ account_id: 'bob' }] },
      unsubSub(M, ['bob'], ['carol']),
      { content_type: 'LEAVE', account_id: 'bob' },
      { content_type: 'END' },
    ];
    for (const [i, p] of packets.entries()) {
      const c = await connect(main, `early ${p.content_type}`);   // a fresh socket: no strikes piling up
      c.send({ meeting_id: M, ...p });
      await c.expectError(M, /before (INIT|JOIN)/i);
      if (i === 0) await c.expectNothing(QUIET_MS);
    }
  });

  await check('a meeting_id other than the joined meeting -> ERROR; still in the meeting', async () => {
    const m = new Meeting(main, `wrong-id-${PID}`);
    const a = await m.init('alice');
    await m.offer('alice');
    const b = await m.join('bob');
    a.send(sub(`other-${PID}`, ['bob']));
    await a.expectError([m.id, `other-${PID}`], /meeting_id|meeting/i);
    b.send({ meeting_id: `other-${PID}`, content_type: 'LEAVE', account_id: 'bob' });
    await b.expectError([m.id, `other-${PID}`], /meeting_id|meeting/i);
    await quiet([a, b]);
    a.send(sub(m.id, ['bob']));
    await expectSlots(a, m.id, [[V[0], 'video', 'bob']]);
  });

  await check('packets only the node sends, sent by a client -> ERROR', async () => {
    const M = `node-only-${PID}`;
    const packets = [
      { content_type: 'MEETING_USERS', users: [] },
      { content_type: 'ANSWER', sdp: 'v=0\r\n' },
      { content_type: 'SLOTS', slots: [] },
      { content_type: 'RECORDING', recording: true },
      { content_type: 'ACTIVE_SPEAKER', account_id: 'alice' },
      { content_type: 'JOIN_DENIED' },
      { content_type: 'ERROR', msg: 'x' },
    ];
    const m = new Meeting(main, M);
    const a = await m.init('alice');
    let c = null;
    for (const [i, p] of packets.entries()) {
      if (i % 4 === 0) c = await connect(main, `client sending node packets ${i}`);
      c.send({ meeting_id: M, ...p });
      await c.expectError(M, new RegExp(`${p.content_type}.*(sent by the node|not by clients|from the node)`, 'i'));
    }
    // ... and from a joined socket too.
    a.send({ meeting_id: M, content_type: 'SLOTS', slots: [] });
    await a.expectError(M, /SLOTS.*(sent by the node|not by clients|from the node)/i);
    await a.expectNothing(QUIET_MS);
  });

  const malformed = [
    ['text that is not JSON', 'hello {not json', '', /JSON/i],
    ['a JSON array', '[{"meeting_id":"m","content_type":"JOIN"}]', '', /object/i],
    ['missing meeting_id', JSON.stringify({ content_type: 'JOIN', account_id: 'bob' }), '', /meeting_id/],
    ['meeting_id a number', JSON.stringify({ meeting_id: 7, content_type: 'JOIN', account_id: 'bob' }), '', /meeting_id/],
    ['meeting_id empty', JSON.stringify({ meeting_id: '', content_type: 'JOIN', account_id: 'bob' }), '', /meeting_id/],
    ['meeting_id of 129 characters', JSON.stringify({ meeting_id: 'm'.repeat(129), content_type: 'JOIN', account_id: 'bob' }), '', /meeting_id/],
    ['missing content_type', JSON.stringify({ meeting_id: 'mf', account_id: 'bob' }), 'mf', /content_type/],
    ['an unknown content_type', JSON.stringify({ meeting_id: 'mf', content_type: 'FROBNICATE' }), 'mf', /content_type|unknown|FROBNICATE/i],
    ['JOIN with account_id of 129 characters', JSON.stringify({ meeting_id: 'mf', content_type: 'JOIN', account_id: 'b'.repeat(129), token: 'x' }), 'mf', /account_id/],
    ['JOIN with account_id a number', JSON.stringify({ meeting_id: 'mf', content_type: 'JOIN', account_id: 5, token: 'x' }), 'mf', /account_id/],
    ['JOIN with token a number', JSON.stringify({ meeting_id: 'mf', content_type: 'JOIN', account_id: 'bob', token: 5 }), 'mf', /token/],
    ['INIT without host', JSON.stringify({ meeting_id: 'mf', content_type: 'INIT', token: 'x' }), 'mf', /host/],
  ];
  await check('malformed packets -> ERROR naming the problem', async () => {
    let c = null;
    for (const [i, [name, text, M, re]] of malformed.entries()) {
      if (i % 4 === 0) c = await connect(main, 'malformed');
      c.send(text);
      try {
        const err = await c.expectError(M, re);
        if (/^(INIT|JOIN)/.test(name)) {   // a refused join may add JOIN_DENIED; nothing else
          const ev = await c.next(100);
          if (ev.kind !== 'timeout' && !(ev.msg && ev.msg.content_type === 'JOIN_DENIED')) c.fail('nothing or JOIN_DENIED', ev);
        }
        void err;
      } catch (e) {
        throw new Error(`${name}: ${e.message}`);
      }
    }
  });

  await check('a binary frame -> ERROR', async () => {
    const c = await connect(main, 'binary');
    c.sendBinary(Buffer.from('{"meeting_id":"m","content_type":"JOIN"}'));
    await c.expectError('', /binary|text/i);
  });

  await check('a message over --max-message-bytes (512 KiB) -> ERROR', async () => {
    const c = await connect(main, 'huge');
    c.send(JSON.stringify({ meeting_id: 'mh', content_type: 'OFFER', sdp: 'v=0\r\n'.padEnd(600 << 10, 'a') }));
    await c.expectError('', /too large|limit|bytes/i);
    c.send({ meeting_id: 'mh', content_type: 'FROBNICATE' });   // the connection still works
    await c.expectError('mh', /unknown content_type/i);
  });

  await check('5 refused packets close the connection', async () => {
    const c = await connect(main, 'strikes');
    for (let i = 0; i < 5; i++) {
      c.send({ meeting_id: 'ms', content_type: 'FROBNICATE' });
      await c.expectError('ms', /content_type|unknown|FROBNICATE/i);
    }
    await c.expectClose(3000);
  });

  await check('more than 50 messages in one second close the connection', async () => {
    const { h, M } = await fixture(main, 'flood', 1);
    h.send(sub(M, ['u1']));
    await expectSlots(h, M, [[V[0], 'video', 'u1']]);
    for (let i = 0; i < 60; i++) h.send(sub(M, [{ account_id: 'u1', bitrate: 100000 + i }]));
    await h.expectClose(3000, { skipMessages: true });
  });

  // -- summary --------------------------------------------------------------------------------

  const failed = results.filter((r) => !r.ok);
  t.log(`${results.length - failed.length} of ${results.length} cases passed`);
  if (failed.length) {
    throw new Error(`${failed.length} of ${results.length} protocol cases failed:\n  ` +
      failed.map((r) => `${r.name}: ${r.why}`).join('\n  '));
  }
  for (const n of [main, small, big]) await n.stop();
}, { timeoutMs: 120_000 });
