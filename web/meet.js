// Parley meeting app, served by parley-control at / (app.html). Signs in (or an organisation
// up), creates or joins meetings through the control plane (docs/api.md) and meets through
// app.js on the node the control plane placed the meeting on (its signaling_url, with the join
// token the control plane minted). Also: guest links, recording start/stop, the recordings page.
//
// Locations (the part after #, so tokens never reach a server log):
//   #m=<meeting id>            a meeting's link: signed-in members of the tenant join with it
//   #guest=<join token>  (the meeting's title and node come from the control plane)
//                              a guest link: made by an admin for a new participant account;
//                              whoever has it joins as that account without signing in
//   #recordings                the tenant's recordings, played through signed URLs
//
// The login token is kept in sessionStorage: per tab (two people may sign in in two tabs of one
// browser), kept over a reload, gone with the tab.
//
// In a meeting the gallery is a grid sized to the window (gridFit: as many columns of tiles at
// least MIN_TILE_PX wide as fit, as many rows as fit above the chat): one cell is your own tile,
// the others show other people, a page at a time (‹ › when there are more, up to 48 others);
// only the tiles on the page are subscribed, each at a bitrate that fits its size on screen
// (bitrateFor: small tiles get the low simulcast layer, a focused tile the top one). Clicking a
// tile focuses it (twice the size, top layer), clicking again unfocuses.
import './app.js';

const parley = window.parley;
// Video/audio slot pairs offered: one video slot for each of up to 48 others (a meeting of 49;
// the node takes at most 49 per kind). Audio slots too: the node gives each newcomer's
// microphone a free audio slot and never swaps one for a louder speaker, so with fewer audio
// slots than others the latest to join would not be heard at all.
const SLOTS = 48;
const MIN_TILE_PX = 200;     // the narrowest tile the grid makes (and the low layer's size)
const GAP_PX = 12;           // .gallery gap (0.75rem)
const AUTH_KEY = 'parley.auth';
const RECONNECT_TRIES = 3;

const $ = (id) => document.getElementById(id);
const ui = {
  auth: $('auth'), signIn: $('sign-in'), signUp: $('sign-up'), guest: $('guest'),
  guestTitle: $('guest-title'), lobby: $('lobby'), create: $('create'), joinLink: $('join-link'),
  meeting: $('meeting'), recordings: $('recordings'), recordingList: $('recording-list'),
  noRecordings: $('no-recordings'), player: $('player'), who: $('who'), signOut: $('sign-out'),
  appError: $('app-error'), mute: $('mute'), camera: $('camera'), record: $('record'),
  stopRecord: $('stop-record'), invite: $('invite'), reconnect: $('reconnect'), end: $('end'),
  leave: $('leave'), pager: $('pager'), pagePrev: $('page-prev'), pageNext: $('page-next'),
  pageLabel: $('page-label'), meetingLink: $('meeting-link'), guestLinkBox: $('guest-link-box'),
  guestLink: $('guest-link'), gallery: $('gallery'), title: $('meeting-title'),
};

// What the app knows; window.parleyApp for tests and the console.
const app = {
  auth: null,          // {token, account_id, tenant_id, role, email, name}
  meeting: null,       // {id, title, host, token, signalingUrl, guest}
  page: 0,
  pages: 1,
  pageSize: 1,         // other people's tiles per page: the grid's cells minus your own
  pageSizeFixed: 0,    // setPageSize(n): n per page whatever the window (0: fit the window)
  grid: { cols: 1, rows: 1 },
  focus: null,         // focused account id
  bitrates: {},        // account -> bitrate of its current subscription
  recordings: [],
  lastState: '',
  reconnects: 0,       // tries on our own since the connection was lost (RECONNECT_TRIES at most)
  retrying: false,     // one of them is due
  api,
  setPage,
  setPageSize,
  setFocus,
};
window.parleyApp = app;

// ---- control plane ---------------------------------------------------------------------------

