// Load measurement of parley-control (not a test: it asserts nothing about speed): a private
// PostgreSQL, one parley-control, 3 heartbeating nodes, then wrk against meeting create
// (POST /meetings) and join (POST /meetings/{id}/join). Prints requests/s and latency
// percentiles for docs/api.md. Usage: node tests/control/bench.mjs [seconds] [connections]
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import fs from 'node:fs';
import path from 'node:path';
import { expect, runTest, sleep } from './lib.mjs';

const seconds = Number(process.argv[2] || 10);
const conns = Number(process.argv[3] || 32);

// wrk runs asynchronously: the heartbeats must go on meanwhile.
async function wrk(ctx, name, url, token, body) {
  const script = path.join(ctx.tmpDir, `${name}.lua`);
  fs.writeFileSync(script, `wrk.method = "POST"\nwrk.body = '${body}'\n` +
    `wrk.headers["Content-Type"] = "application/json"\nwrk.headers["Authorization"] = "Bearer ${token}"\n` +
    // Counts the statuses that were not 2xx, printed as "status <code>" lines.
    'response = function(status) if status >= 300 then io.write("status " .. status .. "\\n") end end\n');
  const { stdout: out } = await promisify(execFile)('wrk', ['-t2', `-c${conns}`, `-d${seconds}s`,
    '--latency', '-s', script, url], { encoding: 'utf8' });
  const rps = out.match(/Requests\/sec:\s+([\d.]+)/)[1];
  const p = (q) => (out.match(new RegExp(`^\\s+${q}%\\s+(\\S+)`, 'm')) || [])[1];
  const non2xx = (out.match(/Non-2xx or 3xx responses: (\d+)/) || [0, '0'])[1];
  const bad = {};
  for (const [, code] of out.matchAll(/^status (\d+)$/gm)) bad[code] = (bad[code] || 0) + 1;
  if (Object.keys(bad).length) console.log(`${name}: non-2xx ${JSON.stringify(bad)}`);
  return { name, rps, p50: p('50'), p90: p('90'), p99: p('99'), non2xx };
}

runTest('control_bench', async (ctx) => {
  await ctx.startPostgres();
  const c = await ctx.startControl(['--rate-ip', '0', '--rate-key', '0', '--db-pool', '8',
    '--log-level', 'warn']);
  await expect(201, c.url, 'POST', '/tenants', { body: { tenant_name: 'T', email: 'a@t.test', password: 'password-t' } });
  const token = (await expect(200, c.url, 'POST', '/auth/login', { body: { email: 'a@t.test', password: 'password-t' } })).json.token;
  const nodes = [];
  for (let i = 0; i < 3; i++)
    nodes.push((await expect(200, c.url, 'POST', '/nodes/register', { token: ctx.nodeKey,
      body: { name: `n${i}`, signaling_url: `ws://127.0.0.1:${7200 + i}/ws` } })).json.node_id);
  let stop = false;
  const beats = (async () => {
    while (!stop) {
      for (const id of nodes) await expect(200, c.url, 'POST', `/nodes/${id}/heartbeat`, { token: ctx.nodeKey, body: {} });
      await sleep(1000);
    }
  })();
  const m = (await expect(201, c.url, 'POST', '/meetings', { token, body: {} })).json;
  const rows = [await wrk(ctx, 'create', `${c.url}/meetings`, token, '{"title":"bench"}'),
    await wrk(ctx, 'join', `${c.url}/meetings/${m.meeting_id}/join`, token, '{}')];
  stop = true;
  await beats;
  console.log('| endpoint | connections | requests/s | p50 | p90 | p99 | non-2xx |');
  console.log('|---|---|---|---|---|---|---|');
  for (const r of rows)
    console.log(`| ${r.name} | ${conns} | ${r.rps} | ${r.p50} | ${r.p90} | ${r.p99} | ${r.non2xx} |`);
});
