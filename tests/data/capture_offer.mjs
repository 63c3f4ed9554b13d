// Captures real SDP offers from headless Chromium (Debian's /usr/bin/chromium, driven by
// playwright-core from tests/node_modules), and checks that Chromium accepts an answer.
//
//   node tests/data/capture_offer.mjs
//       writes tests/data/chromium_offer.sdp (publish audio+video, 8 video+audio slots) and
//       tests/data/chromium_offer_simulcast.sdp (simulcast q/h/f video, audio, data channel).
//       The page is an empty http://localhost/ served by playwright (getUserMedia needs a
//       secure context; about:blank is not one).
//
//   node tests/data/capture_offer.mjs --check-answer ANSWER --offer OFFER [--simulcast]
//                                     [--answer-cmd 'CMD']
//       creates a fresh offer of the same shape (an offer cannot be re-applied in another
//       browser: its fingerprint belongs to that browser's certificate), writes it to OFFER,
//       runs CMD with OFFER on stdin and ANSWER as stdout when given (else waits up to 120 s
//       for ANSWER to appear), then setRemoteDescription(answer) and prints the result.
//       Exit status 0 only when Chromium accepted the answer.
import { createRequire } from 'node:module';
import { execSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, '..', 'package.json'));
const { chromium } = require('playwright-core');

const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream',
];

function arg(name) {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

// Runs in the page: builds the transceivers, makes the offer, applies it locally.
async function makeOffer({ simulcast }) {
  const pc = new RTCPeerConnection();
  window.pc = pc;
  const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: true });
  const audio = stream.getAudioTracks()[0];
  const video = stream.getVideoTracks()[0];
  pc.addTransceiver(audio, { direction: 'sendonly', streams: [stream] });
  if (simulcast) {
    pc.addTransceiver(video, {
      direction: 'sendonly', streams: [stream],
      sendEncodings: [
        { rid: 'q', scaleResolutionDownBy: 4 },
        { rid: 'h', scaleResolutionDownBy: 2 },
        { rid: 'f', scaleResolutionDownBy: 1 },
      ],
    });
  } else {
    pc.addTransceiver(video, { direction: 'sendonly', streams: [stream] });
  }
  for (let i = 0; i < 8; i++) {
    pc.addTransceiver('video', { direction: 'recvonly' });
    pc.addTransceiver('audio', { direction: 'recvonly' });
  }
  if (simulcast) pc.createDataChannel('chat');
  const offer = await pc.createOffer();
  await pc.setLocalDescription(offer);
  return pc.localDescription.sdp;
}

// Runs in the page: applies the answer and describes what Chromium made of it: per
// transceiver the negotiated direction, send codecs and simulcast rids, and the remote
// stream ids that the answer's a=msid gave the slot tracks; and the SCTP transport.
async function applyAnswer(sdp) {
  const pc = window.pc;
  const streams = {};
  pc.ontrack = (e) => { streams[e.transceiver.mid] = e.streams.map((s) => s.id).join(','); };
  try {
    await pc.setRemoteDescription({ type: 'answer', sdp });
  } catch (e) {
    return { ok: false, error: String(e) };
  }
  const lines = pc.getTransceivers().map((t) => {
    const p = t.sender.getParameters();
    const codecs = (p.codecs || []).map((c) => c.mimeType).join(',');
    const rids = (p.encodings || []).map((e) => e.rid).filter(Boolean).join(',');
    return `mid=${t.mid} direction=${t.direction} current=${t.currentDirection}` +
      (codecs ? ` send-codecs=${codecs}` : '') + (rids ? ` rids=${rids}` : '') +
      (streams[t.mid] !== undefined ? ` remote-streams=${streams[t.mid]}` : '');
  });
  if (pc.sctp) lines.push(`sctp maxMessageSize=${pc.sctp.maxMessageSize}`);
  return { ok: true, signalingState: pc.signalingState, lines };
}

async function withPage(fn) {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-chromium-'));
  const ctx = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium', headless: true, args: CHROMIUM_ARGS,
  });
  try {
    // getUserMedia needs a secure context, which about:blank is not here: serve an empty
    // page as http://localhost/ from playwright itself (no server, no network).
    await ctx.route('http://localhost/**', (r) =>
      r.fulfill({ status: 200, contentType: 'text/html', body: '<!doctype html><title>sdp</title>' }));
    const page = ctx.pages()[0] || (await ctx.newPage());
    await page.goto('http://localhost/');
    return await fn(page);
  } finally {
    await ctx.close();
    fs.rmSync(profile, { recursive: true, force: true });
  }
}

async function waitForFile(file, ms) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (fs.existsSync(file) && fs.statSync(file).size > 0) return fs.readFileSync(file, 'utf8');
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`no answer in ${file}`);
}

async function capture() {
  await withPage(async (page) => {
    const plain = await page.evaluate(makeOffer, { simulcast: false });
    fs.writeFileSync(path.join(here, 'chromium_offer.sdp'), plain);
  });
  await withPage(async (page) => {
    const sim = await page.evaluate(makeOffer, { simulcast: true });
    fs.writeFileSync(path.join(here, 'chromium_offer_simulcast.sdp'), sim);
  });
  console.log('wrote chromium_offer.sdp and chromium_offer_simulcast.sdp');
}

async function checkAnswer(answerFile, offerFile) {
  const simulcast = process.argv.includes('--simulcast');
  const cmd = arg('--answer-cmd');
  const result = await withPage(async (page) => {
    fs.rmSync(answerFile, { force: true });
    const offer = await page.evaluate(makeOffer, { simulcast });
    fs.writeFileSync(offerFile, offer);
    if (cmd) execSync(`(${cmd}) < '${offerFile}' > '${answerFile}'`, { stdio: ['ignore', 'inherit', 'inherit'] });
    const answer = await waitForFile(answerFile, 120000);
    return page.evaluate(applyAnswer, answer);
  });
  if (!result.ok) {
    console.log(`REJECTED: ${result.error}`);
    process.exit(1);
  }
  console.log(`ACCEPTED: signalingState=${result.signalingState}`);
  for (const l of result.lines) console.log(`  ${l}`);
}

const answer = arg('--check-answer');
if (answer) {
  const offer = arg('--offer');
  if (!offer) {
    console.error('--check-answer needs --offer FILE (where the fresh offer is written)');
    process.exit(2);
  }
  await checkAnswer(answer, offer);
} else {
  await capture();
}