async function api(method, path, body) {
  const headers = {};
  if (app.auth) headers.authorization = `Bearer ${app.auth.token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const resp = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: 'no-store' });
  let json = null;
  try { json = await resp.json(); } catch { /* 204 or not JSON */ }
  if (!resp.ok) {
    const err = new Error(json && typeof json.error === 'string' ? json.error : `${method} ${path}: HTTP ${resp.status}`);
    err.status = resp.status;
    // A refused guest token says nothing about the signed-in user's own login.
    if (resp.status === 401 && app.auth && path !== '/auth/login' && path !== '/guest/meeting') forgetAuth();
    throw err;
  }
  return json;
}

function showAppError(msg) {
  ui.appError.textContent = msg;
  ui.appError.hidden = !msg;
}

// Runs an action from a button or form, showing its error instead of throwing.
function guarded(fn) {
  return async (ev) => {
    if (ev && ev.preventDefault) ev.preventDefault();
    showAppError('');
    try { await fn(ev); } catch (e) { showAppError(e.message); console.warn('[parley app]', e); }
  };
}

function loadAuth() {
  try {
    const a = JSON.parse(sessionStorage.getItem(AUTH_KEY) || 'null');
    if (a && typeof a.token === 'string' && expiresMs(a.expires_at) > Date.now()) app.auth = a;
  } catch { /* none */ }
}

// expires_at of a login: Unix seconds or an ISO 8601 time.
function expiresMs(v) {
  return typeof v === 'number' ? v * 1000 : Date.parse(v);
}

function forgetAuth() {
  app.auth = null;
  sessionStorage.removeItem(AUTH_KEY);
  showWho();
}

async function signIn(email, password) {
  const login = await api('POST', '/auth/login', { email, password });
  app.auth = { token: login.token, expires_at: login.expires_at, account_id: login.account_id,
    tenant_id: login.tenant_id, role: login.role, email, name: '' };
  const me = await api('GET', '/me');
  app.auth.name = me.name || me.email;
  sessionStorage.setItem(AUTH_KEY, JSON.stringify(app.auth));
  showWho();
}

function showWho() {
  ui.who.textContent = app.auth ? `${app.auth.name} · ${app.auth.role}` : '';
  ui.signOut.hidden = !app.auth;
}

// ---- screens ---------------------------------------------------------------------------------

function show(screen) {
  for (const s of ['auth', 'guest', 'lobby', 'meeting', 'recordings']) ui[s].hidden = s !== screen;
  document.body.dataset.screen = screen;
}

function hashParams() {
  return new URLSearchParams(location.hash.replace(/^#/, ''));
}

function inMeeting() {
  return parley.state === 'joining' || parley.state === 'connected';
}

function route() {
  if (inMeeting()) return;
  const h = hashParams();
  if (h.has('guest')) { showGuest(h); return; }
  if (!app.auth) { show('auth'); return; }
  if (h.has('m')) { joinById(h.get('m')).catch((e) => { showAppError(e.message); show('lobby'); }); return; }
  if (h.has('recordings')) { showRecordings().catch((e) => showAppError(e.message)); return; }
  show('lobby');
}

function showGuest(h) {
  ui.guestTitle.textContent = 'the meeting';
  show('guest');
  guestMeeting(h.get('guest') || '').then((g) => {
    ui.guestTitle.textContent = g.title || 'the meeting';
  }).catch((e) => {
    if (document.body.dataset.screen !== 'guest') return;
    showAppError(e.message);
    show(app.auth ? 'lobby' : 'auth');
  });
}

// ---- meetings --------------------------------------------------------------------------------

function meetingLink(id) {
  return `${location.origin}/#m=${encodeURIComponent(id)}`;
}

async function createMeeting(title) {
  const m = await api('POST', '/meetings', title ? { title } : {});
  history.replaceState(null, '', `#m=${encodeURIComponent(m.meeting_id)}`);
  enter({ id: m.meeting_id, title: title || 'Meeting', host: true, token: m.join_token,
    signalingUrl: m.signaling_url, account: app.auth.account_id, name: app.auth.name, guest: false });
}

async function joinById(id) {
  const [info, tok] = await Promise.all([
    api('GET', `/meetings/${encodeURIComponent(id)}`),
    api('POST', `/meetings/${encodeURIComponent(id)}/join`, {}),
  ]);
  if (info.status === 'ended') throw new Error('This meeting has ended.');
  enter({ id, title: info.title || 'Meeting', host: tok.role === 'host', token: tok.join_token,
    signalingUrl: tok.signaling_url, account: tok.account_id, name: app.auth.name, guest: false });
}

// What a guest link's token may reach, from the control plane (POST /guest/meeting): the
// meeting's title and its node's signaling URL. The link carries the token only: a signaling URL
// in a link could send the guest's camera and microphone to any server.
async function guestMeeting(token) {
  let g;
  try {
    g = await api('POST', '/guest/meeting', { join_token: token });
  } catch (e) {
    if (e.status === 400 || e.status === 401 || e.status === 404) {
      throw new Error('This guest link is not valid (or has expired).');
    }
    throw e;
  }
  if (g.status !== 'live') throw new Error('This meeting has ended.');
  return g;
}

