// Captures a real SDP offer from headless Firefox, and checks that Firefox accepts an answer.
// Uses Debian's firefox-esr (scripts/bootstrap installs it; tests/e2e/firefox drives it too).
// A throwaway HTTP server on 127.0.0.1 serves the page and takes its POSTs.
//
//   node tests/data/capture_firefox_offer.mjs [--simulcast]
//       writes tests/data/firefox_offer.sdp (publish audio+video, 8 video+audio slots), or with
//       --simulcast tests/data/firefox_offer_simulcast.sdp (the video sender has sendEncodings
//       rid q/h/f at scaleResolutionDownBy 4/2/1, plus a data channel).
//   node tests/data/capture_firefox_offer.mjs --check-answer ANSWER --offer OFFER [--simulcast]
//                                             --answer-cmd 'CMD'
//       makes a fresh offer, writes it to OFFER, runs CMD < OFFER > ANSWER, gives the answer
//       to the page's setRemoteDescription and prints the result (exit 0 when accepted).
import { spawn, execSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const arg = (n) => { const i = process.argv.indexOf(n); return i >= 0 ? process.argv[i + 1] : undefined; };
const answerFile = arg('--check-answer');
const simulcast = process.argv.includes('--simulcast');
const offerFile = arg('--offer') || path.join(here, simulcast ? 'firefox_offer_simulcast.sdp' : 'firefox_offer.sdp');
const answerCmd = arg('--answer-cmd');
if (answerFile && !answerCmd) {
  console.error('--check-answer needs --answer-cmd CMD');
  process.exit(2);
}

const PAGE = `<!doctype html><title>sdp</title><script>
(async () => {
  const post = (p, body) => fetch(p, { method: 'POST', body });
  try {
    const pc = new RTCPeerConnection();
    const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: true });
    pc.addTransceiver(stream.getAudioTracks()[0], { direction: 'sendonly', streams: [stream] });
    const sendEncodings = ${simulcast} ? [
      { rid: 'q', scaleResolutionDownBy: 4 },
      { rid: 'h', scaleResolutionDownBy: 2 },
      { rid: 'f', scaleResolutionDownBy: 1 },
    ] : undefined;
    pc.addTransceiver(stream.getVideoTracks()[0], { direction: 'sendonly', streams: [stream], sendEncodings });
    for (let i = 0; i < 8; i++) {
      pc.addTransceiver('video', { direction: 'recvonly' });
      pc.addTransceiver('audio', { direction: 'recvonly' });
    }
    if (${simulcast}) pc.createDataChannel('chat');
    const offer = await pc.createOffer();
    await pc.setLocalDescription(offer);
    await post('/offer', pc.localDescription.sdp);
    const r = await fetch('/answer');
    if (r.status !== 200) return;
    const sdp = await r.text();
    const streams = {};
    pc.ontrack = (e) => { streams[e.transceiver.mid] = e.streams.map((s) => s.id).join(','); };
    try {
      await pc.setRemoteDescription({ type: 'answer', sdp });
      const lines = pc.getTransceivers().map((t) => {
        const rids = (t.sender.getParameters().encodings || []).map((e) => e.rid).filter(Boolean).join(',');
        return 'mid=' + t.mid + ' direction=' + t.direction + ' current=' + t.currentDirection +
          (rids ? ' rids=' + rids : '') + (streams[t.mid] !== undefined ? ' remote-streams=' + streams[t.mid] : '');
      });
      if (pc.sctp) lines.push('sctp maxMessageSize=' + pc.sctp.maxMessageSize);
      await post('/result', 'ACCEPTED: signalingState=' + pc.signalingState + '\\n  ' + lines.join('\\n  '));
    } catch (e) {
      await post('/result', 'REJECTED: ' + e);
    }
  } catch (e) {
    await post('/result', 'ERROR: ' + e);
  }
})();
</script>`;

const readBody = (req) => new Promise((res) => {
  let b = '';
  req.on('data', (c) => { b += c; });
  req.on('end', () => res(b));
});

let finish;
const done = new Promise((res) => { finish = res; });
const server = http.createServer(async (req, res) => {
  if (req.method === 'GET' && req.url === '/') {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end(PAGE);
  } else if (req.method === 'POST' && req.url === '/offer') {
    fs.writeFileSync(offerFile, await readBody(req));
    res.end('ok');
    if (!answerFile) finish(`wrote ${offerFile}`);
  } else if (req.method === 'GET' && req.url === '/answer') {
    if (!answerFile) { res.writeHead(404); res.end(); return; }
    execSync(`(${answerCmd}) < '${offerFile}' > '${answerFile}'`, { stdio: ['ignore', 'ignore', 'inherit'] });
    res.writeHead(200, { 'content-type': 'application/sdp' });
    res.end(fs.readFileSync(answerFile));
  } else if (req.method === 'POST' && req.url === '/result') {
    const r = await readBody(req);
    res.end('ok');
    finish(r);
  } else {
    res.writeHead(404);
    res.end();
  }
});
server.listen(0, '127.0.0.1');
await new Promise((r) => server.once('listening', r));
const url = `http://127.0.0.1:${server.address().port}/`;

const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-firefox-'));
fs.writeFileSync(path.join(profile, 'user.js'), [
  'user_pref("media.navigator.streams.fake", true);',
  'user_pref("media.navigator.permission.disabled", true);',
  'user_pref("browser.shell.checkDefaultBrowser", false);',
  'user_pref("datareporting.policy.dataSubmissionEnabled", false);',
  'user_pref("toolkit.telemetry.reportingpolicy.firstRun", false);',
  'user_pref("app.update.enabled", false);',
  '',
].join('\n'));
const ff = spawn('firefox-esr', ['--headless', '--no-remote', '--profile', profile, url],
  { stdio: 'ignore' });
const timer = setTimeout(() => finish('ERROR: timed out after 90 s'), 90000);
const result = await done;
clearTimeout(timer);
ff.kill('SIGTERM');
server.close();
await new Promise((r) => setTimeout(r, 500));
fs.rmSync(profile, { recursive: true, force: true });
console.log(result);
process.exit(result.startsWith('ACCEPTED') || result.startsWith('wrote') ? 0 : 1);
