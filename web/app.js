// Parley test page: joins one meeting on a parley-node over WebSocket signaling and shows
// every participant's camera. Protocol: docs/protocol.md (JOIN, MEETING_USERS, OFFER, ANSWER,
// SLOTS, LEAVE, ERROR). The offer carries, in this order: audio sendonly (microphone), video
// sendonly (camera), then K pairs of recvonly (video, audio) "slots". The node answers once and
// says in SLOTS which participant it forwards into which slot (by mid); no renegotiation.

const DEFAULT_SLOTS = 8;
const MAX_SLOTS = 49;
const GATHER_TIMEOUT_MS = 3000;
const MAX_EVENTS = 300;

// State exposed for tests and for poking at from the console.
const parley = {
  pc: null,
  ws: null,
  accountId: null,
  meetingId: null,
  slots: {},          // mid -> {kind, account_id}: the node's last SLOTS table
  state: 'idle',      // 'idle' | 'joining' | 'connected' | 'failed' | 'closed'
  errors: [],         // {msg, at}: ERROR messages from the node and local failures
  users: [],          // other participants' account ids, as the node reported them
  events: [],         // {t, msg}: a short log of what happened, newest last
  localStream: null,
  join,
  leave,
};
window.parley = parley;

const ui = {
  form: document.getElementById('join-form'),
  gallery: document.getElementById('gallery'),
  status: document.getElementById('status'),
  title: document.getElementById('meeting-title'),
  leave: document.getElementById('leave'),
  errors: document.getElementById('errors'),
};

let answered = false;   // remote description applied: mids are final, slots can be attached
let offerSent = false;
let session = 0;        // bumps on every join/leave so stale callbacks can tell they are stale

function log(msg) {
  parley.events.push({ t: Math.round(performance.now()), msg });
  if (parley.events.length > MAX_EVENTS) parley.events.shift();
  console.info(`[parley] ${msg}`);
}

function setState(state, detail = '') {
  if (parley.state !== state) log(`state ${parley.state} -> ${state}${detail ? ` (${detail})` : ''}`);
  parley.state = state;
  ui.status.dataset.state = state;
  ui.status.textContent = detail ? `${state}: ${detail}` : state;
}

function showError(msg) {
  parley.errors.push({ msg, at: new Date().toISOString() });
  log(`error: ${msg}`);
  const li = document.createElement('li');
  li.textContent = msg;
  ui.errors.append(li);
  while (ui.errors.children.length > 5) ui.errors.firstElementChild.remove();
}

function fail(msg) {
  showError(msg);
  setState('failed', msg);
  teardown();
}

function send(message) {
  const ws = parley.ws;
  if (!ws || ws.readyState !== WebSocket.OPEN) return;
  const full = { meeting_id: parley.meetingId, ...message };
  ws.send(JSON.stringify(full));
  log(`sent ${full.content_type}`);
}

// ---- tiles ----------------------------------------------------------------------------------

function tileFor(accountId, create = true) {
  for (const tile of ui.gallery.querySelectorAll('.tile.remote')) {
    if (tile.dataset.account === accountId) return tile;
  }
  if (!create) return null;
  const tile = document.createElement('figure');
  tile.className = 'tile remote';
  tile.dataset.account = accountId;
  const video = document.createElement('video');
  video.autoplay = true;
  video.playsInline = true;
  video.muted = true;               // sound goes through the audio element
  video.addEventListener('resize', () => markLive(tile));
  video.addEventListener('loadeddata', () => markLive(tile));
  const audio = document.createElement('audio');
  audio.autoplay = true;
  const label = document.createElement('figcaption');
  label.textContent = accountId;
  tile.append(video, audio, label);
  ui.gallery.append(tile);
  return tile;
}

function markLive(tile) {
  const video = tile.querySelector('video');
  tile.classList.toggle('live', video.videoWidth > 0);
}

