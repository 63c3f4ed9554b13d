// Helpers for Parley's end-to-end tests: a test runner with an overall timeout and cleanup,
// parley-node process management, headless Chromium (Debian's, driven by playwright-core) and
// WebRTC stats sampling. Each test is a standalone script: `node tests/e2e/NAME.test.mjs`; it prints
// progress, exits 0 on pass and 1 on failure, and always stops the node and Chromium it started.
//
// Join tokens: startNode() gives every node a random --token-secret; mintToken() asks the same
// binary (`parley-node token`) for a token, jsMintToken() builds one in JS (for expired, forged
// or otherwise odd tokens). SigClient is a scripted WebSocket signaling client.
//
// Firefox: launchFirefox() starts Debian's firefox-esr headless, driven by puppeteer-core over
// WebDriver BiDi (playwright-core drives only Playwright's own Firefox build). Its pages answer
// the calls openParticipant() and the stats helpers make (goto, evaluate, console and pageerror
// events, screenshot), so the helpers below take either browser's pages.
//
// Environment: PARLEY_NODE_BIN (parley-node to test; default build/sfu/parley-node or
// build/parley-node under the repo root), PARLEY_CHROMIUM (default /usr/bin/chromium),
// PARLEY_FIREFOX (default /usr/bin/firefox-esr),
// PARLEY_E2E_TIMEOUT_S (overall limit, default 90), PARLEY_E2E_KEEP=1 (keep logs of a passing
// run), PARLEY_E2E_STACK=1 (print stacks on failure).

import { execFileSync, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import dgram from 'node:dgram';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import WebSocket from 'ws';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
// The node under test: PARLEY_NODE_BIN, else the first of these that exists in the repo's build/.
const DEFAULT_NODE_BINS = [path.join(REPO_ROOT, 'build', 'sfu', 'parley-node'),
  path.join(REPO_ROOT, 'build', 'parley-node')];
export const NODE_BIN = process.env.PARLEY_NODE_BIN
  ? path.resolve(process.env.PARLEY_NODE_BIN)
  : DEFAULT_NODE_BINS.find((p) => fs.existsSync(p)) || DEFAULT_NODE_BINS[0];
export const CHROMIUM = process.env.PARLEY_CHROMIUM || '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream',
  // Remote audio elements must play without a click, or audio is never pulled from the jitter
  // buffer and totalSamplesReceived stays flat.
  '--autoplay-policy=no-user-gesture-required',
];

