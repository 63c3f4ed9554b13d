// parley-bench smoke test (suite integration): the harness spawns a node, runs 1 meeting with 1
// publisher (simulcast + audio) and 3 subscribers at the middle layer for a few seconds and
// prints one JSON object. Its figures must agree with each other: what subscribers received is
// what the publisher sent on the middle layer and audio, times 3 (within 3%); the node's
// parley_forwarded_rtp_total agrees with what arrived (within 5%); CPU per forwarded packet is node CPU /
// forwarded; delay was measured. No timed assertion: speed is reported, not checked.
// Run: node tests/e2e/bench_smoke.test.mjs (PARLEY_BENCH_BIN, PARLEY_NODE_BIN)
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { NODE_BIN, REPO_ROOT, runTest, withTimeout } from './lib.mjs';

const BENCH_BIN = process.env.PARLEY_BENCH_BIN
  ? path.resolve(process.env.PARLEY_BENCH_BIN)
  : path.join(REPO_ROOT, 'build', 'bench', 'parley-bench');

function near(actual, expected, tolerance, what) {
  if (!(expected > 0) || Math.abs(actual - expected) > tolerance * expected) {
    throw new Error(`${what}: ${actual} is not within ${tolerance * 100}% of ${expected}`);
  }
}

runTest('bench_smoke', async (t) => {
  if (!fs.existsSync(BENCH_BIN)) throw new Error(`parley-bench not found at ${BENCH_BIN}`);
  const nodeLog = path.join(t.tmpDir, 'node.log');
  const args = ['--spawn-node', NODE_BIN, '--node-log', nodeLog, '--meetings', '1', '--publishers', '1',
    '--subscribers', '3', '--layer', 'middle', '--audio', '--duration', '6', '--warmup', '1',
    '--full-subscribers', '1', '--json'];
  t.log(`parley-bench ${args.join(' ')}`);
  const proc = spawn(BENCH_BIN, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  proc.stdout.on('data', (d) => { stdout += d; });
  proc.stderr.on('data', (d) => { stderr += d; });
  const exited = new Promise((resolve) => proc.on('close', (code, signal) => resolve({ code, signal })));
  t.defer('stop parley-bench', async () => {
    if (proc.exitCode === null && proc.signalCode === null) { proc.kill('SIGKILL'); await exited; }
  });
  const r = await withTimeout(exited, 90_000, 'parley-bench to finish');
  for (const line of stderr.trim().split('\n')) t.log(`  ${line}`);
  if (r.code !== 0) throw new Error(`parley-bench exited ${r.code ?? r.signal}, expected 0 (node log ${nodeLog})`);
  let j;
  try {
    j = JSON.parse(stdout.trim());
  } catch {
    throw new Error(`expected one JSON object on stdout, got ${JSON.stringify(stdout.slice(-300))}`);
  }
  t.log(`sent ${j.sent}, expected ${j.expected}, received ${j.received}, lost ${j.lost}, forwarded ${j.forwarded}, ` +
    `node ${j.node_cpu_s} s CPU, ${j.us_per_forwarded.toFixed(2)} us/forwarded, delay p50 ${j.delay_p50} ms`);
  if (j.clients !== 4 || j.media !== 4 || j.failed !== 0) {
    throw new Error(`expected 4 clients all with media, got ${j.clients} / ${j.media} / ${j.failed} failed`);
  }
  if (j.subscriptions !== 3 || j.subscriptions_wanted !== 3) {
    throw new Error(`expected 3 subscriptions made of 3, got ${j.subscriptions} of ${j.subscriptions_wanted}`);
  }
  if (!(j.window_s > 5)) throw new Error(`measurement window ${j.window_s} s, expected about 6`);
  // The publisher sends 3 layers + audio; subscribers get the middle layer + audio: less than
  // everything sent, each of the 3, and more than a third of it.
  if (!(j.expected > j.sent && j.expected < 3 * j.sent)) {
    throw new Error(`expected ${j.expected} should lie between sent ${j.sent} and 3x sent`);
  }
  near(j.received, j.expected, 0.03, 'packets received vs publisher sent x subscribers');
  near(j.received_vs_expected, j.received / j.expected, 1e-6, 'received_vs_expected');
  if (!j.node_proc || !j.node_metrics) throw new Error('node figures missing (/proc or /metrics)');
  // The node's counter is read over HTTP at the window's edges: a looser bound than the clients'.
  near(j.forwarded, j.received + j.lost, 0.05, 'node forwarded vs subscribers received + lost');
  near(j.us_per_forwarded, (j.node_cpu_s * 1e6) / j.forwarded, 1e-6, 'us_per_forwarded = node CPU / forwarded');
  near(j.forwarded_pps, j.forwarded / j.window_s, 1e-6, 'forwarded_pps');
  if (!(j.node_rss_mb > 1)) throw new Error(`node RSS ${j.node_rss_mb} MB`);
  if (!(j.delay_count > 50 && j.delay_p50 >= 0 && j.delay_p99 >= j.delay_p50)) {
    throw new Error(`delay not measured: ${j.delay_count} samples, p50 ${j.delay_p50}, p99 ${j.delay_p99}`);
  }
  if (!(j.join_p50 >= 0 && j.join_p99 >= j.join_p50 && j.connect_p99 >= j.connect_p50)) {
    throw new Error(`join/connect percentiles inconsistent: ${j.join_p50}/${j.join_p99}, ${j.connect_p50}/${j.connect_p99}`);
  }

  // The limit mode: one JSON object with a cost for protect, send and both.
  const lim = JSON.parse(execFileSync(BENCH_BIN, ['limit', '--limit-seconds', '1', '--sessions', '3', '--json'],
    { encoding: 'utf8', timeout: 30_000 }).trim()).limit;
  t.log(`limit: ${JSON.stringify(lim)}`);
  if (!(lim.packets > 0 && lim.sessions === 3 && lim.protect_ns > 0 && lim.send_ns > 0 && lim.both_ns > 0)) {
    throw new Error(`limit figures missing: ${JSON.stringify(lim)}`);
  }
});