function showSelf(stream) {
  let tile = ui.gallery.querySelector('.tile.self');
  if (!tile) {
    tile = document.createElement('figure');
    tile.className = 'tile self';
    const video = document.createElement('video');
    video.autoplay = true;
    video.playsInline = true;
    video.muted = true;
    video.addEventListener('resize', () => markLive(tile));
    const label = document.createElement('figcaption');
    tile.append(video, label);
    ui.gallery.prepend(tile);
  }
  tile.querySelector('figcaption').textContent = `${parley.accountId} (you)`;
  tile.querySelector('video').srcObject = stream;
}

function setTrack(element, track) {
  const current = element.srcObject ? element.srcObject.getTracks()[0] : null;
  if (current === (track || null)) return false;
  element.srcObject = track ? new MediaStream([track]) : null;
  if (track) {
    element.play().catch((e) => {
      log(`autoplay blocked for ${element.tagName.toLowerCase()}: ${e.name}`);
      document.addEventListener('click', () => element.play().catch(() => {}), { once: true });
    });
  }
  return true;
}

// Puts each slot's receiver track into its participant's tile; drops tiles of people who are
// neither in the meeting nor in a slot. Runs on every SLOTS and once the answer is applied.
function render() {
  const pc = parley.pc;
  const wanted = new Map();   // account -> {video, audio} tracks
  for (const id of parley.users) wanted.set(id, { video: null, audio: null });
  if (pc && answered) {
    for (const [mid, slot] of Object.entries(parley.slots)) {
      const tr = pc.getTransceivers().find((t) => t.mid === mid);
      if (!tr) { log(`SLOTS names mid ${mid}, which this connection does not have`); continue; }
      if (tr.receiver.track.kind !== slot.kind) {
        log(`SLOTS says mid ${mid} is ${slot.kind} but it is ${tr.receiver.track.kind}`);
        continue;
      }
      if (!wanted.has(slot.account_id)) wanted.set(slot.account_id, { video: null, audio: null });
      wanted.get(slot.account_id)[slot.kind] = tr.receiver.track;
    }
  }
  for (const tile of [...ui.gallery.querySelectorAll('.tile.remote')]) {
    if (!wanted.has(tile.dataset.account)) tile.remove();
  }
  for (const [account, tracks] of wanted) {
    const tile = tileFor(account);
    if (setTrack(tile.querySelector('video'), tracks.video)) tile.classList.remove('live');
    setTrack(tile.querySelector('audio'), tracks.audio);
    tile.classList.toggle('has-video', !!tracks.video);
    tile.classList.toggle('has-audio', !!tracks.audio);
  }
  ui.gallery.dataset.count = String(ui.gallery.querySelectorAll('.tile').length);
}

// ---- signaling ------------------------------------------------------------------------------

function isAccountList(v) {
  return Array.isArray(v) && v.every((x) => typeof x === 'string');
}

function parseSlots(list) {
  if (!Array.isArray(list)) return null;
  const table = {};
  for (const s of list) {
    if (!s || typeof s.mid !== 'string' || typeof s.account_id !== 'string' ||
        (s.kind !== 'audio' && s.kind !== 'video')) return null;
    table[s.mid] = { kind: s.kind, account_id: s.account_id };
  }
  return table;
}

