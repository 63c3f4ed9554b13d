// Throws 10,000 random and malformed datagrams (random bytes; STUN-, DTLS- and RTP/RTCP-looking
// junk; truncated STUN binding requests; RTCP with lying length fields) at parley-node's UDP media
// ports, then checks that two browser pages still join and decode each other (with 2,000 more junk
// datagrams arriving during the 3 s media check) and that the node exits 0 on SIGTERM.
// Run: node tests/e2e/garbage_datagrams.test.mjs   (PARLEY_FUZZ_SEED=N repeats a run)
import crypto from 'node:crypto';
import dgram from 'node:dgram';
import {
  runTest, startNode, launchBrowser, openParticipant, waitForPageJoined, waitForMedia, checkFlow,
  assertPagesClean, httpGet, sleep, withTimeout,
} from './lib.mjs';

const TOTAL = 10_000;
const DURING_MEDIA = 2_000;
const BATCH = 100;          // datagrams per batch ...
const BATCH_GAP_MS = 25;    // ... then a pause: at most ~4,000 datagrams/s
const SOURCES = 4;          // distinct source ports

// Small seeded PRNG (mulberry32) so a failing run can be repeated with PARLEY_FUZZ_SEED.
function prng(seed) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = a;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
  const int = (lo, hi) => lo + Math.floor(next() * (hi - lo + 1));   // inclusive
  const bytes = (n) => {
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i++) b[i] = int(0, 255);
    return b;
  };
  return { next, int, bytes, pick: (arr) => arr[int(0, arr.length - 1)] };
}

const STUN_COOKIE = 0x2112a442;

