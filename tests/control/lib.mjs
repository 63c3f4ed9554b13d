// Helpers for the control plane's integration tests: a private PostgreSQL cluster in a temp
// folder (initdb + pg_ctl; as the `postgres` user when run as root, since initdb refuses root;
// it listens only on a unix socket inside the folder), parley-control processes on 127.0.0.1,
// and a small JSON HTTP client. Each test is a standalone script that exits 0 on pass.
//
// Environment: PARLEY_CONTROL_BIN (default build/parley-control under the repo root),
// PARLEY_PG_BIN (default: the newest /usr/lib/postgresql/*/bin, as scripts/run picks), PARLEY_TEST_TIMEOUT_S (default 180).

import { execFileSync, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const CONTROL_BIN = process.env.PARLEY_CONTROL_BIN ||
  path.join(REPO_ROOT, 'build', 'parley-control');
const PG_BIN = process.env.PARLEY_PG_BIN || newestPgBin();

function newestPgBin() {
  const base = '/usr/lib/postgresql';
  const versions = fs.existsSync(base) ? fs.readdirSync(base).filter((v) => /^\d+$/.test(v)) : [];
  versions.sort((a, b) => Number(a) - Number(b));
  return versions.length ? path.join(base, versions[versions.length - 1], 'bin') : path.join(base, '15', 'bin');
}
const AS_ROOT = process.getuid && process.getuid() === 0;

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export function assert(cond, msg) {
  if (!cond) throw new Error(`assertion failed: ${msg}`);
}

export function assertEq(got, want, msg) {
  const g = JSON.stringify(got), w = JSON.stringify(want);
  if (g !== w) throw new Error(`${msg}: got ${g}, want ${w}`);
}

// Runs a PostgreSQL binary, as the postgres user when we are root.
function pgRun(bin, args) {
  const full = path.join(PG_BIN, bin);
  if (AS_ROOT) return execFileSync('runuser', ['-u', 'postgres', '--', full, ...args], { encoding: 'utf8' });
  return execFileSync(full, args, { encoding: 'utf8' });
}

export class Postgres {
  constructor(dir) {
    this.dir = path.join(dir, 'pg');
    fs.mkdirSync(this.dir, { mode: 0o700 });
    if (AS_ROOT) {
      fs.chmodSync(dir, 0o755);
      execFileSync('chown', ['postgres:postgres', this.dir]);
    }
    this.port = 20000 + Math.floor(Math.random() * 20000);
    this.data = path.join(this.dir, 'data');
  }

  start() {
    pgRun('initdb', ['-D', this.data, '-A', 'trust', '-U', 'parley', '--no-sync', '-E', 'UTF8']);
    pgRun('pg_ctl', ['-D', this.data, '-l', path.join(this.dir, 'log'), '-w', '-o',
      `-c listen_addresses='' -k ${this.dir} -p ${this.port} -c fsync=off -c max_connections=100`,
      'start']);
    this.running = true;
    this.url = `host=${this.dir} port=${this.port} user=parley dbname=postgres`;
  }

  // One SQL statement through psql; returns the rows as arrays of strings.
  sql(query) {
    const out = execFileSync(path.join(PG_BIN, 'psql'), ['-X', '-A', '-t', '-F', '\t', '-v',
      'ON_ERROR_STOP=1', '-h', this.dir, '-p', String(this.port), '-U', 'parley', '-d',
      'postgres', '-c', query], { encoding: 'utf8' });
    return out.split('\n').filter((l) => l.length).map((l) => l.split('\t'));
  }

  stop() {
    if (!this.running) return;
    this.running = false;
    try { pgRun('pg_ctl', ['-D', this.data, '-m', 'immediate', '-w', 'stop']); } catch { /* gone */ }
  }
}

// A parley-control process; `url` once it listens.
export class Control {
  constructor(ctx, name, args, env) {
    this.ctx = ctx;
    this.name = name;
    this.args = args;
    this.env = env;
    this.logPath = path.join(ctx.tmpDir, `${name}.log`);
  }

  async start() {
    const log = fs.openSync(this.logPath, 'a');
    this.proc = spawn(CONTROL_BIN, ['--port', '0', ...this.args], {
      env: { ...process.env, ...this.env }, stdio: ['ignore', 'pipe', log] });
    this.exited = new Promise((resolve) => this.proc.on('exit', (code, sig) => resolve({ code, sig })));
    const url = await new Promise((resolve, reject) => {
      let buf = '';
      this.proc.stdout.on('data', (d) => {
        buf += d;
        const m = buf.match(/listening on ([\d.]+):(\d+)/);
        if (m) resolve(`http://${m[1]}:${m[2]}`);
      });
      this.exited.then(({ code }) => reject(new Error(`${this.name} exited (${code}) before listening:\n` +
        fs.readFileSync(this.logPath, 'utf8'))));
    });
    this.url = url;
    return url;
  }

  // SIGTERM and wait; a sanitizer report or a non-zero exit fails the test.
  async stop() {
    if (!this.proc || this.stopped) return;
    this.stopped = true;
    this.proc.kill('SIGTERM');
    const { code, sig } = await this.exited;
    const log = fs.readFileSync(this.logPath, 'utf8');
    if (code !== 0 || /ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:/.test(log))
      throw new Error(`${this.name} stopped badly (code ${code}, signal ${sig}):\n${log.slice(-4000)}`);
  }
}

export class TestContext {
  // dir: a folder to work in (another runner's, which then owns its removal); default a new one.
  constructor(name, dir) {
    this.name = name;
    this.started = Date.now();
    this.tmpDir = dir || fs.mkdtempSync(path.join(os.tmpdir(), `parley-control-${name}-`));
    this.controls = [];
    this.tokenSecret = crypto.randomBytes(16).toString('hex');
    this.nodeKey = crypto.randomBytes(16).toString('hex');
    this.urlSecret = crypto.randomBytes(16).toString('hex');
    this.recordings = path.join(this.tmpDir, 'recordings');
    fs.mkdirSync(this.recordings);
    this.servers = [];
  }

  // A stand-in for a node's recorder endpoints, for tests that register made-up nodes (the
  // real node is in recording_flow.test.mjs): POST /recordings/start answers 201 and
  // /recordings/stop 202, as the node does; `calls` keeps {path, body} of each request.
  // Register `wsUrl` as the node's signaling URL.
  async fakeRecorder() {
    const calls = [];
    const server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (d) => { body += d; });
      req.on('end', () => {
        let json;
        try { json = JSON.parse(body); } catch { json = undefined; }
        calls.push({ path: req.url, body: json });
        const start = req.url === '/recordings/start';
        res.writeHead(start ? 201 : req.url === '/recordings/stop' ? 202 : 404,
          { 'content-type': 'application/json' });
        res.end(JSON.stringify({ status: start ? 'recording' : 'stopping' }));
      });
    });
    const port = await new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server.address().port)));
    this.servers.push(server);
    return { wsUrl: `ws://127.0.0.1:${port}/ws`, calls };
  }

  log(msg) {
    const s = ((Date.now() - this.started) / 1000).toFixed(1);
    console.log(`[${this.name} +${s}s] ${msg}`);
  }

  async startPostgres() {
    this.pg = new Postgres(this.tmpDir);
    this.pg.start();
    return this.pg;
  }

  async startControl(extraArgs = [], env = {}) {
    const c = new Control(this, `control${this.controls.length}`, [
      '--database-url', this.pg.url, '--token-secret', this.tokenSecret,
      '--node-key', this.nodeKey, '--url-secret', this.urlSecret,
      '--recordings-root', this.recordings, '--scrypt-n', '1024', ...extraArgs], env);
    this.controls.push(c);
    await c.start();
    return c;
  }

  async cleanup() {
    const errors = [];
    for (const c of this.controls) {
      try { await c.stop(); } catch (e) { errors.push(e); }
    }
    if (this.pg) this.pg.stop();
    for (const s of this.servers) s.close();
    if (errors.length) throw errors[0];
  }
}