async function onMessage(text, offerReady, mySession) {
  if (mySession !== session) return;   // left (or rejoined) since this message was queued
  let msg;
  try {
    msg = JSON.parse(text);
  } catch {
    showError(`node sent a message that is not JSON: ${String(text).slice(0, 80)}`);
    return;
  }
  if (!msg || typeof msg !== 'object') return;
  log(`got ${msg.content_type}`);
  switch (msg.content_type) {
    case 'MEETING_USERS': {
      if (!isAccountList(msg.users)) { showError('MEETING_USERS without a list of users'); return; }
      parley.users = msg.users.filter((u) => u !== parley.accountId);
      render();
      if (offerSent) return;
      offerSent = true;
      // Joined: now offer (the offer was prepared while the socket was connecting).
      try {
        const sdp = await offerReady;
        if (mySession !== session) return;
        send({ content_type: 'OFFER', sdp });
      } catch (e) {
        if (mySession === session) fail(`could not create the offer: ${e.message}`);
      }
      break;
    }
    case 'JOIN':
      if (typeof msg.account_id === 'string' && msg.account_id !== parley.accountId &&
          !parley.users.includes(msg.account_id)) {
        parley.users.push(msg.account_id);
        render();
      }
      break;
    case 'LEAVE':
      parley.users = parley.users.filter((u) => u !== msg.account_id);
      render();
      break;
    case 'ANSWER': {
      if (typeof msg.sdp !== 'string') { fail('ANSWER without sdp'); return; }
      if (answered) { showError('second ANSWER ignored (the node never renegotiates)'); return; }
      try {
        await parley.pc.setRemoteDescription({ type: 'answer', sdp: msg.sdp });
      } catch (e) {
        if (mySession === session) fail(`the node's answer was refused: ${e.message}`);
        return;
      }
      if (mySession !== session) return;
      answered = true;
      log('answer applied');
      render();
      break;
    }
    case 'SLOTS': {
      const table = parseSlots(msg.slots);
      if (!table) { showError('SLOTS with a malformed slot list'); return; }
      parley.slots = table;
      render();
      break;
    }
    case 'ERROR':
      showError(`node: ${typeof msg.msg === 'string' ? msg.msg : JSON.stringify(msg)}`);
      break;
    case 'JOIN_DENIED':
      fail(`join denied${typeof msg.msg === 'string' ? `: ${msg.msg}` : ''}`);
      break;
    case 'END':
      log('meeting ended by the host');
      setState('closed', 'meeting ended');
      teardown();
      break;
    default:
      log(`ignored ${msg.content_type}`);
  }
}

function gatheringDone(pc) {
  if (pc.iceGatheringState === 'complete') return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(done, GATHER_TIMEOUT_MS);
    function done() {
      clearTimeout(timer);
      pc.removeEventListener('icegatheringstatechange', check);
      resolve();
    }
    function check() { if (pc.iceGatheringState === 'complete') done(); }
    pc.addEventListener('icegatheringstatechange', check);
  });
}

async function makeOffer(pc) {
  const offer = await pc.createOffer();
  await pc.setLocalDescription(offer);
  await gatheringDone(pc);   // no trickle in this protocol: send the candidates in the offer
  return pc.localDescription.sdp;
}

// ---- join / leave ---------------------------------------------------------------------------