// CRC-32 (ISO-HDLC) for the STUN FINGERPRINT (zlib.crc32 needs Node >= 20.15; Debian 12 has 18).
const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(buf) {
  let c = 0xffffffff;
  for (const byte of buf) c = CRC_TABLE[(c ^ byte) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function pad4(n) { return (n + 3) & ~3; }

function stunAttr(type, value) {
  const b = Buffer.alloc(4 + pad4(value.length));
  b.writeUInt16BE(type, 0);
  b.writeUInt16BE(value.length, 2);
  value.copy(b, 4);
  return b;
}

// A binding request as a browser sends it: USERNAME, PRIORITY, ICE-CONTROLLING, USE-CANDIDATE,
// MESSAGE-INTEGRITY (random: we don't know the node's password) and a correct FINGERPRINT.
function stunBindingRequest(r) {
  const user = Buffer.from(`${r.bytes(4).toString('hex')}:${r.bytes(4).toString('hex')}`);
  const prio = Buffer.alloc(4); prio.writeUInt32BE(r.int(0, 0xffffffff));
  const attrs = [
    stunAttr(0x0006, user), stunAttr(0x0024, prio), stunAttr(0x802a, r.bytes(8)),
    stunAttr(0x0025, Buffer.alloc(0)), stunAttr(0x0008, r.bytes(20)),
  ];
  const body = Buffer.concat(attrs);
  const hdr = Buffer.alloc(20);
  hdr.writeUInt16BE(0x0001, 0);
  hdr.writeUInt16BE(body.length + 8, 2);
  hdr.writeUInt32BE(STUN_COOKIE, 4);
  r.bytes(12).copy(hdr, 8);
  const crc = (crc32(Buffer.concat([hdr, body])) ^ 0x5354554e) >>> 0;
  const fp = Buffer.alloc(4); fp.writeUInt32BE(crc);
  return Buffer.concat([hdr, body, stunAttr(0x8028, fp)]);
}

function rtcpPacket(r, pt, words) {
  const b = Buffer.alloc(4 + words * 4);
  r.bytes(b.length).copy(b);
  b[0] = 0x80 | r.int(0, 31);
  b[1] = pt;
  b.writeUInt16BE(words, 2);
  return b;
}

const KINDS = ['random', 'stun', 'stun-truncated', 'stun-bad-attr', 'dtls', 'rtp', 'rtcp-bad-length', 'tiny'];

function makeDatagram(r, kind) {
  switch (kind) {
    case 'random':
      return r.bytes(r.int(0, 1500));
    case 'stun': {                       // first byte 0..3, sometimes the magic cookie and a sane length
      const b = r.bytes(r.int(1, 600));
      b[0] = r.int(0, 3);
      if (b.length >= 8 && r.next() < 0.6) b.writeUInt32BE(STUN_COOKIE, 4);
      if (b.length >= 4 && r.next() < 0.5) b.writeUInt16BE(r.next() < 0.5 ? Math.max(0, b.length - 20) & ~3 : r.int(0, 0xffff), 2);
      return b;
    }
    case 'stun-truncated': {
      const full = stunBindingRequest(r);
      return full.subarray(0, r.int(0, full.length - 1));
    }
    case 'stun-bad-attr': {              // well-formed header, attribute lengths that run past the end
      const full = Buffer.from(stunBindingRequest(r));
      let off = 20;
      const victim = r.int(0, 5);
      for (let i = 0; i < victim && off + 4 <= full.length; i++) off += 4 + pad4(full.readUInt16BE(off + 2));
      if (off + 4 <= full.length) full.writeUInt16BE(r.pick([0xffff, 0xfffc, full.length, 1, 3]), off + 2);
      return full;
    }
    case 'dtls': {                       // first byte 20..63, sometimes a DTLS 1.2 record header
      const b = r.bytes(r.int(1, 1400));
      b[0] = r.next() < 0.7 ? r.int(20, 26) : r.int(20, 63);
      if (b.length >= 13 && r.next() < 0.7) {
        b[1] = 0xfe; b[2] = r.pick([0xfd, 0xff]);
        b.writeUInt16BE(r.pick([0, 1, r.int(0, 0xffff)]), 3);            // epoch
        b.writeUInt16BE(r.pick([b.length - 13, b.length, 0xffff, 0, r.int(0, 0xffff)]) & 0xffff, 11);
        if (b.length >= 14 && b[0] === 22) b[13] = r.pick([1, 2, 11, 12, 14, 16, r.int(0, 255)]);
      }
      return b;
    }
    case 'rtp': {                        // first byte 128..191: RTP with odd CSRC counts / extensions
      const b = r.bytes(r.int(1, 1400));
      b[0] = r.int(128, 191);
      if (b.length >= 2) b[1] = r.next() < 0.5 ? r.pick([96, 97, 111, 0x80 | 96, 0x80 | 111]) : r.int(0, 255);
      const ext = 12 + 4 * (b[0] & 0x0f);     // where a header extension would start
      if ((b[0] & 0x10) && ext + 4 <= b.length) {
        b.writeUInt16BE(r.pick([0xbede, 0x1000, r.int(0, 0xffff)]), ext);   // profile
        b.writeUInt16BE(r.pick([0xffff, 0, r.int(0, 0xffff)]), ext + 2);     // length in words
      }
      return b;
    }
    case 'rtcp-bad-length': {            // RTCP headers whose length field lies
      const pt = r.pick([200, 201, 202, 203, 204, 205, 206, 207, r.int(192, 223)]);
      const pkt = rtcpPacket(r, pt, r.int(0, 40));
      const which = r.int(0, 4);
      if (which === 0) pkt.writeUInt16BE(0xffff, 2);                         // far past the end
      else if (which === 1) pkt.writeUInt16BE((pkt.length / 4) & 0xffff, 2);  // one word too many
      else if (which === 2) pkt.writeUInt16BE(0, 2);                          // zero length, more data
      else if (which === 3) {                                                 // compound, second cut short
        const second = rtcpPacket(r, r.pick([201, 202, 205, 206]), r.int(2, 30));
        return Buffer.concat([pkt, second.subarray(0, r.int(1, second.length - 1))]);
      }
      return pkt.subarray(0, r.int(1, pkt.length));                           // truncated
    }
    default: {                           // 'tiny': 0..4 bytes
      const b = r.bytes(r.int(0, 4));
      if (b.length) b[0] = r.pick([0, 1, 3, 20, 22, 63, 128, 144, 191, 200, 255]);
      return b;
    }
  }
}

async function openSockets(n) {
  const socks = [];
  for (let i = 0; i < n; i++) {
    const s = dgram.createSocket('udp4');
    s.replies = 0;
    s.on('message', () => { s.replies++; });
    s.on('error', () => {});
    await new Promise((resolve) => s.bind(0, '127.0.0.1', resolve));
    socks.push(s);
  }
  return socks;
}

// Sends `count` datagrams round-robin over sources and the node's media ports, at a bounded rate.
async function spray(t, node, socks, r, count, counts, { batch: batchSize = BATCH, gapMs = BATCH_GAP_MS } = {}) {
  const send = (s, buf, port) => new Promise((resolve) => s.send(buf, port, '127.0.0.1', () => resolve()));
  for (let sent = 0; sent < count;) {
    const batch = [];
    for (let i = 0; i < batchSize && sent < count; i++, sent++) {
      const kind = KINDS[sent % KINDS.length];
      counts[kind] = (counts[kind] || 0) + 1;
      const port = node.mediaPorts[sent % node.mediaPorts.length];
      batch.push(send(socks[sent % socks.length], makeDatagram(r, kind), port));
    }
    await withTimeout(Promise.all(batch), 5000, 'sending a batch of datagrams');
    node.assertAlive(`after ${sent} junk datagrams`);
    await sleep(gapMs);
  }
}

runTest('garbage_datagrams', async (t) => {
  const seed = Number(process.env.PARLEY_FUZZ_SEED) || crypto.randomInt(1, 2 ** 31);
  t.log(`seed ${seed} (set PARLEY_FUZZ_SEED=${seed} to repeat)`);
  const r = prng(seed);
  const node = await startNode(t);
  const socks = await openSockets(SOURCES);
  t.defer('close UDP sockets', () => socks.forEach((s) => s.close()));

  const counts = {};
  t.log(`sending ${TOTAL} junk datagrams to udp ${node.mediaPorts.join(', ')} from ${SOURCES} source ports`);
  await spray(t, node, socks, r, TOTAL, counts);
  t.log(`sent: ${Object.entries(counts).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  await sleep(1000);
  node.assertAlive(`1 s after the ${TOTAL} junk datagrams`);
  const home = await httpGet(`${node.url}/`, 5000);
  if (home.status !== 200) {
    throw new Error(`after the junk datagrams, expected GET / to answer 200, got ${home.status || home.error}`);
  }
  t.log(`node alive and serving HTTP; it sent ${socks.reduce((n, s) => n + s.replies, 0)} datagrams back to the junk sources`);

  // Real clients still work, with more junk arriving while media flows.
  const browser = await launchBrowser(t);
  const meeting = `junk-${process.pid}`;
  const pages = [];
  pages.push(await openParticipant(t, browser, node, { meeting, name: 'alice', host: true }));
  await waitForPageJoined(t, pages[0]);
  pages.push(await openParticipant(t, browser, node, { meeting, name: 'bob' }));
  await waitForMedia(t, pages);
  t.log(`checking media for 3 s while ${DURING_MEDIA} more junk datagrams arrive`);
  await Promise.all([
    spray(t, node, socks, r, DURING_MEDIA, counts, { batch: 50, gapMs: 60 }),
    checkFlow(t, pages, { seconds: 3 }),
  ]);
  await assertPagesClean(t, pages);
  await withTimeout(browser.close(), 10_000, 'closing chromium');
  node.assertAlive('after the pages left');
  await node.stop();
});