async function joinAsGuest(name) {
  const token = hashParams().get('guest') || '';
  const g = await guestMeeting(token);
  enter({ id: g.meeting_id, title: g.title || 'Meeting', host: false, token,
    signalingUrl: g.signaling_url, account: g.account_id, name, guest: true });
}

// keep: a reconnect keeps the microphone and camera as they were.
function enter(m, keep = false) {
  app.meeting = m;
  app.page = 0;
  app.focus = null;
  app.bitrates = {};
  show('meeting');
  ui.meetingLink.value = meetingLink(m.id);
  ui.guestLinkBox.hidden = true;
  ui.invite.hidden = m.guest || !app.auth || app.auth.role !== 'admin';
  ui.reconnect.hidden = true;
  parley.join(m.id, m.account, SLOTS, {
    host: m.host, token: m.token, signalingUrl: m.signalingUrl, announce: true, name: m.name,
    autosub: false, simulcast: true, muted: keep && parley.muted, cameraOff: keep && parley.cameraOff,
  });
  ui.title.textContent = m.title;
  syncControls();
}

// A new participant account and a join token for it: the guest link. Needs an admin (only
// admins may add accounts); each link admits one person at a time.
async function makeGuestLink() {
  const m = app.meeting;
  const rand = crypto.getRandomValues(new Uint8Array(12)).reduce((s, b) => s + b.toString(16).padStart(2, '0'), '');
  const acct = await api('POST', '/accounts', {
    email: `guest-${rand}@guests.invalid`, password: `${rand}${rand}`, role: 'participant', name: 'guest',
  });
  const tok = await api('POST', `/meetings/${encodeURIComponent(m.id)}/join`, { account_id: acct.account_id, role: 'participant' });
  const q = new URLSearchParams({ guest: tok.join_token });
  ui.guestLink.value = `${location.origin}/#${q}`;
  ui.guestLinkBox.hidden = false;
  return ui.guestLink.value;
}

// The indicator follows the node's RECORDING packet; if none comes, say so rather than leave
// the button looking pressed for nothing.
async function startRecording() {
  const m = app.meeting;
  await api('POST', `/meetings/${encodeURIComponent(m.id)}/record`, {});
  setTimeout(() => {
    if (app.meeting === m && inMeeting() && !parley.recording) {
      showAppError('The control plane accepted the recording but the node has not started it.');
    }
  }, 10000);
}

async function stopRecording() {
  await api('POST', `/meetings/${encodeURIComponent(app.meeting.id)}/record/stop`, {});
}

// Reconnect: a fresh token for members (the old one may have expired), the same for guests.
async function reconnect() {
  const m = app.meeting;
  if (!m || inMeeting()) return;
  if (!m.guest) {
    const tok = await api('POST', `/meetings/${encodeURIComponent(m.id)}/join`, {});
    m.token = tok.join_token;
    m.signalingUrl = tok.signaling_url;
  }
  enter(m, true);
}

parley.onState = (state, detail) => {
  app.lastState = detail === 'left' ? 'left' : state;
  if (state === 'connected') app.reconnects = 0;
};

// The meeting is over for this page: left, ended, or lost (then offer to reconnect, and try a
// few times on our own).
parley.onTeardown = () => {
  ui.reconnect.hidden = true;
  ui.pager.hidden = true;
  if (!app.meeting) return;
  if (parley.ended) {
    show(app.meeting.guest ? 'guest' : 'lobby');
    app.meeting = null;
    history.replaceState(null, '', '#');
    return;
  }
  if (app.lastState === 'left') {
    app.meeting = null;
    history.replaceState(null, '', '#');
    route();
    return;
  }
  // Lost: keep the meeting screen with a Reconnect button.
  show('meeting');
  ui.reconnect.hidden = false;
  retryLater();
};

// The next of RECONNECT_TRIES tries on our own, 1.5 s later than the one before. A try that
// fails before it reaches the node (the control plane refusing the token) schedules the next
// itself; one that reaches join() and is lost again comes back through onTeardown.
function retryLater() {
  if (app.reconnects >= RECONNECT_TRIES) return;
  app.reconnects++;
  app.retrying = true;
  const m = app.meeting;
  setTimeout(() => {
    app.retrying = false;
    if (inMeeting() || app.meeting !== m) return;
    reconnect().catch((e) => { showAppError(e.message); retryLater(); });
  }, 1500 * app.reconnects);
}