async function join(meetingId, accountId, slotCount = DEFAULT_SLOTS) {
  if (parley.state === 'joining' || parley.state === 'connected') return;
  const mySession = ++session;
  answered = false;
  offerSent = false;
  Object.assign(parley, { meetingId, accountId, slots: {}, users: [], pc: null, ws: null });
  ui.errors.replaceChildren();
  ui.gallery.replaceChildren();
  ui.form.hidden = true;
  ui.gallery.hidden = false;
  ui.leave.hidden = false;
  ui.title.textContent = meetingId;
  setState('joining', 'camera and microphone');

  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({
      audio: true, video: { width: 640, height: 480 },
    });
  } catch (e) {
    if (mySession === session) fail(`camera/microphone unavailable: ${e.name}: ${e.message}`);
    return;
  }
  if (mySession !== session) { stream.getTracks().forEach((t) => t.stop()); return; }
  parley.localStream = stream;
  showSelf(stream);

  const pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle', rtcpMuxPolicy: 'require' });
  parley.pc = pc;
  const [mic] = stream.getAudioTracks();
  const [cam] = stream.getVideoTracks();
  pc.addTransceiver(mic || 'audio', { direction: 'sendonly', streams: [stream] });
  pc.addTransceiver(cam || 'video', { direction: 'sendonly', streams: [stream] });
  for (let i = 0; i < slotCount; i++) {
    pc.addTransceiver('video', { direction: 'recvonly' });
    pc.addTransceiver('audio', { direction: 'recvonly' });
  }
  pc.addEventListener('connectionstatechange', () => {
    if (mySession !== session) return;
    const s = pc.connectionState;
    log(`peer connection ${s}`);
    if (s === 'connected') setState('connected');
    else if (s === 'failed') fail('media connection failed (ICE/DTLS)');
    else if (parley.state === 'joining' || parley.state === 'connected') setState(parley.state, `media ${s}`);
  });
  const offerReady = makeOffer(pc);
  offerReady.catch(() => {});   // reported when MEETING_USERS awaits it

  setState('joining', 'signaling');
  const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`;
  let ws;
  try {
    ws = new WebSocket(url, 'parley');
  } catch (e) {
    fail(`cannot open ${url}: ${e.message}`);
    return;
  }
  parley.ws = ws;
  let opened = false;
  ws.addEventListener('open', () => {
    opened = true;
    send({ content_type: 'JOIN', account_id: accountId });
  });
  // Messages are handled strictly in order (ANSWER must be applied before a later SLOTS).
  let queue = Promise.resolve();
  ws.addEventListener('message', (e) => {
    if (typeof e.data !== 'string') { showError('node sent a binary frame'); return; }
    queue = queue.then(() => onMessage(e.data, offerReady, mySession)).catch((err) => {
      showError(`handling a message failed: ${err.message}`);
    });
  });
  ws.addEventListener('close', (e) => {
    if (mySession !== session) return;
    const why = `signaling closed (code ${e.code}${e.reason ? `, ${e.reason}` : ''})`;
    log(why);
    if (!opened) fail(`cannot reach ${url}`);
    else if (parley.state === 'joining' || parley.state === 'connected') {
      setState('closed', why);
      teardown();
    }
  });
}

function teardown() {
  const { ws, pc, localStream } = parley;
  if (ws && ws.readyState <= WebSocket.OPEN) ws.close(1000);
  if (pc) pc.close();
  if (localStream) localStream.getTracks().forEach((t) => t.stop());
  parley.localStream = null;
  ui.leave.hidden = true;
  ui.form.hidden = false;
  ui.gallery.replaceChildren();
  ui.gallery.hidden = true;
  ui.title.textContent = '';
}

function leave() {
  if (parley.state !== 'joining' && parley.state !== 'connected') return;
  send({ content_type: 'LEAVE', account_id: parley.accountId });
  session++;
  setState('closed', 'left');
  teardown();
}

// ---- page wiring ----------------------------------------------------------------------------

function slotCountFrom(value) {
  const n = Number.parseInt(value ?? '', 10);
  if (!Number.isFinite(n)) return DEFAULT_SLOTS;
  return Math.min(MAX_SLOTS, Math.max(0, n));
}

const params = new URLSearchParams(location.search);
const slotCount = slotCountFrom(params.get('slots'));
ui.form.meeting.value = params.get('meeting') ?? '';
ui.form.name.value = params.get('name') ?? '';

ui.form.addEventListener('submit', (e) => {
  e.preventDefault();
  const meeting = ui.form.meeting.value.trim();
  const name = ui.form.name.value.trim();
  if (!meeting || !name) return;
  join(meeting, name, slotCount);
});
ui.leave.addEventListener('click', leave);
window.addEventListener('pagehide', () => {
  if (parley.state === 'joining' || parley.state === 'connected') leave();
});

if (params.get('autojoin') === '1') {
  const meeting = (params.get('meeting') ?? '').trim();
  const name = (params.get('name') ?? '').trim();
  if (meeting && name) join(meeting, name, slotCount);
  else showError('autojoin needs both ?meeting= and ?name=');
}