export const FIREFOX = process.env.PARLEY_FIREFOX || '/usr/bin/firefox-esr';
// Preferences of the Firefox profile (on top of puppeteer's own: no updates, telemetry or
// first-run pages). Fake camera and microphone, no permission prompt; remote media plays without
// a click; host candidates with their addresses, not mDNS names; nothing reaches for the network,
// which these machines do not have. (No loopback: see inOwnNetns.)
export const FIREFOX_PREFS = {
  'media.navigator.streams.fake': true,
  'media.navigator.permission.disabled': true,
  'media.autoplay.default': 0,
  'media.autoplay.blocking_policy': 0,
  'media.peerconnection.ice.obfuscate_host_addresses': false,
  'network.dns.disablePrefetch': true,
  'network.prefetch-next': false,
  'browser.safebrowsing.malware.enabled': false,
  'browser.safebrowsing.phishing.enabled': false,
  'extensions.update.enabled': false,
  'messaging-system.rsexperimentloader.enabled': false,
  'app.normandy.enabled': false,
  'services.settings.server': 'http://127.0.0.1:9/',
};

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Runs `promise`, or rejects with `what` after `ms`.
export function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no result within ${ms / 1000} s`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function tailLines(text, n) {
  const lines = text.split('\n');
  if (lines.length && lines[lines.length - 1] === '') lines.pop();
  return lines.slice(-n).join('\n');
}

// ---- test runner ----------------------------------------------------------------------------

export class TestContext {
  constructor(name) {
    this.name = name;
    this.started = Date.now();
    this.tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), `parley-e2e-${name}-`));
    this.profilesDir = path.join(this.tmpDir, 'profiles');
    fs.mkdirSync(this.profilesDir);
    this.cleanups = [];
    this.nodes = [];
    this.participants = [];
  }

  log(msg) {
    if (this.finished) return;   // the test body may still be running after a timeout
    const s = ((Date.now() - this.started) / 1000).toFixed(1);
    console.log(`[${this.name} +${s}s] ${msg}`);
  }

  defer(what, fn) { this.cleanups.push({ what, fn }); }

  // Throws if a node started by this test has exited without being asked to.
  assertNodesAlive(when = '') {
    for (const node of this.nodes) node.assertAlive(when);
  }
}

// Runs one test: prints progress, enforces the overall timeout, cleans up on every path, and
// exits the process with 0 (pass) or 1 (fail).
export function runTest(name, fn, { timeoutMs = 90_000 } = {}) {
  if (Number(process.env.PARLEY_E2E_TIMEOUT_S) > 0) timeoutMs = Number(process.env.PARLEY_E2E_TIMEOUT_S) * 1000;
  const t = new TestContext(name);
  let finished = false;

  async function finish(err) {
    if (finished) return;
    finished = true;
    t.finished = true;
    clearTimeout(overall);
    let diagnosed = false;
    if (err) {
      console.log(`\nFAIL ${name}: ${err && err.message ? err.message : err}`);
      if (err && err.stack && process.env.PARLEY_E2E_STACK) console.log(err.stack);
      diagnosed = await diagnose(t).catch((e) => { console.log(`(diagnostics failed: ${e.message})`); return true; });
    }
    for (const { what, fn: cleanup } of t.cleanups.reverse()) {
      try {
        await withTimeout(Promise.resolve().then(cleanup), 15_000, `cleanup: ${what}`);
      } catch (e) {
        console.log(`cleanup "${what}" failed: ${e.message}`);
        if (!err) { err = e; diagnosed = true; }
      }
    }
    fs.rmSync(t.profilesDir, { recursive: true, force: true });
    if (err && fs.readdirSync(t.tmpDir).length === 0) fs.rmSync(t.tmpDir, { recursive: true, force: true });
    else if (err) console.log(`logs and screenshots kept in ${t.tmpDir}`);
    if (err) {
      if (diagnosed) console.log(`FAIL ${name}: ${String(err && err.message ? err.message : err).split('\n')[0]}`);
      console.log(`e2e: 0 passed, 1 failed`);
      process.exit(1);
    }
    if (process.env.PARLEY_E2E_KEEP) console.log(`logs kept in ${t.tmpDir} (PARLEY_E2E_KEEP)`);
    else fs.rmSync(t.tmpDir, { recursive: true, force: true });
    console.log(`PASS ${name} (${((Date.now() - t.started) / 1000).toFixed(1)} s)`);
    console.log(`e2e: 1 passed, 0 failed`);
    process.exit(0);
  }

  const overall = setTimeout(() => {
    finish(new Error(`overall timeout: the test did not finish within ${timeoutMs / 1000} s`));
  }, timeoutMs);
  process.on('SIGINT', () => finish(new Error('interrupted (SIGINT)')));
  process.on('SIGTERM', () => finish(new Error('terminated (SIGTERM)')));
  process.on('unhandledRejection', (e) => finish(e instanceof Error ? e : new Error(String(e))));
  // Last resort: never leave a node behind, whatever happened.
  process.on('exit', () => {
    for (const node of t.nodes) if (node.alive()) node.proc.kill('SIGKILL');
  });

  t.log(`start (node binary: ${NODE_BIN}; work dir: ${t.tmpDir})`);
  Promise.resolve().then(() => fn(t)).then(() => finish(null), (e) => finish(e));
}

// On failure: what each page knew, a screenshot of it, and the tail of each node's log.
async function diagnose(t) {
  for (const p of t.participants) {
    if (p.page.isClosed()) continue;
    try {
      const info = await withTimeout(p.page.evaluate(() => {
        const z = window.parley;
        if (!z) return { note: 'window.parley is missing' };
        return {
          state: z.state, errors: z.errors, users: z.users, slots: z.slots, subscribed: z.subscribed,
          offersSent: z.offersSent, recording: z.recording, received: (z.received || []).slice(-20),
          pc: z.pc ? { connection: z.pc.connectionState, ice: z.pc.iceConnectionState,
            signaling: z.pc.signalingState } : null,
          events: z.events.slice(-25).map((e) => `${e.t} ${e.msg}`),
        };
      }), 5000, `reading window.parley of ${p.name}`);
      const { events = [], ...rest } = info;
      console.log(`page ${p.name}: ${JSON.stringify(rest)}\n  recent events:\n    ${events.join('\n    ')}`);
    } catch (e) {
      console.log(`page ${p.name}: could not read state: ${e.message}`);
    }
    if (p.pageErrors.length) console.log(`page ${p.name} uncaught errors: ${p.pageErrors.join(' | ')}`);
    if (p.consoleErrors.length) console.log(`page ${p.name} console errors: ${p.consoleErrors.join(' | ')}`);
    const shot = path.join(t.tmpDir, `page-${p.name}.png`);
    await withTimeout(p.page.screenshot({ path: shot }), 5000, 'screenshot')
      .then(() => console.log(`page ${p.name}: screenshot ${shot}, console log ${p.logPath}`))
      .catch(() => {});
  }
  for (const node of t.nodes) {
    console.log(`parley-node log (${node.logPath}), last lines:\n${tailLines(node.output(), 40)}`);
  }
  return t.participants.length + t.nodes.length > 0;
}

// ---- network namespace -----------------------------------------------------------------------

// Firefox gathers no ICE candidate on loopback addresses (127.0.0.0/8; its
// media.peerconnection.ice.loopback preference no longer changes that) and pairs none with the
// node's 127.0.0.1. A test with Firefox therefore runs again, whole (node, browsers, this script),
// in a network namespace of its own where `ip` (a documentation address, 198.51.100.1 by default)
// sits on a veth interface with a default route (Firefox asks the route for its default address):
// both veth ends stay inside, nothing is bound or routed outside it; the node's media socket binds
// `ip`, its HTTP stays on 127.0.0.1. Returns `ip` inside the namespace; outside, creates it, runs
// the script there, removes it and exits with the script's status. Needs root (ip netns).
export async function inOwnNetns(name, ip = '198.51.100.1') {
  if (process.env.PARLEY_NETNS_IP) return process.env.PARLEY_NETNS_IP;
  const failEarly = (why) => {
    console.log(`FAIL ${name}: ${why}`);
    console.log('e2e: 0 passed, 1 failed');
    process.exit(1);
  };
  if (process.getuid() !== 0) failEarly('needs root (ip netns): Firefox needs a non-loopback address; CI runs as root');
  const ns = `parley-e2e-${process.pid}`;
  const run = (...argv) => execFileSync('ip', argv, { stdio: ['ignore', 'ignore', 'pipe'] });
  let code = 1;
  let setupError = null;
  try {
    run('netns', 'add', ns);
    run('-n', ns, 'link', 'set', 'lo', 'up');
    run('-n', ns, 'link', 'add', 'pe0', 'type', 'veth', 'peer', 'name', 'pe1');
    run('-n', ns, 'addr', 'add', `${ip}/32`, 'dev', 'pe0');
    run('-n', ns, 'link', 'set', 'pe0', 'up');
    run('-n', ns, 'link', 'set', 'pe1', 'up');
    run('-n', ns, 'route', 'add', 'default', 'dev', 'pe0');
    const child = spawn('ip', ['netns', 'exec', ns, process.execPath, ...process.argv.slice(1)],
      { stdio: 'inherit', env: { ...process.env, PARLEY_NETNS_IP: ip } });
    for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));
    code = await new Promise((resolve) => {
      child.on('error', (e) => { console.log(`FAIL ${name}: could not run ip netns exec: ${e.message}`); resolve(1); });
      child.on('close', (c, sig) => resolve(c ?? (sig ? 1 : 0)));
    });
  } catch (e) {
    setupError = `could not set up network namespace ${ns}: ${String(e.stderr || e.message).trim()}`;
  } finally {
    try { run('netns', 'del', ns); } catch { /* never made, or already gone */ }
  }
  if (setupError) failEarly(setupError);
  process.exit(code);
}

// ---- ports ----------------------------------------------------------------------------------

export function freeTcpPort(host = '127.0.0.1') {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, host, () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

function bindUdp(port, host) {
  return new Promise((resolve, reject) => {
    const sock = dgram.createSocket('udp4');
    sock.once('error', (e) => { sock.close(); reject(e); });
    sock.bind(port, host, () => resolve(sock));
  });
}

// A base port N such that N .. N+count-1 are all free UDP ports right now.
export async function freeUdpPortRange(count, host = '127.0.0.1') {
  for (let attempt = 0; attempt < 50; attempt++) {
    const first = await bindUdp(0, host);
    const base = first.address().port;
    const held = [first];
    let ok = base + count - 1 <= 65535;
    for (let i = 1; ok && i < count; i++) {
      try { held.push(await bindUdp(base + i, host)); } catch { ok = false; }
    }
    await Promise.all(held.map((s) => new Promise((r) => s.close(r))));
    if (ok) return base;
  }
  throw new Error(`could not find ${count} consecutive free UDP ports in 50 tries`);
}

// ---- parley-node ----------------------------------------------------------------------------

function describeExit({ code, signal, error }) {
  if (error) return `failed to start (${error.message})`;
  return signal ? `was killed by signal ${signal}` : `exited with code ${code}`;
}

const SANITIZER_REPORT = /ERROR: (AddressSanitizer|LeakSanitizer|ThreadSanitizer)|runtime error:/;

function httpGet(url, timeoutMs = 5000) {
  return new Promise((resolve) => {
    // A fresh connection each time: Node.js 20 keeps connections alive, and one the node closed
    // after its 5 s idle timeout fails the next GET with ECONNRESET (simulcast once read /metrics
    // 5.0 s after startNode's first GET and got no body).
    const req = http.get(url, { timeout: timeoutMs, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { if (body.length < (1 << 20)) body += d; });
      res.on('end', () => resolve({ status: res.statusCode, body }));
      res.on('error', (e) => resolve({ error: e.message }));
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', (e) => resolve({ error: e.code || e.message }));
  });
}

// POST of a JSON body (or raw text); resolves {status, body, json} (json null when not JSON).
export function httpPostJson(url, body, timeoutMs = 10_000) {
  const data = typeof body === 'string' ? body : JSON.stringify(body);
  return new Promise((resolve) => {
    // A fresh connection each time: a kept-alive one the server has since closed would fail.
    const req = http.request(url, { method: 'POST', timeout: timeoutMs, agent: false,
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { text += d; });
      res.on('end', () => {
        let json = null;
        try { json = JSON.parse(text); } catch { /* not JSON */ }
        resolve({ status: res.statusCode, body: text, json });
      });
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', (e) => resolve({ error: e.code || e.message }));
    req.end(data);
  });
}

// ---- join tokens ----------------------------------------------------------------------------

export function randomSecret() {
  return crypto.randomBytes(24).toString('base64url');
}

let lastSecret = null;   // the --token-secret of the node started last

// One token from `parley-node token` (the binary under test). secret defaults to the
// --token-secret of the node started last; ttl in seconds (may be negative).
export function mintToken({ meeting, account, role = 'participant', tenant, ttl, secret = lastSecret }) {
  if (!secret) throw new Error('mintToken: no secret (start a node first or pass secret)');
  const argv = ['token', '--secret', secret, '--meeting', meeting, '--account', account, '--role', role];
  if (tenant != null) argv.push('--tenant', tenant);
  if (ttl != null) argv.push('--ttl', String(ttl));
  let out;
  try {
    out = execFileSync(NODE_BIN, argv, { encoding: 'utf8', timeout: 10_000, stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    throw new Error(`\`parley-node ${argv.map((a) => (a === secret ? 'SECRET' : a)).join(' ')}\` failed ` +
      `(${e.status != null ? `exit ${e.status}` : e.message}): ${String(e.stderr || '').trim()}`);
  }
  const token = out.trim();
  if (!/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(token)) {
    throw new Error(`parley-node token printed ${JSON.stringify(out.slice(0, 200))}, expected one JWT`);
  }
  return token;
}

