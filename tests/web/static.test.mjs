// parley-control serves the web app (--web-root): GET and HEAD of its files with their content
// types, "/" is app.html; paths that could leave the folder (.., encoded dots, subfolders,
// hidden files), unknown extensions, missing files and other methods are refused; the API is
// unchanged; --web-root "" serves nothing. Run: node tests/web/static.test.mjs
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { runTest, assert, assertEq, expect, call, REPO_ROOT } from '../control/lib.mjs';

// A raw request, so the path goes out exactly as written (fetch would normalise "..").
function raw(base, text) {
  const u = new URL(base);
  return new Promise((resolve, reject) => {
    const s = net.connect(Number(u.port), u.hostname, () => s.end(text));
    let out = '';
    s.on('data', (d) => { out += d; });
    s.on('end', () => resolve(out));
    s.on('error', reject);
  });
}

runTest('web_static', async (ctx) => {
  await ctx.startPostgres();
  const web = path.join(ctx.tmpDir, 'web');
  fs.mkdirSync(web);
  for (const f of ['app.html', 'app.js', 'meet.js', 'style.css']) fs.copyFileSync(path.join(REPO_ROOT, 'web', f), path.join(web, f));
  fs.writeFileSync(path.join(ctx.tmpDir, 'secret.js'), 'outside the web root');
  fs.writeFileSync(path.join(web, '.hidden.js'), 'hidden');
  fs.writeFileSync(path.join(web, 'notes.txt'), 'unknown type');
  fs.symlinkSync(path.join(ctx.tmpDir, 'secret.js'), path.join(web, 'link.js'));
  const c = await ctx.startControl(['--web-root', web]);
  const url = c.url;

  const root = await expect(200, url, 'GET', '/');
  assertEq(root.headers.get('content-type'), 'text/html; charset=utf-8', '/ is html');
  assertEq(root.text, fs.readFileSync(path.join(web, 'app.html'), 'utf8'), '/ is app.html');
  const types = { '/app.html': 'text/html; charset=utf-8', '/meet.js': 'text/javascript; charset=utf-8',
    '/style.css': 'text/css; charset=utf-8' };
  for (const [p, type] of Object.entries(types)) {
    const r = await expect(200, url, 'GET', p);
    assertEq(r.headers.get('content-type'), type, `${p} type`);
    assertEq(r.headers.get('x-content-type-options'), 'nosniff', `${p} nosniff`);
    assertEq(r.buf.length, fs.statSync(path.join(web, p.slice(1))).size, `${p} whole`);
  }
  const head = await expect(200, url, 'HEAD', '/meet.js');
  assertEq(head.text, '', 'HEAD has no body');
  assertEq(head.headers.get('content-length'), String(fs.statSync(path.join(web, 'meet.js')).size), 'HEAD length');

  for (const p of ['/missing.js', '/.hidden.js', '/notes.txt', '/link.js', '/app.html/', '//app.html', '/a/app.js']) {
    const r = await call(url, 'GET', p);
    assertEq(r.status, 404, `GET ${p}`);
  }
  for (const p of ['/../secret.js', '/..%2fsecret.js', '/%2e%2e/secret.js', '/..', '/web/../../secret.js', '/app.js%00.css']) {
    const r = await raw(url, `GET ${p} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    const status = Number(r.split(' ')[1]);
    assert(status === 404 || status === 400, `GET ${p}: got ${r.split('\r\n')[0]}`);
    assert(!r.includes('outside the web root'), `GET ${p} leaked a file outside the root`);
  }
  assertEq((await call(url, 'POST', '/app.html', { body: {} })).status, 404, 'POST of a file');
  assertEq((await call(url, 'DELETE', '/')).status, 404, 'DELETE /');
  assertEq((await expect(200, url, 'GET', '/healthz')).json.status, 'ok', 'the API is unchanged');
  assertEq((await call(url, 'GET', '/meetings')).status, 401, 'API paths stay API paths');

  const none = await ctx.startControl(['--web-root', '']);
  assertEq((await call(none.url, 'GET', '/')).status, 404, '--web-root "" serves nothing');
});