function syncControls() {
  const live = inMeeting();
  const m = app.meeting;
  ui.mute.textContent = parley.muted ? 'Unmute' : 'Mute';
  ui.mute.setAttribute('aria-pressed', String(parley.muted));
  ui.camera.textContent = parley.cameraOff ? 'Camera on' : 'Camera off';
  ui.camera.setAttribute('aria-pressed', String(parley.cameraOff));
  ui.mute.disabled = ui.camera.disabled = !live;
  const canRecord = live && m && !m.guest;
  ui.record.hidden = !canRecord || parley.recording;
  // The control plane lets only the host or an admin stop a recording.
  const canStop = canRecord && (m.host || (app.auth && app.auth.role === 'admin'));
  ui.stopRecord.hidden = !canStop || !parley.recording;
}
setInterval(syncControls, 500);

// ---- gallery: pages, focus, subscriptions ------------------------------------------------------

// The bitrate a tile of this width asks for: the node forwards the highest simulcast layer that
// fits (app.js publishes q/h/f at 150 k / 500 k / 2.5 Mbit/s).
const TOP_BITRATE = 3000000;  // the focused tile: the top layer whatever its size
function bitrateFor(width) {
  if (width >= 560) return TOP_BITRATE;
  if (width >= 300) return 700000;
  return 200000;
}

function setPage(n) {
  app.page = Math.max(0, Math.min(n, app.pages - 1));
  layout();
}

// n tiles of others per page whatever the window size; 0 goes back to fitting the window.
function setPageSize(n) {
  app.pageSizeFixed = n > 0 ? Math.max(1, Math.min(SLOTS, Math.floor(n))) : 0;   // each tile on the page takes a video slot
  layout();
}

// The grid that fits the gallery's width and the window's height below the gallery's top (less
// the chat under it): as many columns of tiles at least MIN_TILE_PX wide as fit, 4:3 tiles, as
// many rows as fit (at least one). Sets the gallery's columns; returns {cols, rows}.
function gridFit() {
  const width = ui.gallery.clientWidth || window.innerWidth;
  const top = ui.gallery.getBoundingClientRect().top + window.scrollY;   // from the page's top: scrolling changes nothing
  const chat = document.getElementById('chat');
  const below = chat && !chat.hidden ? chat.offsetHeight + 16 : 0;
  const height = Math.max(0, window.innerHeight - top - below - 8);
  const cols = Math.max(1, Math.floor((width + GAP_PX) / (MIN_TILE_PX + GAP_PX)));
  const tileH = ((width - GAP_PX * (cols - 1)) / cols) * 3 / 4;
  const rows = Math.max(1, Math.floor((height + GAP_PX) / (tileH + GAP_PX)));
  ui.gallery.style.gridTemplateColumns = `repeat(${cols}, minmax(0, 1fr))`;
  return { cols, rows };
}

function setFocus(account) {
  app.focus = app.focus === account ? null : account;
  layout();
}

let layoutQueued = false;
function layout() {
  if (layoutQueued) return;
  layoutQueued = true;
  requestAnimationFrame(() => { layoutQueued = false; applyLayout(); });
}

function applyLayout() {
  if (!app.meeting || !inMeeting()) return;
  const others = parley.users.slice();
  app.grid = gridFit();
  // Your own tile takes one cell; a focused tile takes four and may push a row below the fold.
  app.pageSize = app.pageSizeFixed || Math.max(1, Math.min(SLOTS, app.grid.cols * app.grid.rows - 1));
  const size = app.pageSize;
  app.pages = Math.max(1, Math.ceil(others.length / size));
  if (app.page >= app.pages) app.page = app.pages - 1;
  const visible = others.slice(app.page * size, (app.page + 1) * size);
  if (app.focus && !others.includes(app.focus)) app.focus = null;
  for (const tile of ui.gallery.querySelectorAll('.tile.remote')) {
    const acct = tile.dataset.account;
    tile.hidden = !visible.includes(acct);
    tile.classList.toggle('focus', acct === app.focus);
  }
  ui.pager.hidden = app.pages < 2;
  ui.pageLabel.textContent = `${app.page + 1} / ${app.pages}`;
  ui.gallery.dataset.page = String(app.page);

  // Subscribe to what is on screen at a bitrate for its size; drop the rest.
  const want = {};
  for (const tile of ui.gallery.querySelectorAll('.tile.remote')) {
    if (tile.hidden) continue;
    const acct = tile.dataset.account;
    want[acct] = acct === app.focus ? TOP_BITRATE : bitrateFor(tile.clientWidth);
  }
  const current = new Set(parley.subscribed);
  for (const a of Object.keys(app.bitrates)) if (!current.has(a)) delete app.bitrates[a];
  const drop = [...current].filter((a) => !(a in want));
  const add = Object.entries(want).filter(([a, b]) => app.bitrates[a] !== b)
    .map(([account_id, bitrate]) => ({ account_id, bitrate }));
  const fresh = add.filter((e) => !current.has(e.account_id));
  const changed = add.filter((e) => current.has(e.account_id));
  if (drop.length) parley.unsubSub(drop, fresh);
  else if (fresh.length) parley.subscribe(fresh);
  if (changed.length) parley.subscribe(changed);
  for (const a of drop) delete app.bitrates[a];
  for (const e of add) app.bitrates[e.account_id] = e.bitrate;
}