const b64url = (x) => Buffer.from(typeof x === 'string' ? x : JSON.stringify(x)).toString('base64url');

// A token made in JS: HS256 over header {"alg":"HS256","typ":"JWT"} and the claims meeting_id,
// account_id, tenant_id, role, iat, exp. `claims` adds or overrides claims (undefined removes
// one), `header` replaces the header, `signature` replaces the signature part.
export function jsMintToken({ secret = lastSecret, meeting, account, role = 'participant', tenant = 'default',
  iat, exp, ttl = 3600, claims = {}, header = { alg: 'HS256', typ: 'JWT' }, signature } = {}) {
  const now = Math.floor(Date.now() / 1000);
  const c = { meeting_id: meeting, account_id: account, tenant_id: tenant, role,
    iat: iat ?? now, exp: exp ?? (iat ?? now) + ttl, ...claims };
  for (const k of Object.keys(c)) if (c[k] === undefined) delete c[k];
  const signed = `${b64url(header)}.${b64url(c)}`;
  const sig = signature ?? crypto.createHmac('sha256', secret).update(signed).digest('base64url');
  return `${signed}.${sig}`;
}

// {header, claims} of a JWT (no verification).
export function decodeToken(token) {
  const [h, c] = token.split('.');
  return { header: JSON.parse(Buffer.from(h, 'base64url')), claims: JSON.parse(Buffer.from(c, 'base64url')) };
}

