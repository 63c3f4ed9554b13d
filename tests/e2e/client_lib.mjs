// parley-client processes for the e2e tests: start one with flags, wait for it, read its
// --stats-json line. The binary is PARLEY_CLIENT_BIN, else build/client/parley-client.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { REPO_ROOT, withTimeout } from './lib.mjs';

export const CLIENT_BIN = process.env.PARLEY_CLIENT_BIN
  ? path.resolve(process.env.PARLEY_CLIENT_BIN)
  : path.join(REPO_ROOT, 'build', 'client', 'parley-client');

// Starts parley-client (killed at cleanup if still running). Returns {proc, exited, logPath,
// label}; `exited` resolves {code, signal, stdout} or {error}.
export function startClient(t, args, label) {
  if (!fs.existsSync(CLIENT_BIN)) throw new Error(`parley-client not found at ${CLIENT_BIN} (set PARLEY_CLIENT_BIN)`);
  const logPath = path.join(t.tmpDir, `${label}.log`);
  const log = fs.openSync(logPath, 'w');
  const proc = spawn(CLIENT_BIN, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  proc.stdout.on('data', (d) => { stdout += d; fs.writeSync(log, d); });
  proc.stderr.on('data', (d) => fs.writeSync(log, d));
  const exited = new Promise((resolve) => {
    proc.on('error', (error) => resolve({ error }));
    proc.on('close', (code, signal) => { fs.closeSync(log); resolve({ code, signal, stdout }); });
  });
  t.defer(`stop ${label}`, async () => {
    if (proc.exitCode === null && proc.signalCode === null) {
      proc.kill('SIGKILL');
      await exited;
    }
  });
  const shown = args.map((a, i) => (args[i - 1] === '--token' ? '...' : a)).join(' ');
  t.log(`${label}: parley-client ${shown} (log ${logPath})`);
  return { proc, exited, logPath, label };
}

// Waits for the client to exit 0 and returns its --stats-json object.
export async function clientStats(client, timeoutMs) {
  const r = await withTimeout(client.exited, timeoutMs, `${client.label} to finish`);
  if (r.error || r.code !== 0) {
    throw new Error(`${client.label}: parley-client ${r.error ? `failed to start (${r.error.message})` :
      `exited ${r.code ?? r.signal}`}, expected 0; log ${client.logPath}`);
  }
  const lines = r.stdout.trim().split('\n');
  try {
    return JSON.parse(lines[lines.length - 1]);
  } catch {
    throw new Error(`${client.label}: expected a JSON stats line on stdout, got ${JSON.stringify(r.stdout.slice(-300))}`);
  }
}
