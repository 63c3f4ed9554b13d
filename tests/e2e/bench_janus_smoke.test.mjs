// parley-bench --target janus smoke test (suite integration, needs root: network namespaces):
// bench/janus_netns.sh runs the harness in a namespace with 127.0.0.2 on a veth; the harness
// starts Debian's janus there, 1 meeting with 1 publisher (3-layer simulcast) and 2
// subscribers at the middle layer (substream 1) for a few seconds, and prints one JSON object.
// It checks that every client reached media, the subscribers received what the publisher sent
// on the middle layer (within 3%), forwarded = received + lost (Janus has no counter of its
// own), Janus' CPU was read and CPU per forwarded packet is positive; and that the namespace
// is gone afterwards. A second run subscribes incrementally (--janus-incremental), so Janus
// renegotiates: every subscription must still carry the middle layer. No timed assertion.
// Run: node tests/e2e/bench_janus_smoke.test.mjs (PARLEY_BENCH_BIN, PARLEY_JANUS_BIN)
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { REPO_ROOT, runTest, withTimeout } from './lib.mjs';

const BENCH_BIN = process.env.PARLEY_BENCH_BIN
  ? path.resolve(process.env.PARLEY_BENCH_BIN)
  : path.join(REPO_ROOT, 'build', 'bench', 'parley-bench');
const JANUS_BIN = process.env.PARLEY_JANUS_BIN || '/usr/bin/janus';
const NETNS = path.join(REPO_ROOT, 'bench', 'janus_netns.sh');

function near(actual, expected, tolerance, what) {
  if (!(expected > 0) || Math.abs(actual - expected) > tolerance * expected) {
    throw new Error(`${what}: ${actual} is not within ${tolerance * 100}% of ${expected}`);
  }
}

function namespaces() {
  return execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' }).split('\n').filter((l) => l.startsWith('parley-bench-'));
}

// Runs the harness in a fresh namespace; returns its JSON object.
async function runBench(t, label, extra) {
  const janusLog = path.join(t.tmpDir, `janus-${label}.log`);
  const args = [BENCH_BIN, '--target', 'janus', '--janus-bin', JANUS_BIN, '--janus-log', janusLog,
    '--meetings', '1', '--layer', 'middle', '--json', ...extra];
  t.log(`${NETNS} ${args.join(' ')}`);
  const proc = spawn(NETNS, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  proc.stdout.on('data', (d) => { stdout += d; });
  proc.stderr.on('data', (d) => { stderr += d; });
  const exited = new Promise((resolve) => proc.on('close', (code, signal) => resolve({ code, signal })));
  t.defer(`stop parley-bench (${label})`, async () => {
    if (proc.exitCode === null && proc.signalCode === null) { proc.kill('SIGTERM'); await exited; }
  });
  const r = await withTimeout(exited, 90_000, `parley-bench --target janus (${label}) to finish`);
  for (const line of stderr.trim().split('\n')) t.log(`  ${line}`);
  if (r.code !== 0) throw new Error(`${label}: parley-bench exited ${r.code ?? r.signal}, expected 0 (Janus log ${janusLog})`);
  try {
    return JSON.parse(stdout.trim());
  } catch {
    throw new Error(`${label}: expected one JSON object on stdout, got ${JSON.stringify(stdout.slice(-300))}`);
  }
}

runTest('bench_janus_smoke', async (t) => {
  if (process.getuid() !== 0) throw new Error('needs root (ip netns); CI runs as root');
  if (!fs.existsSync(BENCH_BIN)) throw new Error(`parley-bench not found at ${BENCH_BIN}`);
  if (!fs.existsSync(JANUS_BIN)) throw new Error(`janus not found at ${JANUS_BIN} (scripts/bootstrap installs it)`);
  const before = namespaces();
  const j = await runBench(t, '1x2', ['--publishers', '1', '--subscribers', '2', '--duration', '5', '--warmup', '2',
    '--full-subscribers', '1']);
  t.log(`sent ${j.sent}, expected ${j.expected}, received ${j.received}, lost ${j.lost}, forwarded ${j.forwarded}, ` +
    `Janus ${j.node_cpu_s} s CPU, ${j.us_per_forwarded.toFixed(2)} us/forwarded, RSS ${j.node_rss_mb} MB`);
  if (j.scenario.target !== 'janus') throw new Error(`scenario.target ${j.scenario.target}, expected janus`);
  if (j.clients !== 3 || j.media !== 3 || j.failed !== 0) {
    throw new Error(`expected 3 clients all with media, got ${j.clients} / ${j.media} / ${j.failed} failed`);
  }
  if (j.subscriptions !== 2 || j.subscriptions_wanted !== 2) {
    throw new Error(`expected 2 subscriptions made of 2, got ${j.subscriptions} of ${j.subscriptions_wanted}`);
  }
  if (!(j.window_s > 4)) throw new Error(`measurement window ${j.window_s} s, expected about 5`);
  // expected counts the middle layer (of 3: ~1/4 of the packets at the default rates) for
  // each of the 2: received matching it means Janus forwarded that layer, not the top one.
  if (!(j.expected > j.sent / 4 && j.expected < j.sent)) {
    throw new Error(`expected ${j.expected} does not look like the middle layer x 2 of sent ${j.sent}`);
  }
  near(j.received, j.expected, 0.03, 'packets received vs publisher sent on the middle layer x subscribers');
  if (j.forwarded !== j.received + j.lost) throw new Error(`forwarded ${j.forwarded} != received + lost`);
  if (!j.node_proc || !(j.node_cpu_s > 0) || !(j.node_rss_mb > 1)) throw new Error('Janus /proc figures missing');
  if (!(j.us_per_forwarded > 0)) throw new Error(`us_per_forwarded ${j.us_per_forwarded}`);
  near(j.us_per_forwarded, (j.node_cpu_s * 1e6) / j.forwarded, 1e-6, 'us_per_forwarded = Janus CPU / forwarded');
  if (!(j.delay_count > 20 && j.delay_p50 >= 0)) throw new Error(`delay not measured: ${j.delay_count} samples`);

  // Janus' renegotiation: 3 publishers joining 0.5 s apart, each subscribing to the others as
  // they get media (--janus-incremental): the first ones' subscriber handles get updated offers.
  const k = await runBench(t, '3-incremental', ['--janus-incremental', '--publishers', '3', '--subscribers', '0',
    '--ramp', '2', '--duration', '3', '--warmup', '2']);
  t.log(`incremental: received ${k.received} of expected ${k.expected}, ${k.subscriptions} subscriptions`);
  if (k.media !== 3 || k.failed !== 0 || k.subscriptions !== 6 || k.subscriptions_wanted !== 6) {
    throw new Error(`incremental: expected 3 with media and 6 subscriptions, got ${k.media} / ${k.failed} failed / ${k.subscriptions}`);
  }
  near(k.received, k.expected, 0.03, 'incremental: packets received vs the publishers\' middle layers');
  const left = namespaces().filter((n) => !before.includes(n));
  if (left.length) throw new Error(`network namespaces left behind: ${left.join(', ')}`);
});