// Starts parley-node on free ports and waits until GET / answers 200. Every node gets a random
// --token-secret (node.tokenSecret; tokenSecret: null starts it without one); node.mintToken()
// mints with it. maxParticipants, controlUrl, controlKey, devTokenEndpoint add those flags;
// httpPort / mediaPort reuse given ports (a node restarted where it was), else free ones.
// Returns {proc, url, httpPort, mediaPort, mediaPorts, logPath, alive(), assertAlive(), stop(), ...}.
export async function startNode(t, {
  workers = 2, logLevel = 'debug', args = [], env = {}, tokenSecret = randomSecret(),
  maxParticipants, controlUrl, controlKey, devTokenEndpoint = false, httpPort: wantHttp, mediaPort: wantMedia,
  mediaIp = '127.0.0.1',
} = {}) {
  try {
    fs.accessSync(NODE_BIN, fs.constants.X_OK);
  } catch {
    throw new Error(`parley-node binary not found or not executable at ${NODE_BIN} ` +
      `(build it with meson/ninja, or set PARLEY_NODE_BIN${process.env.PARLEY_NODE_BIN ? '' :
        `; also looked for ${DEFAULT_NODE_BINS.slice(1).join(', ')}`})`);
  }
  const httpPort = wantHttp ?? await freeTcpPort();
  const mediaPort = wantMedia ?? await freeUdpPortRange(workers, mediaIp);
  const index = t.nodes.length;
  const logPath = path.join(t.tmpDir, `parley-node${index ? `-${index}` : ''}.log`);
  const logFile = fs.openSync(logPath, 'w');
  const argv = ['--http-port', String(httpPort), '--media-port', String(mediaPort),
    '--workers', String(workers), '--listen-ip', '127.0.0.1', '--media-ip', mediaIp,
    '--log-level', logLevel];
  if (tokenSecret) argv.push('--token-secret', tokenSecret);
  if (maxParticipants != null) argv.push('--max-participants', String(maxParticipants));
  if (controlUrl) argv.push('--control-url', controlUrl);
  if (controlKey) argv.push('--control-key', controlKey);
  if (devTokenEndpoint) argv.push('--dev-token-endpoint');
  argv.push(...args);
  if (tokenSecret) lastSecret = tokenSecret;
  t.log(`starting parley-node: http ${httpPort}, media udp ${mediaIp === '127.0.0.1' ? '' : `${mediaIp} `}` +
    `${mediaPort}..${mediaPort + workers - 1}, log ${logPath}`);
  const childEnv = { PARLEY_WEB_ROOT: path.join(REPO_ROOT, 'web'), ...process.env, ...env };
  // What the test controls comes from the command line only, never from the caller's environment.
  for (const k of ['PARLEY_TOKEN_SECRET', 'PARLEY_CONTROL_URL', 'PARLEY_CONTROL_KEY', 'PARLEY_DEV_TOKEN_ENDPOINT',
    'PARLEY_MAX_PARTICIPANTS']) if (!(k in env)) delete childEnv[k];
  const proc = spawn(NODE_BIN, argv, { stdio: ['ignore', 'pipe', 'pipe'], env: childEnv });

  let output = '';
  let outputDropped = 0;
  const onData = (chunk) => {
    fs.writeSync(logFile, chunk);
    output += chunk.toString('utf8');
    if (output.length > 8 << 20) {         // keep the last 4 MiB in memory, all of it on disk
      outputDropped += output.length - (4 << 20);
      output = output.slice(-(4 << 20));
    }
  };
  proc.stdout.on('data', onData);
  proc.stderr.on('data', onData);

  let exitInfo = null;
  let stopping = false;
  const exited = new Promise((resolve) => {
    proc.on('error', (error) => { if (!exitInfo) { exitInfo = { error }; resolve(exitInfo); } });
    proc.on('close', (code, signal) => {
      if (!exitInfo) exitInfo = { code, signal };
      try { fs.closeSync(logFile); } catch { /* already closed */ }
      resolve(exitInfo);
    });
  });
  exited.then((info) => {
    if (!stopping) t.log(`parley-node stopped unexpectedly: it ${describeExit(info)}`);
  });

  const node = {
    proc, httpPort, mediaPort, logPath, workers, tokenSecret,
    mintToken: (o) => mintToken({ secret: tokenSecret, ...o }),
    jsMintToken: (o) => jsMintToken({ secret: tokenSecret, ...o }),
    mediaPorts: Array.from({ length: workers }, (_, i) => mediaPort + i),
    url: `http://127.0.0.1:${httpPort}`,
    wsUrl: `ws://127.0.0.1:${httpPort}/ws`,
    output: () => (outputDropped ? `[${outputDropped} bytes dropped]\n` : '') + output,
    alive: () => exitInfo === null && proc.exitCode === null && proc.signalCode === null,
    assertAlive(when = '') {
      if (!node.alive()) {
        throw new Error(`parley-node is not running${when ? ` ${when}` : ''}: expected it alive, ` +
          `it ${exitInfo ? describeExit(exitInfo) : 'has exited'}; log: ${logPath}`);
      }
    },
    // SIGTERM; expects exit code 0 within timeoutMs and no sanitizer report in the log.
    async stop({ timeoutMs = 10_000 } = {}) {
      node.assertAlive('when the test asked it to stop');
      stopping = true;
      t.log('stopping parley-node with SIGTERM');
      proc.kill('SIGTERM');
      const info = await Promise.race([exited, sleep(timeoutMs).then(() => null)]);
      if (!info) {
        proc.kill('SIGKILL');
        await Promise.race([exited, sleep(2000)]);
        throw new Error(`parley-node did not exit within ${timeoutMs / 1000} s of SIGTERM ` +
          `(expected a clean exit 0; killed it with SIGKILL); log: ${logPath}`);
      }
      if (info.error || info.code !== 0) {
        throw new Error(`parley-node ${describeExit(info)} after SIGTERM; ` +
          `expected exit code 0; log: ${logPath}`);
      }
      const m = output.match(SANITIZER_REPORT);
      if (m) throw new Error(`parley-node exited 0 but its log has a sanitizer report ("${m[0]}"); log: ${logPath}`);
      t.log('parley-node exited 0');
    },
    // A crash: SIGKILL, nothing flushed or closed by the node.
    async crash() {
      node.assertAlive('when the test wanted to crash it');
      stopping = true;
      t.log('killing parley-node with SIGKILL');
      proc.kill('SIGKILL');
      await Promise.race([exited, sleep(5000)]);
    },
    // Cleanup path: make sure it is gone (SIGTERM, then SIGKILL after 5 s).
    async kill() {
      if (!node.alive()) return;
      stopping = true;
      proc.kill('SIGTERM');
      if (!await Promise.race([exited, sleep(5000).then(() => null)])) {
        proc.kill('SIGKILL');
        await Promise.race([exited, sleep(2000)]);
      }
    },
  };
  t.nodes.push(node);
  t.defer('stop parley-node', () => node.kill());

  const deadline = Date.now() + 15_000;
  let last = 'no attempt yet';
  for (;;) {
    if (!node.alive()) {
      await Promise.race([exited, sleep(500)]);
      throw new Error(`parley-node stopped during startup (it ${exitInfo ? describeExit(exitInfo) : 'exited'}); ` +
        `expected it to serve GET / with 200; log: ${logPath}\n${tailLines(output, 20)}`);
    }
    const r = await httpGet(`${node.url}/`, 1000);
    if (r.status === 200) break;
    last = r.status ? `HTTP ${r.status}` : r.error;
    if (Date.now() > deadline) {
      throw new Error(`parley-node did not answer GET ${node.url}/ with 200 within 15 s (last: ${last}); ` +
        `log: ${logPath}`);
    }
    await sleep(100);
  }
  t.log(`parley-node is up at ${node.url}`);
  return node;
}

export { httpGet };

// Waits until `p` decodes `other` at a width within [min, max]; returns the width.
export async function waitWidth(p, other, min, max, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  let last = 0;
  while (Date.now() < deadline) {
    const a = (await sampleStats(p)).accounts[other];
    last = a ? a.frameWidth : 0;
    if (last >= min && last <= max) return last;
    await sleep(250);
  }
  throw new Error(`${p.name}: expected ${other}'s video decoded ${min}..${max} wide within ` +
    `${timeoutMs / 1000} s, last frameWidth ${last}`);
}

// The page's chat channel state and messages (window.parley.chatOpen / chat).
export async function chatOf(p) {
  return withTimeout(p.page.evaluate(() => ({ open: window.parley.chatOpen, chat: window.parley.chat })),
    5000, `${p.name}'s page`);
}

// Waits until `p`'s chat holds `text` from `from`.
export async function waitChat(p, from, text, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const c = await chatOf(p);
    if (c.chat.some((m) => m.from === from && m.text === text)) return;
    if (Date.now() > deadline) throw new Error(`${p.name}: expected chat "${text}" from ${from}, has ${JSON.stringify(c.chat)}`);
    await sleep(100);
  }
}

// The value of one per-stream series of /metrics, summed over the lines whose labels include all
// of `want`; null when there is none.
export function metricSeries(text, name, want) {
  let sum = null;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const labels = line.slice(name.length + 1, line.lastIndexOf('}'));
    if (Object.entries(want).every(([k, v]) => labels.includes(`${k}="${v}"`))) {
      sum = (sum || 0) + Number(line.slice(line.lastIndexOf(' ') + 1));
    }
  }
  return sum;
}

// Sum of a Prometheus metric of the node's /metrics text over all its labels.
export function metricSum(text, name) {
  let sum = 0, found = false;
  for (const line of text.split('\n')) {
    const m = line.match(/^([a-z_]+)(\{[^}]*\})? (\d+)$/);
    if (m && m[1] === name) { sum += Number(m[3]); found = true; }
  }
  if (!found) throw new Error(`/metrics has no ${name}`);
  return sum;
}

// ---- the control plane ----------------------------------------------------------------------