parley.onRender = layout;
window.addEventListener('resize', layout);
ui.gallery.addEventListener('click', (ev) => {
  const tile = ev.target.closest('.tile.remote');
  if (tile) setFocus(tile.dataset.account);
});

// ---- recordings ------------------------------------------------------------------------------

function fmtDuration(s) {
  if (typeof s !== 'number') return '';
  return `${Math.floor(s / 60)}:${String(Math.round(s % 60)).padStart(2, '0')}`;
}

async function showRecordings() {
  show('recordings');
  const list = (await api('GET', '/recordings')).recordings || [];
  app.recordings = list;
  ui.recordingList.replaceChildren();
  for (const r of list) {
    const tr = document.createElement('tr');
    tr.dataset.recording = r.recording_id;
    tr.dataset.status = r.status;
    for (const text of [r.title || r.meeting_id || r.recording_id, new Date(r.created_at).toLocaleString(),
      fmtDuration(r.duration_seconds), r.status]) {
      const td = document.createElement('td');
      td.textContent = text ?? '';
      tr.append(td);
    }
    const td = document.createElement('td');
    if (r.status === 'complete') {
      const b = document.createElement('button');
      b.type = 'button';
      b.className = 'play';
      b.textContent = 'Play';
      b.addEventListener('click', guarded(() => play(r.recording_id)));
      td.append(b);
    }
    tr.append(td);
    ui.recordingList.append(tr);
  }
  ui.noRecordings.hidden = list.length > 0;
}

async function play(id) {
  const { url } = await api('POST', `/recordings/${encodeURIComponent(id)}/download-url`, {});
  ui.player.hidden = false;
  ui.player.dataset.recording = id;
  ui.player.src = url;
  try {
    await ui.player.play();
  } catch {
    ui.player.muted = true;   // autoplay with sound refused: play muted, the controls unmute
    await ui.player.play().catch(() => {});
  }
}

// ---- wiring ----------------------------------------------------------------------------------

ui.signIn.addEventListener('submit', guarded(async () => {
  const f = ui.signIn.elements;
  await signIn(f.email.value.trim(), f.password.value);
  f.password.value = '';
  route();
}));

ui.signUp.addEventListener('submit', guarded(async () => {
  const f = ui.signUp.elements;
  const body = { tenant_name: f.tenant.value.trim(), email: f.email.value.trim(), password: f.password.value };
  if (f.name.value.trim()) body.name = f.name.value.trim();
  await api('POST', '/tenants', body);
  await signIn(body.email, body.password);
  f.password.value = '';
  route();
}));

ui.signOut.addEventListener('click', guarded(async () => {
  if (inMeeting()) parley.leave();
  try { await api('POST', '/auth/logout'); } catch { /* gone already */ }
  forgetAuth();
  history.replaceState(null, '', '#');
  route();
}));

ui.guest.addEventListener('submit', guarded(() => joinAsGuest(ui.guest.elements.name.value.trim())));
ui.create.addEventListener('submit', guarded(() => createMeeting(ui.create.elements.title.value.trim())));
ui.joinLink.addEventListener('submit', guarded(() => {
  const v = ui.joinLink.elements.link.value.trim();
  const m = v.match(/#m=([^&]+)/);
  location.hash = `m=${m ? m[1] : encodeURIComponent(v)}`;
}));
ui.mute.addEventListener('click', () => { parley.setMuted(!parley.muted); syncControls(); });
ui.camera.addEventListener('click', () => { parley.setCamera(parley.cameraOff); syncControls(); });
ui.record.addEventListener('click', guarded(startRecording));
ui.stopRecord.addEventListener('click', guarded(stopRecording));
ui.invite.addEventListener('click', guarded(makeGuestLink));
ui.reconnect.addEventListener('click', guarded(reconnect));
ui.pagePrev.addEventListener('click', () => setPage(app.page - 1));
ui.pageNext.addEventListener('click', () => setPage(app.page + 1));
for (const input of [ui.meetingLink, ui.guestLink]) input.addEventListener('focus', () => input.select());
window.addEventListener('hashchange', route);

loadAuth();
showWho();
route();
