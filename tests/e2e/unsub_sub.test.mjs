// UNSUB_SUB in a browser: four pages join one meeting, alice (host) with autosub=0 so that she
// receives only the video she asks for. bob's camera is 640x480, carol's 320x240 (the fake camera
// draws the same pattern for everyone, so the resolution tells the sources apart). alice
// subscribes to bob, decodes him in slot X, then sends UNSUB_SUB (bob -> carol). Expected, per
// docs/protocol.md: SLOTS names carol in the same slot X; the same inbound-rtp stream (same mid,
// same SSRC, same receiver track) keeps decoding with no stall over 1.5 s during the next 5 s; its
// frameWidth goes from 640 to 320; no second OFFER (page counter, the frames on the socket, the
// node log) and the peer connection stays 'stable'. Then the page's recording indicator (a
// scripted recorder joins and leaves) and the host's "End meeting" button are checked. dave's
// page has no token in its URL: it fetches one from the node's /dev/token (--dev-token-endpoint).
// Run: node tests/e2e/unsub_sub.test.mjs
import {
  runTest, startNode, launchBrowser, openParticipant, waitForPageJoined, assertPagesClean,
  SigClient, sleep, withTimeout,
} from './lib.mjs';

const SWITCH_WINDOW_MS = 5000;
const MAX_STALL_MS = 1500;
const SAMPLE_MS = 100;

// State of alice's page and the inbound-rtp stream of one mid.
async function sampleMid(p, mid) {
  return withTimeout(p.page.evaluate(async (mid) => {
    const z = window.parley;
    const out = {
      t: Date.now(), slot: z.slots[mid] || null, slots: { ...z.slots }, offersSent: z.offersSent,
      signalingState: z.pc ? z.pc.signalingState : null, trackId: null, stat: null, errors: z.errors,
    };
    if (!z.pc) return out;
    const tr = z.pc.getTransceivers().find((x) => x.mid === mid);
    if (tr) out.trackId = tr.receiver.track.id;
    const report = await z.pc.getStats();
    report.forEach((s) => {
      if (s.type !== 'inbound-rtp' || s.kind !== 'video') return;
      const sMid = s.mid != null ? s.mid : (tr && s.trackIdentifier === tr.receiver.track.id ? mid : null);
      if (sMid !== mid) return;
      out.stat = { id: s.id, ssrc: s.ssrc, framesDecoded: s.framesDecoded || 0, frameWidth: s.frameWidth || 0,
        frameHeight: s.frameHeight || 0, packetsReceived: s.packetsReceived || 0, trackIdentifier: s.trackIdentifier,
        packetsLost: s.packetsLost || 0, freezeCount: s.freezeCount ?? null, keyFramesDecoded: s.keyFramesDecoded ?? null };
    });
    return out;
  }, mid), 5000, `getStats() on ${p.name}'s page`);
}

async function pageState(p) {
  return withTimeout(p.page.evaluate(() => {
    const z = window.parley;
    const visible = (id) => {
      const el = document.getElementById(id);
      return !!el && !el.hidden && el.getClientRects().length > 0;
    };
    return {
      state: z.state, users: z.users, slots: z.slots, recording: z.recording, offersSent: z.offersSent,
      recordingShown: visible('recording'), notice: visible('notice') ? document.getElementById('notice').textContent : '',
      status: document.getElementById('status').textContent, activeSpeaker: z.activeSpeaker,
      pc: z.pc ? { connection: z.pc.connectionState, signaling: z.pc.signalingState } : null,
    };
  }), 5000, `reading ${p.name}'s page`);
}