// A stand-in control plane on 127.0.0.1 that records every request the node makes (method,
// url, headers, body) and answers 200 {} (or replies.get(path)) — or 503 to the first
// failFirst.get(path) requests.
export async function startControlPlane(t) {
  const requests = [];
  const failFirst = new Map();   // path -> how many requests to answer 503 first
  const replies = new Map();     // path -> the JSON body of its 200 answers (default {})
  let waiters = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => { body += d; });
    req.on('end', () => {
      const r = { method: req.method, url: req.url, headers: req.headers, body, at: Date.now() };
      requests.push(r);
      const left = failFirst.get(req.url) || 0;
      if (left > 0) failFirst.set(req.url, left - 1);
      r.status = left > 0 ? 503 : 200;
      res.writeHead(r.status, { 'content-type': 'application/json' });
      res.end(r.status === 200 ? JSON.stringify(replies.get(req.url) || {}) : '{"error":"try again"}');
      const w = waiters;
      waiters = [];
      w.forEach((fn) => fn());
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.defer('stop the control plane', () => new Promise((resolve) => { server.closeAllConnections?.(); server.close(() => resolve()); }));
  const url = `http://127.0.0.1:${server.address().port}`;
  return {
    url, requests, failFirst, replies,
    forPath: (p) => requests.filter((r) => r.url === p),
    async waitFor(p, count, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      while (requests.filter((r) => r.url === p).length < count && Date.now() < deadline) {
        await Promise.race([new Promise((resolve) => waiters.push(resolve)), sleep(Math.max(0, deadline - Date.now()))]);
      }
      return requests.filter((r) => r.url === p);
    },
  };
}

// ---- browser --------------------------------------------------------------------------------

// A fresh headless Chromium (own temp profile). Several pages of one browser each get their own
// fake camera and microphone (--use-fake-device-for-media-stream), so one browser serves a test.
export async function launchBrowser(t, { label = 'chromium' } = {}) {
  const userDataDir = fs.mkdtempSync(path.join(t.profilesDir, `${label}-`));
  let context;
  try {
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
      timeout: 30_000,
      viewport: { width: 960, height: 640 },
    });
  } catch (e) {
    throw new Error(`could not launch ${CHROMIUM} with playwright-core: ${e.message.split('\n')[0]}`);
  }
  t.defer(`close ${label}`, () => withTimeout(context.close(), 10_000, `closing ${label}`));
  return context;
}

// A fresh headless Firefox (own profile under the test's profiles folder, removed at the end),
// driven by puppeteer-core (loaded here only, so the Chromium tests do not need it). Its process
// group (Firefox and its content processes) is killed at cleanup if closing does not end it.
export async function launchFirefox(t, { label = 'firefox' } = {}) {
  const userDataDir = fs.mkdtempSync(path.join(t.profilesDir, `${label}-`));
  let puppeteer;
  try {
    puppeteer = (await import('puppeteer-core')).default;
  } catch (e) {
    throw new Error(`puppeteer-core is not installed in tests/node_modules (run scripts/bootstrap): ${e.message}`);
  }
  let browser;
  try {
    browser = await puppeteer.launch({
      browser: 'firefox',
      executablePath: FIREFOX,
      headless: true,
      userDataDir,
      extraPrefsFirefox: FIREFOX_PREFS,
      defaultViewport: { width: 960, height: 640 },
      timeout: 60_000,
      protocolTimeout: 60_000,
    });
  } catch (e) {
    throw new Error(`could not launch ${FIREFOX} with puppeteer-core: ${e.message.split('\n')[0]}`);
  }
  const pid = browser.process() ? browser.process().pid : null;
  const killGroup = () => {
    if (!pid) return;
    try { process.kill(-pid, 'SIGKILL'); } catch { /* already gone */ }
  };
  process.on('exit', killGroup);
  t.defer(`close ${label}`, async () => {
    try {
      await withTimeout(browser.close(), 10_000, `closing ${label}`);
    } finally {
      killGroup();
    }
  });
  return browser;
}

// Opens the node's page in a new tab and auto-joins `meeting` as `name`: with INIT when `host`,
// else JOIN, with `token` (default: minted for this meeting, account and role). `autosub: false`
// stops the page from subscribing to everyone's video; width/height set its camera resolution;
// `params` adds URL parameters.
export async function openParticipant(t, context, node, {
  meeting, name, slots = 8, host = false, token, autosub = true, width, height, params = {},
}) {
  const page = await context.newPage();
  const logPath = path.join(t.tmpDir, `page-${name}.log`);
  const logFd = fs.openSync(logPath, 'a');
  const p = { name, meeting, page, logPath, host, consoleErrors: [], pageErrors: [] };
  let logOpen = true;
  const write = (line) => {
    if (!logOpen) return;
    try {
      fs.writeSync(logFd, `${((Date.now() - t.started) / 1000).toFixed(2)} ${line}\n`);
    } catch { /* disk full or similar: the log is a convenience */ }
  };
  page.on('console', (m) => {
    write(`${m.type()}: ${m.text()}`);
    if (m.type() === 'error') p.consoleErrors.push(m.text());
  });
  page.on('pageerror', (e) => {
    write(`uncaught: ${e.message}`);
    p.pageErrors.push(e.message);
  });
  page.on('crash', () => p.pageErrors.push('the page crashed'));
  // Every signaling frame the page sends and receives (text), for tests that count packets.
  p.wsSent = [];
  p.wsReceived = [];
  page.on('websocket', (ws) => {
    ws.on('framesent', (f) => p.wsSent.push(typeof f.payload === 'string' ? f.payload : f.payload.toString('utf8')));
    ws.on('framereceived', (f) => p.wsReceived.push(typeof f.payload === 'string' ? f.payload : f.payload.toString('utf8')));
  });
  page.on('close', () => { logOpen = false; fs.closeSync(logFd); });
  t.participants.push(p);
  if (token === undefined) token = node.mintToken({ meeting, account: name, role: host ? 'host' : 'participant' });
  const q = new URLSearchParams({ meeting, name, autojoin: '1', slots: String(slots) });
  if (host) q.set('host', '1');
  if (!autosub) q.set('autosub', '0');
  if (width) q.set('width', String(width));
  if (height) q.set('height', String(height));
  for (const [k, v] of Object.entries(params)) q.set(k, String(v));
  if (token) q.set('token', token);
  const url = `${node.url}/?${q}`;
  t.log(`${name}: opening ${url.replace(/token=[^&]+/, 'token=...')}${host ? ' (host)' : ''}`);
  const resp = await page.goto(url, { timeout: 15_000 });
  if (!resp || resp.status() !== 200) {
    throw new Error(`${name}: expected GET ${url} to answer 200, got ${resp ? resp.status() : 'no response'}`);
  }
  return p;
}

// Waits until the page has joined (got MEETING_USERS after its INIT / JOIN).
export async function waitForPageJoined(t, p, { timeoutMs = 15_000 } = {}) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = await withTimeout(p.page.evaluate(() => {
      const z = window.parley;
      return z ? { state: z.state, errors: z.errors, joined: (z.received || []).includes('MEETING_USERS') }
        : { state: 'no window.parley', errors: [], joined: false };
    }), 5000, `reading the state of ${p.name}'s page`);
    if (s.joined) { p.joinedAt = Date.now(); break; }
    if (s.state === 'failed' || s.state === 'closed' || p.pageErrors.length) {
      throw new Error(`${p.name}'s page did not join: state ${s.state}, errors ${JSON.stringify(s.errors)}` +
        `${p.pageErrors.length ? `, uncaught: ${p.pageErrors.join(' | ')}` : ''}`);
    }
    if (Date.now() > deadline) {
      throw new Error(`${p.name}'s page did not get MEETING_USERS within ${timeoutMs / 1000} s ` +
        `(state ${s.state}, errors ${JSON.stringify(s.errors)})`);
    }
    await sleep(100);
  }
  t.log(`${p.name} joined${p.host ? ' (host: the meeting is started)' : ''}`);
}

// ---- scripted signaling client --------------------------------------------------------------