// Runs a test body with an overall limit; always cleans up; exits 0 or 1.
export async function runTest(name, body) {
  const ctx = new TestContext(name);
  const limit = Number(process.env.PARLEY_TEST_TIMEOUT_S || 180) * 1000;
  // Killed (meson's timeout, ^C): still stop PostgreSQL and parley-control, which outlive us.
  for (const sig of ['SIGTERM', 'SIGINT']) {
    process.on(sig, () => {
      for (const c of ctx.controls) if (c.proc && !c.stopped) c.proc.kill('SIGKILL');
      if (ctx.pg) ctx.pg.stop();
      console.error(`[${name}] FAIL: ${sig}; logs kept in ${ctx.tmpDir}`);
      process.exit(1);
    });
  }
  let timer;
  let failed = false;
  try {
    await Promise.race([body(ctx), new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no result within ${limit / 1000} s`)), limit);
    })]);
  } catch (e) {
    failed = true;
    console.error(`[${name}] FAIL: ${e.stack || e}`);
  }
  clearTimeout(timer);
  try {
    await ctx.cleanup();
  } catch (e) {
    failed = true;
    console.error(`[${name}] FAIL at cleanup: ${e.message}`);
  }
  if (!failed) {
    fs.rmSync(ctx.tmpDir, { recursive: true, force: true });
    console.log(`[${name}] PASS`);
  } else {
    console.error(`[${name}] logs kept in ${ctx.tmpDir}`);
  }
  process.exit(failed ? 1 : 0);
}

// One HTTP request; the answer's status, headers, text and parsed JSON (if any).
export async function call(base, method, p, { token, body, raw, headers = {} } = {}) {
  const h = { ...headers };
  if (token) h.authorization = `Bearer ${token}`;
  let payload;
  if (raw !== undefined) payload = raw;
  else if (body !== undefined) { payload = JSON.stringify(body); h['content-type'] = 'application/json'; }
  const res = await fetch(base + p, { method, headers: h, body: payload });
  const buf = Buffer.from(await res.arrayBuffer());
  const text = buf.toString('utf8');
  let json;
  try { json = text ? JSON.parse(text) : undefined; } catch { json = undefined; }
  return { status: res.status, headers: res.headers, text, json, buf };
}

// Expects a status; returns the answer.
export async function expect(status, base, method, p, opts) {
  const r = await call(base, method, p, opts);
  if (r.status !== status)
    throw new Error(`${method} ${p}: got ${r.status} ${r.text}, want ${status}`);
  return r;
}

// A minimal SMTP sink: accepts every message and keeps it.
export function smtpSink(mails) {
  return net.createServer((sock) => {
    let buf = '', data = false, msg = null;
    sock.write('220 sink ESMTP\r\n');
    sock.on('data', (d) => {
      buf += d;
      for (;;) {
        if (data) {
          const end = buf.indexOf('\r\n.\r\n');
          if (end < 0) return;
          msg.data = buf.slice(0, end);
          mails.push(msg);
          buf = buf.slice(end + 5);
          data = false;
          sock.write('250 OK queued\r\n');
          continue;
        }
        const nl = buf.indexOf('\r\n');
        if (nl < 0) return;
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 2);
        const cmd = line.slice(0, 4).toUpperCase();
        if (cmd === 'EHLO' || cmd === 'HELO') sock.write('250-sink\r\n250 8BITMIME\r\n');
        else if (cmd === 'MAIL') { msg = { from: line, to: [] }; sock.write('250 OK\r\n'); }
        else if (cmd === 'RCPT') { msg.to.push(line); sock.write('250 OK\r\n'); }
        else if (cmd === 'DATA') { data = true; sock.write('354 go ahead\r\n'); }
        else if (cmd === 'QUIT') { sock.end('221 bye\r\n'); return; }
        else sock.write('250 OK\r\n');
      }
    });
    sock.on('error', () => {});
  });
}