// Polls until check(states by name) returns null (done) or a reason to keep waiting.
async function waitPages(t, pages, what, check, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  let why = '';
  for (;;) {
    t.assertNodesAlive();
    const states = {};
    for (const p of pages) {
      if (p.pageErrors.length) throw new Error(`${p.name}'s page threw: ${p.pageErrors.join(' | ')}`);
      states[p.name] = await pageState(p);
    }
    why = check(states);
    if (!why) return states;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs / 1000} s: ${why}`);
    await sleep(200);
  }
}

const offersIn = (frames) => frames.filter((f) => { try { return JSON.parse(f).content_type === 'OFFER'; } catch { return false; } }).length;

runTest('unsub_sub', async (t) => {
  // --dev-token-endpoint: dave's page gets no token in its URL and fetches one from /dev/token.
  const node = await startNode(t, { devTokenEndpoint: true });
  const browser = await launchBrowser(t);
  const meeting = `unsub-sub-${process.pid}`;

  // Only alice receives video (the others also use autosub=0: fewer decoders on small machines,
  // so the encoders keep the resolutions they were given).
  const alice = await openParticipant(t, browser, node, { meeting, name: 'alice', host: true, autosub: false });
  await waitForPageJoined(t, alice);
  const bob = await openParticipant(t, browser, node, { meeting, name: 'bob', autosub: false, width: 640, height: 480 });
  const carol = await openParticipant(t, browser, node, { meeting, name: 'carol', autosub: false, width: 320, height: 240 });
  const dave = await openParticipant(t, browser, node, { meeting, name: 'dave', autosub: false, width: 480, height: 360, token: '' });
  const pages = [alice, bob, carol, dave];
  for (const p of pages.slice(1)) await waitForPageJoined(t, p);
  await waitPages(t, pages, 'all four pages connected and alice knowing bob, carol and dave', (s) => {
    for (const [name, st] of Object.entries(s)) {
      if (st.state !== 'connected') return `${name} is ${st.state}`;
    }
    const missing = ['bob', 'carol', 'dave'].filter((n) => !s.alice.users.includes(n));
    if (missing.length) return `alice's users lack ${missing.join(', ')}`;
    const video = Object.values(s.alice.slots).filter((x) => x.kind === 'video');
    if (video.length) return `alice (autosub=0) has video slots she did not ask for: ${JSON.stringify(s.alice.slots)}`;
    return null;
  }, 20_000);
  t.log('four pages connected; alice has no video slot yet');

  // alice -> SUBSCRIBE bob; wait until she decodes 640x480 frames in his slot.
  await alice.page.evaluate(() => window.parley.subscribe(['bob']));
  let mid = null;
  let before = null;
  {
    const deadline = Date.now() + 20_000;
    let prev = null;
    let last = 'no SLOTS yet';
    for (;;) {
      if (!mid) {
        const st = await pageState(alice);
        const e = Object.entries(st.slots).find(([, x]) => x.kind === 'video' && x.account_id === 'bob');
        if (e) { mid = e[0]; t.log(`alice: SLOTS puts bob's video in mid ${mid}`); }
      }
      if (mid) {
        const s = await sampleMid(alice, mid);
        last = s.stat ? `framesDecoded ${s.stat.framesDecoded}, ${s.stat.frameWidth}x${s.stat.frameHeight}` : 'no inbound-rtp for the mid';
        if (s.stat && prev && prev.stat && s.stat.framesDecoded > prev.stat.framesDecoded &&
            s.stat.frameWidth === 640 && s.stat.frameHeight === 480) { before = s; break; }
        prev = s;
      }
      if (Date.now() > deadline) {
        throw new Error(`alice does not decode bob's 640x480 video within 20 s after SUBSCRIBE (mid ${mid}; ${last})`);
      }
      await sleep(250);
    }
  }
  const otherVideo = Object.entries(before.slots).filter(([m, x]) => x.kind === 'video' && m !== mid);
  if (otherVideo.length) throw new Error(`alice subscribed to bob only, but SLOTS has ${JSON.stringify(before.slots)}`);
  t.log(`alice decodes bob in mid ${mid}: ${before.stat.frameWidth}x${before.stat.frameHeight}, ` +
    `ssrc ${before.stat.ssrc}, framesDecoded ${before.stat.framesDecoded}`);
  const offersBefore = offersIn(alice.wsSent);

  // The swap.
  t.log('alice: UNSUB_SUB bob -> carol');
  const sent = await alice.page.evaluate(() => window.parley.unsubSub(['bob'], ['carol']));
  if (!sent) throw new Error('window.parley.unsubSub() did not send (socket not open?)');
  const t0 = Date.now();
  const samples = [before];
  while (Date.now() - t0 < SWITCH_WINDOW_MS) {
    await sleep(SAMPLE_MS);
    samples.push(await sampleMid(alice, mid));
  }
  t.assertNodesAlive('after the swap');

  const failures = [];
  const at = (s) => `+${s.t - t0} ms`;
  // SLOTS: the same mid names carol; bob has no video slot any more.
  const switched = samples.find((s) => s.slot && s.slot.account_id === 'carol');
  if (!switched) failures.push(`SLOTS never named carol in mid ${mid} (last: ${JSON.stringify(samples[samples.length - 1].slots)})`);
  else t.log(`alice: SLOTS names carol in mid ${mid} at ${at(switched)}`);
  const end = samples[samples.length - 1];
  const endVideo = Object.entries(end.slots).filter(([, x]) => x.kind === 'video');
  if (endVideo.length !== 1 || endVideo[0][0] !== mid || endVideo[0][1].account_id !== 'carol') {
    failures.push(`expected alice's video slots to be exactly {${mid}: carol} after the swap, got ${JSON.stringify(end.slots)}`);
  }
  // The same stream: same inbound-rtp object, SSRC and receiver track.
  for (const s of samples) {
    if (!s.stat) { failures.push(`no inbound-rtp for mid ${mid} at ${at(s)}`); break; }
    if (s.stat.id !== before.stat.id || s.stat.ssrc !== before.stat.ssrc || s.trackId !== before.trackId) {
      failures.push(`mid ${mid} changed stream at ${at(s)}: inbound-rtp ${before.stat.id}/ssrc ${before.stat.ssrc}/track ` +
        `${before.trackId} -> ${s.stat.id}/ssrc ${s.stat.ssrc}/track ${s.trackId} (expected the same SSRC and track)`);
      break;
    }
  }
  // Decoding never stalls for more than 1.5 s.
  let lastGrowth = before.t;
  let maxStall = 0;
  let stallAt = null;
  for (let i = 1; i < samples.length; i++) {
    const s = samples[i];
    if (s.stat && samples[i - 1].stat && s.stat.framesDecoded > samples[i - 1].stat.framesDecoded) {
      if (s.t - lastGrowth > maxStall) { maxStall = s.t - lastGrowth; stallAt = s; }
      lastGrowth = s.t;
    }
  }
  if (end.t - lastGrowth > maxStall) { maxStall = end.t - lastGrowth; stallAt = end; }
  if (maxStall > MAX_STALL_MS) {
    failures.push(`framesDecoded in mid ${mid} stalled for ${maxStall} ms (ending ${stallAt ? at(stallAt) : '?'}); ` +
      `expected no stall over ${MAX_STALL_MS} ms`);
  }
  // The picture is carol's now: 320x240.
  const firstCarol = samples.find((s) => s.stat && s.stat.frameWidth === 320);
  if (!firstCarol) {
    failures.push(`frameWidth in mid ${mid} never became 320 (carol's camera); widths seen: ` +
      `${[...new Set(samples.map((s) => (s.stat ? `${s.stat.frameWidth}x${s.stat.frameHeight}` : '-')))].join(', ')}`);
  } else {
    t.log(`alice: mid ${mid} shows 320x${firstCarol.stat.frameHeight} from ${at(firstCarol)}`);
  }
  if (!end.stat || end.stat.frameWidth !== 320 || end.stat.frameHeight !== 240) {
    failures.push(`expected mid ${mid} to end at 320x240 (carol), got ${end.stat ? `${end.stat.frameWidth}x${end.stat.frameHeight}` : 'no stats'}`);
  }
  // Continuous sequence numbers: a jump at the switch would count as lost packets.
  if (end.stat) {
    const lost = end.stat.packetsLost - before.stat.packetsLost;
    if (lost > 10 || lost < -10) {
      failures.push(`packetsLost of mid ${mid} moved by ${lost} across the switch (expected continuous sequence numbers)`);
    }
    if (before.stat.keyFramesDecoded != null && !(end.stat.keyFramesDecoded > before.stat.keyFramesDecoded)) {
      failures.push(`no keyframe decoded in mid ${mid} after the switch (keyFramesDecoded ${before.stat.keyFramesDecoded} -> ` +
        `${end.stat.keyFramesDecoded}); the node should request one from carol`);
    }
    t.log(`alice: mid ${mid} across the switch: packetsLost ${before.stat.packetsLost} -> ${end.stat.packetsLost}, ` +
      `keyFramesDecoded ${before.stat.keyFramesDecoded} -> ${end.stat.keyFramesDecoded}, ` +
      `freezeCount ${before.stat.freezeCount} -> ${end.stat.freezeCount}`);
  }
  const decoded = end.stat ? end.stat.framesDecoded - before.stat.framesDecoded : 0;
  t.log(`alice: ${decoded} frames decoded in mid ${mid} over ${((end.t - t0) / 1000).toFixed(1)} s; longest gap ${maxStall} ms`);
  // No renegotiation.
  if (end.offersSent !== 1) failures.push(`alice's page sent ${end.offersSent} OFFERs (window.parley.offersSent), expected 1`);
  if (end.signalingState !== 'stable') failures.push(`alice's peer connection is '${end.signalingState}', expected 'stable'`);
  const offersOnSocket = offersIn(alice.wsSent);
  if (offersOnSocket !== 1 || offersBefore !== 1) {
    failures.push(`alice's socket carried ${offersOnSocket} OFFER frames (${offersBefore} before the swap), expected 1`);
  }
  const logText = node.output();
  const accepted = logText.split('\n').filter((l) => l.includes(`alice in meeting ${meeting}: offer accepted`)).length;
  const renegotiation = logText.split('\n').filter((l) => /renegotiat|second offer|OFFER twice/i.test(l));
  if (accepted > 1 || renegotiation.length) {
    failures.push(`the node log shows a second OFFER from alice (${accepted} accepted; ${renegotiation.slice(0, 2).join(' | ')})`);
  } else if (accepted === 0) {
    t.log('note: the node log has no "alice in meeting ...: offer accepted" line to count (log format changed?)');
  }
  if (failures.length) {
    const trace = samples.filter((_, i) => i % 5 === 0 || i === samples.length - 1).map((s) =>
      `${at(s)} ${s.slot ? s.slot.account_id : '-'} ${s.stat ? `${s.stat.framesDecoded}f ${s.stat.frameWidth}x${s.stat.frameHeight}` : 'no stats'}`);
    throw new Error(`UNSUB_SUB did not swap the feed in place:\n  ${failures.join('\n  ')}\n` +
      `samples (time slot frames size):\n  ${trace.join('\n  ')}`);
  }
  await assertPagesClean(t, pages);
  t.log('UNSUB_SUB swapped bob for carol in the same slot without a stall or a new offer');

  // The recording indicator: a scripted recorder joins, then leaves.
  const rec = await SigClient.connect(node, 'recorder');
  t.defer('close the recorder socket', () => rec.close());
  rec.send({ meeting_id: meeting, content_type: 'RECORD_JOIN', token: node.mintToken({ meeting, account: 'rec', role: 'recorder' }) });
  const mu = await rec.nextPacket('MEETING_USERS for the recorder');
  if (mu.content_type !== 'MEETING_USERS') throw new Error(`recorder: expected MEETING_USERS, got ${JSON.stringify(mu)}`);
  await waitPages(t, pages, 'every page showing "recording"', (s) => {
    const off = Object.entries(s).filter(([, st]) => !(st.recording && st.recordingShown)).map(([n]) => n);
    return off.length ? `not shown on ${off.join(', ')}` : null;
  }, 5000);
  t.log('every page shows the recording indicator');
  rec.send({ meeting_id: meeting, content_type: 'LEAVE', account_id: 'rec' });
  await waitPages(t, pages, 'the recording indicator gone after the recorder left', (s) => {
    const on = Object.entries(s).filter(([, st]) => st.recording || st.recordingShown).map(([n]) => n);
    return on.length ? `still shown on ${on.join(', ')}` : null;
  }, 5000);
  t.log('the indicator is gone once the recorder left');

  const speakers = {};
  for (const p of pages) speakers[p.name] = (await pageState(p)).activeSpeaker;
  t.log(`ACTIVE_SPEAKER as the pages last heard it (informational): ${JSON.stringify(speakers)}`);

  // The host ends the meeting with the button: every page says "meeting ended".
  const endButton = alice.page.locator('#end');
  if (!await endButton.isVisible()) throw new Error('alice (host) has no visible "End meeting" button');
  for (const p of [bob, carol]) {
    if (await p.page.locator('#end').isVisible()) throw new Error(`${p.name} (not host) shows an "End meeting" button`);
  }
  t.log('alice clicks "End meeting"');
  await endButton.click();
  await waitPages(t, pages, 'every page closed with "meeting ended"', (s) => {
    const bad = Object.entries(s).filter(([, st]) => st.state !== 'closed' || !/meeting ended/.test(st.notice))
      .map(([n, st]) => `${n}: state ${st.state}, notice "${st.notice}"`);
    return bad.length ? bad.join('; ') : null;
  }, 5000);
  t.log('the host ended the meeting: every page shows "meeting ended"');
  await withTimeout(browser.close(), 10_000, 'closing chromium');
  node.assertAlive('after the meeting ended');
  await node.stop();
}, { timeoutMs: 120_000 });