// A WebSocket signaling client (subprotocol "parley") that queues what it receives. expect*()
// compare the next packet with what docs/protocol.md says, and throw "expected ... got ...".
export class SigClient {
  constructor(ws, label) {
    this.ws = ws;
    this.label = label;
    this.queue = [];
    this.waiter = null;
    this.closed = null;
    ws.on('message', (data, isBinary) => {
      const ev = { kind: 'message', isBinary, text: data.toString('utf8') };
      if (!isBinary) { try { ev.msg = JSON.parse(ev.text); } catch { ev.problem = 'not JSON'; } } else ev.problem = 'binary frame';
      this.push(ev);
    });
    ws.on('close', (code, reason) => { this.closed = { code }; this.push({ kind: 'close', code, reason: reason.toString() }); });
    ws.on('error', (e) => this.push({ kind: 'error', error: e.message }));
  }

  static async connect(node, label) {
    const ws = new WebSocket(node.wsUrl, 'parley', { handshakeTimeout: 5000, maxPayload: 64 << 20 });
    const client = new SigClient(ws, label);
    await withTimeout(new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', (e) => reject(new Error(`${label}: WebSocket to ${node.wsUrl} failed: ${e.message}`)));
      ws.once('unexpected-response', (_, res) => reject(new Error(
        `${label}: expected a WebSocket upgrade at ${node.wsUrl}, got HTTP ${res.statusCode}`)));
    }), 6000, `${label}: opening ${node.wsUrl}`);
    return client;
  }

  push(ev) {
    this.queue.push(ev);
    if (this.waiter) { const w = this.waiter; this.waiter = null; w(); }
  }

  // The next event ({kind: 'message', msg, text} | {kind: 'close'} | {kind: 'error'}) or {kind: 'timeout'}.
  async next(timeoutMs = 5000) {
    const deadline = Date.now() + timeoutMs;
    while (!this.queue.length) {
      const left = deadline - Date.now();
      if (left <= 0) return { kind: 'timeout', ms: timeoutMs };
      await new Promise((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiter = () => { clearTimeout(timer); resolve(); };
      });
    }
    return this.queue.shift();
  }

  send(obj) { this.ws.send(typeof obj === 'string' ? obj : JSON.stringify(obj)); }
  sendBinary(buf) { this.ws.send(buf, { binary: true }); }

  fail(expected, ev) {
    throw new Error(`${this.label}: expected ${expected}; got ${describeEvent(ev)}`);
  }

  // The next event must be a JSON message; returns it.
  async nextPacket(expected, timeoutMs = 5000) {
    const ev = await this.next(timeoutMs);
    if (ev.kind !== 'message' || !ev.msg || typeof ev.msg !== 'object') this.fail(expected, ev);
    return ev.msg;
  }

  // The next packet must deep-equal `packet` (same keys, same values).
  async expect(packet, timeoutMs = 5000) {
    const want = JSON.stringify(packet);
    const msg = await this.nextPacket(want, timeoutMs);
    if (!deepEqual(msg, packet)) this.fail(want, { kind: 'message', msg });
    return msg;
  }

  // The next packet is ERROR for `meetingId` with a msg matching `re`; exactly the keys
  // meeting_id, content_type, msg. meetingId may be an array of acceptable ids.
  async expectError(meetingId, re, timeoutMs = 5000) {
    const ids = Array.isArray(meetingId) ? meetingId : [meetingId];
    const want = `ERROR {"meeting_id":${ids.map((x) => JSON.stringify(x)).join(' or ')},"content_type":"ERROR","msg":${re}}`;
    const msg = await this.nextPacket(want, timeoutMs);
    const keys = Object.keys(msg).sort().join(',');
    if (msg.content_type !== 'ERROR' || !ids.includes(msg.meeting_id) || typeof msg.msg !== 'string' ||
        !re.test(msg.msg) || keys !== 'content_type,meeting_id,msg') {
      this.fail(want, { kind: 'message', msg });
    }
    return msg;
  }

  // A refused join: ERROR with the reason, then exactly JOIN_DENIED.
  async expectDenied(meetingId, re, timeoutMs = 5000) {
    const err = await this.expectError(meetingId, re, timeoutMs);
    await this.expect({ meeting_id: meetingId, content_type: 'JOIN_DENIED' }, timeoutMs);
    return err;
  }

  // No message for `ms` (a close is fine when allowClose).
  async expectNothing(ms = 300, { allowClose = false } = {}) {
    const ev = await this.next(ms);
    if (ev.kind === 'timeout') return;
    if (allowClose && ev.kind === 'close') { this.queue.unshift(ev); return; }
    this.fail(`nothing within ${ms} ms`, ev);
  }

  // The connection closes (messages before the close fail the expectation unless skipMessages).
  async expectClose(timeoutMs = 5000, { skipMessages = false } = {}) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const ev = await this.next(Math.max(0, deadline - Date.now()));
      if (ev.kind === 'close' || (ev.kind === 'error' && this.closed)) return ev;
      if (ev.kind === 'error') continue;
      if (ev.kind === 'message' && skipMessages) continue;
      this.fail('the connection to close', ev);
    }
  }

  close() {
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) this.ws.terminate();
  }
}

export function describeEvent(ev) {
  if (!ev) return 'nothing';
  if (ev.kind === 'timeout') return `nothing within ${ev.ms} ms`;
  if (ev.kind === 'close') return `the connection closed (code ${ev.code}${ev.reason ? `, "${ev.reason}"` : ''})`;
  if (ev.kind === 'error') return `a socket error (${ev.error})`;
  if (ev.problem) return `${ev.problem}: ${String(ev.text || '').slice(0, 200)}`;
  const text = JSON.stringify(ev.msg);
  return text.length > 400 ? `${text.slice(0, 400)}...` : text;
}

export function deepEqual(a, b) {
  if (a === b) return true;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== 'object') return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) return a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  const ka = Object.keys(a).sort();
  const kb = Object.keys(b).sort();
  return ka.length === kb.length && ka.every((k, i) => k === kb[i] && deepEqual(a[k], b[k]));
}

// ---- stats ----------------------------------------------------------------------------------

// One getStats() sample of a participant's page: per remote account named in window.parley.slots,
// {framesDecoded, frameWidth, frameHeight, totalSamplesReceived, videoMid, audioMid,
//  videoPackets, audioPackets, freezeCount, freezesMs} (packets null = no inbound-rtp stats for
// that slot yet; freezes null when Chromium does not report them).
export async function sampleStats(p) {
  return withTimeout(p.page.evaluate(async () => {
    const z = window.parley;
    const base = { t: Date.now(), state: z ? z.state : 'no window.parley', errors: z ? z.errors : [] };
    if (!z || !z.pc) return { ...base, accounts: {}, unmapped: [] };
    const accounts = {};
    // One snapshot: a SLOTS message may replace the table while getStats() is awaited.
    const slots = { ...z.slots };
    for (const [mid, slot] of Object.entries(slots)) {
      const a = accounts[slot.account_id] || (accounts[slot.account_id] = {
        framesDecoded: 0, frameWidth: 0, frameHeight: 0, totalSamplesReceived: 0,
        videoMid: null, audioMid: null, videoPackets: null, audioPackets: null,
        freezeCount: null, freezesMs: null,
      });
      if (slot.kind === 'video') a.videoMid = mid; else a.audioMid = mid;
    }
    const midOfTrack = {};
    for (const tr of z.pc.getTransceivers()) {
      if (tr.mid != null && tr.receiver && tr.receiver.track) midOfTrack[tr.receiver.track.id] = tr.mid;
    }
    const unmapped = [];
    const report = await z.pc.getStats();
    report.forEach((s) => {
      if (s.type !== 'inbound-rtp') return;
      const mid = s.mid != null ? s.mid : midOfTrack[s.trackIdentifier];
      const slot = slots[mid];
      if (!slot || slot.kind !== s.kind) { unmapped.push(`${s.kind}@mid ${mid}`); return; }
      const a = accounts[slot.account_id];
      if (s.kind === 'video') {
        a.framesDecoded = s.framesDecoded || 0;
        a.frameWidth = s.frameWidth || 0;
        a.frameHeight = s.frameHeight || 0;
        a.videoPackets = s.packetsReceived || 0;
        if (s.freezeCount !== undefined) {
          a.freezeCount = s.freezeCount;
          a.freezesMs = Math.round((s.totalFreezesDuration || 0) * 1000);
        }
      } else {
        a.totalSamplesReceived = s.totalSamplesReceived || 0;
        a.audioPackets = s.packetsReceived || 0;
      }
    });
    return {
      ...base, accounts, unmapped,
      connectionState: z.pc.connectionState, iceConnectionState: z.pc.iceConnectionState,
    };
  }), 10_000, `getStats() on ${p.name}'s page`);
}

// What the page learnt from the node's RTCP: remote-outbound-rtp entries come from its Sender
// Reports (one per received stream), remote-inbound-rtp from its Receiver Reports on what the
// page sends (roundTripTime needs correct LSR/DLSR). Firefox counts no reportsSent: there a
// Sender Report shows as the entry's remoteTimestamp (its NTP time), counted as one report.
export async function rtcpStats(p) {
  return withTimeout(p.page.evaluate(async () => {
    const out = { senderReports: [], receiverReports: [] };
    const report = await window.parley.pc.getStats();
    report.forEach((s) => {
      if (s.type === 'remote-outbound-rtp') {
        const reports = s.reportsSent ?? (s.remoteTimestamp > 0 ? 1 : 0);
        out.senderReports.push({ kind: s.kind, ssrc: s.ssrc, reportsSent: reports, packetsSent: s.packetsSent || 0 });
      } else if (s.type === 'remote-inbound-rtp') {
        out.receiverReports.push({ kind: s.kind, ssrc: s.ssrc, roundTripTime: s.roundTripTime,
          rttMeasurements: s.roundTripTimeMeasurements || 0, fractionLost: s.fractionLost, packetsLost: s.packetsLost });
      }
    });
    return out;
  }), 10_000, `getStats() on ${p.name}'s page`);
}

// Asserts the node's RTCP reports reached page p: a Sender Report for each stream it receives
// from the `expectStreams` others (audio and video each), a Receiver Report with a round-trip
// time for its own audio and video.
export async function assertRtcpReports(t, p, expectStreams) {
  const r = await rtcpStats(p);
  t.log(`${p.name}: ${r.senderReports.length} streams with SRs from the node ` +
    `(${r.senderReports.map((x) => `${x.kind} ${x.reportsSent}`).join(', ')}); RRs on its own: ` +
    r.receiverReports.map((x) => `${x.kind} rtt ${x.roundTripTime} lost ${x.packetsLost}`).join(', '));
  for (const kind of ['audio', 'video']) {
    const srs = r.senderReports.filter((x) => x.kind === kind && x.reportsSent > 0 && x.packetsSent > 0);
    if (srs.length < expectStreams) {
      throw new Error(`${p.name}: expected Sender Reports on ${expectStreams} received ${kind} streams, got ${srs.length}`);
    }
    const rrs = r.receiverReports.filter((x) => x.kind === kind && x.rttMeasurements > 0 &&
      typeof x.roundTripTime === 'number' && x.roundTripTime >= 0 && x.roundTripTime < 1);
    if (rrs.length < 1) throw new Error(`${p.name}: no Receiver Report with a round-trip time on its ${kind}`);
  }
}

// Why `p` does not yet get media from `other`, or null if it does.
function mediaMissing(name, other, s) {
  const a = s.accounts[other];
  if (!a) return `${name}: SLOTS names no slot for ${other} (page state ${s.state}, media ${s.connectionState})`;
  for (const [kind, mid] of [['video', a.videoMid], ['audio', a.audioMid]]) {
    if (mid == null) return `${name}: SLOTS names no ${kind} slot for ${other}`;
  }
  if (a.videoPackets == null) return `${name}: no RTP has arrived in ${other}'s video slot (mid ${a.videoMid})`;
  if (!(a.framesDecoded > 0 && a.frameWidth > 0)) {
    return `${name}: ${a.videoPackets} video packets from ${other} (mid ${a.videoMid}) but no frame decoded`;
  }
  if (a.audioPackets == null) return `${name}: no RTP has arrived in ${other}'s audio slot (mid ${a.audioMid})`;
  if (!(a.totalSamplesReceived > 0)) {
    return `${name}: ${a.audioPackets} audio packets from ${other} (mid ${a.audioMid}) but no samples played out`;
  }
  return null;
}

function others(p, participants) {
  return participants.filter((q) => q !== p).map((q) => q.name);
}

function checkPageHealthy(p, sample) {
  if (p.pageErrors.length) {
    throw new Error(`${p.name}'s page threw: ${p.pageErrors.join(' | ')}`);
  }
  if (sample.state === 'failed' || sample.state === 'closed') {
    throw new Error(`${p.name}'s page is '${sample.state}' (expected 'joining' or 'connected'); ` +
      `errors: ${JSON.stringify(sample.errors)}`);
  }
}

// Waits until every participant decodes video frames (frameWidth > 0) and receives audio from
// every other participant.
export async function waitForMedia(t, participants, { timeoutMs = 20_000 } = {}) {
  t.log(`waiting up to ${timeoutMs / 1000} s for media between ${participants.map((p) => p.name).join(', ')}`);
  const deadline = Date.now() + timeoutMs;
  let missing = [];
  let samples = {};
  for (;;) {
    t.assertNodesAlive();
    missing = [];
    for (const p of participants) {
      const s = await sampleStats(p);
      samples[p.name] = s;
      checkPageHealthy(p, s);
      for (const other of others(p, participants)) {
        const why = mediaMissing(p.name, other, s);
        if (why) missing.push(why);
      }
    }
    if (!missing.length) break;
    if (Date.now() > deadline) {
      const detail = Object.entries(samples).map(([name, s]) =>
        `  ${name}: state=${s.state} pc=${s.connectionState} accounts=${JSON.stringify(s.accounts)}` +
        ` unmapped=${JSON.stringify(s.unmapped)} errors=${JSON.stringify(s.errors)}`).join('\n');
      throw new Error(`media did not start within ${timeoutMs / 1000} s: expected every page to decode ` +
        `video and receive audio from every other page; still missing:\n  ${missing.join('\n  ')}\n` +
        `last stats:\n${detail}`);
    }
    await sleep(500);
  }
  t.log('media flowing: every page decodes every other page');
}

// Samples every page every ~intervalMs for `seconds` intervals and checks that, between each two
// samples, each remote's framesDecoded, audio packetsReceived and totalSamplesReceived grew and
// frameWidth > 0.
export async function checkFlow(t, participants, { seconds = 5, intervalMs = 1000 } = {}) {
  t.log(`checking that media keeps flowing for ${seconds} s`);
  let prev = {};
  for (const p of participants) prev[p.name] = await sampleStats(p);
  const first = prev;
  const failures = [];
  for (let i = 1; i <= seconds; i++) {
    await sleep(intervalMs);
    t.assertNodesAlive(`during the media check`);
    const cur = {};
    for (const p of participants) {
      const s = await sampleStats(p);
      cur[p.name] = s;
      checkPageHealthy(p, s);
      const before = prev[p.name];
      const dt = ((s.t - before.t) / 1000).toFixed(1);
      for (const other of others(p, participants)) {
        const a = s.accounts[other];
        const b = before.accounts[other];
        const where = `${p.name} <- ${other}, interval ${i} (${dt} s)`;
        if (!a || !b) { failures.push(`${where}: no inbound stats (expected video and audio)`); continue; }
        if (!(a.framesDecoded > b.framesDecoded)) {
          failures.push(`${where}: framesDecoded did not grow (${b.framesDecoded} -> ${a.framesDecoded})`);
        }
        if (!(a.frameWidth > 0)) failures.push(`${where}: frameWidth is ${a.frameWidth}, expected > 0`);
        if (!(a.totalSamplesReceived > b.totalSamplesReceived)) {
          failures.push(`${where}: audio totalSamplesReceived did not grow ` +
            `(${b.totalSamplesReceived} -> ${a.totalSamplesReceived})`);
        }
        // Playout counts concealment too, so also ask for fresh audio packets.
        if (!(a.audioPackets > b.audioPackets)) {
          failures.push(`${where}: no new audio packets (packetsReceived ${b.audioPackets} -> ${a.audioPackets})`);
        }
      }
    }
    prev = cur;
  }
  if (failures.length) {
    throw new Error(`media stopped flowing (expected growth in every ~${intervalMs / 1000} s interval):\n  ` +
      failures.slice(0, 20).join('\n  ') + (failures.length > 20 ? `\n  ... and ${failures.length - 20} more` : ''));
  }
  for (const p of participants) {
    const parts = others(p, participants).map((other) => {
      const a = prev[p.name].accounts[other];
      const b = first[p.name].accounts[other];
      const secs = (prev[p.name].t - first[p.name].t) / 1000;
      const fps = ((a.framesDecoded - b.framesDecoded) / secs).toFixed(1);
      const sps = Math.round((a.totalSamplesReceived - b.totalSamplesReceived) / secs);
      const pps = Math.round((a.audioPackets - b.audioPackets) / secs);
      return `${other}: ${a.frameWidth}x${a.frameHeight} ${fps} fps, audio ${pps} packets/s ${sps} samples/s`;
    });
    t.log(`${p.name} receives ${parts.join('; ')}`);
  }
}

// Watches for `ms` how steadily each page decodes the video of every other account: samples all
// pages every ~everyMs and finds, per page and account, the longest time without a new decoded
// frame (start to first frame, between frames, last frame to end; as fine as the sampling, the
// times taken in the page). Returns {[page]: {[account]: {longestGapMs, frames, freezeCount,
// freezesMs}}}, Chromium's own freeze counters over the same time when it has them (else null).
// onSample(page, account, stats, msSinceStart) sees every sample, e.g. to time a layer switch.
export async function watchFrames(pages, { ms, everyMs = 100, onSample } = {}) {
  const out = {};
  const first = {};
  const seen = {}; // page -> account -> {frames, at}: the last growth
  let start = null;
  for (const p of pages) { out[p.name] = {}; seen[p.name] = {}; }
  for (;;) {
    const samples = await Promise.all(pages.map((p) => sampleStats(p)));
    const t0 = samples.reduce((m, s) => Math.min(m, s.t), Infinity);
    if (start === null) start = t0;
    for (const [i, p] of pages.entries()) {
      const s = samples[i];
      for (const [account, a] of Object.entries(s.accounts)) {
        if (account === p.name || !a.videoMid) continue;
        if (onSample) onSample(p, account, a, s.t - start);
        const w = seen[p.name][account];
        if (!w) {
          seen[p.name][account] = { frames: a.framesDecoded, at: s.t };
          first[`${p.name}/${account}`] = a;
          out[p.name][account] = { longestGapMs: 0, frames: 0, freezeCount: null, freezesMs: null };
          continue;
        }
        const r = out[p.name][account];
        const f = first[`${p.name}/${account}`];
        r.longestGapMs = Math.max(r.longestGapMs, s.t - w.at); // a gap still open counts too
        if (a.framesDecoded > w.frames) {
          w.frames = a.framesDecoded;
          w.at = s.t;
        }
        r.frames = a.framesDecoded - f.framesDecoded;
        if (a.freezeCount !== null && f.freezeCount !== null) {
          r.freezeCount = a.freezeCount - f.freezeCount;
          r.freezesMs = a.freezesMs - f.freezesMs;
        }
      }
    }
    if (t0 - start >= ms) break;
    await sleep(everyMs);
  }
  return out;
}

// The longest gaps of watchFrames() as one line, and the pairs at or over limitMs.
export function describeGaps(gaps, limitMs) {
  const parts = [], over = [];
  for (const [page, accounts] of Object.entries(gaps)) {
    for (const [account, g] of Object.entries(accounts)) {
      const freezes = g.freezeCount === null ? '' : `, Chromium: ${g.freezeCount} freezes ${g.freezesMs} ms`;
      parts.push(`${page} <- ${account}: longest ${g.longestGapMs} ms, ${g.frames} frames${freezes}`);
      if (g.longestGapMs >= limitMs) over.push(`${page} <- ${account} (${g.longestGapMs} ms)`);
    }
  }
  return { line: parts.join('; '), over };
}

// No uncaught page errors and no ERROR from the node on any page (console errors are reported).
export async function assertPagesClean(t, participants) {
  for (const p of participants) {
    if (p.pageErrors.length) throw new Error(`${p.name}'s page threw: ${p.pageErrors.join(' | ')}`);
    if (p.consoleErrors.length) t.log(`note: ${p.name}'s console had errors: ${p.consoleErrors.join(' | ')}`);
    const errors = await withTimeout(p.page.evaluate(() => window.parley.errors), 5000, `errors of ${p.name}`);
    if (errors.length) {
      throw new Error(`${p.name}'s page recorded errors (expected none): ${JSON.stringify(errors)}`);
    }
  }
}

// Two or more pages in one meeting decode each other; shared by the media tests. The first name
// is the host (INIT); the others JOIN.
export async function meetingCheck(t, node, { names, seconds, meeting }) {
  const browser = await launchBrowser(t);
  const participants = [];
  for (const [i, name] of names.entries()) {
    participants.push(await openParticipant(t, browser, node, { meeting, name, host: i === 0 }));
    if (i === 0) await waitForPageJoined(t, participants[0]);
  }
  await waitForMedia(t, participants, { timeoutMs: 20_000 });
  await checkFlow(t, participants, { seconds });
  await assertPagesClean(t, participants);
  return { browser, participants };
}
