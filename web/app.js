// Parley test page: joins one meeting on a parley-node over WebSocket signaling and shows
// every participant's camera. Protocol: docs/protocol.md. The host starts the meeting with INIT,
// everyone else JOINs; both carry a join token (URL `token`, else fetched from the node's
// /dev/token when it serves one). The offer carries, in this order: audio sendonly (microphone),
// video sendonly (camera), then K pairs of recvonly (video, audio) "slots". The node answers once
// and says in SLOTS which participant it forwards into which slot (by mid); no renegotiation.
// Audio is automatic; video is SUBSCRIBEd: by default the page subscribes to every other user
// (URL `autosub=0` turns that off; tests then drive window.parley.subscribe / unsubSub).
//
// URL parameters: meeting, name, token, host=1 (INIT instead of JOIN), autojoin=1, slots (video/
// audio slot pairs, default 8), autosub=0, width / height (camera resolution, default 640x480),
// simulcast=1 (publish three layers q/h/f at 1/4, 1/2 and full resolution), bitrate=N (bits/s
// each automatic video subscription asks for, default 1500000), codec=h264 or codec=vp9
// (publish that instead of VP8), degradation=maintain-resolution|maintain-framerate|balanced
// (the camera sender's degradationPreference).
//
// The meeting app served by parley-control (app.html + meet.js) drives the same join() with a
// control-plane token and the node's signaling_url, and turns on `announce`: the page then tells
// the others its display name and whether its microphone and camera are on, as a state message on
// the chat channel ({"parley_state": {"name", "muted", "camera"}}: sent when the channel opens, on
// every change and every STATE_EVERY_MS so late joiners learn it). Every page reads those into
// parley.peers and marks tiles muted / camera off; they never show in the chat log.

const DEFAULT_SLOTS = 8;
const MAX_SLOTS = 49;
const SUB_BITRATE = 1500000;   // bits per second asked for each automatic video subscription
const GATHER_TIMEOUT_MS = 3000;
const MAX_EVENTS = 300;
const STATE_EVERY_MS = 3000;

// State exposed for tests and for poking at from the console.
const parley = {
  pc: null,
  ws: null,
  accountId: null,
  meetingId: null,
  isHost: false,      // joined with INIT (host=1): may END the meeting
  slots: {},          // mid -> {kind, account_id}: the node's last SLOTS table
  state: 'idle',      // 'idle' | 'joining' | 'connected' | 'failed' | 'closed'
  errors: [],         // {msg, at}: ERROR messages from the node and local failures
  users: [],          // other participants' account ids, as the node reported them
  events: [],         // {t, msg}: a short log of what happened, newest last
  received: [],       // content_type of every packet from the node, in order (for tests)
  offersSent: 0,      // OFFERs sent on this page (the protocol never renegotiates)
  autosub: true,      // subscribe to every other user's video automatically
  subscribed: [],     // accounts this page asked to receive video from (SUBSCRIBE minus UNSUB*)
  recording: false,   // the node said RECORDING true (a recorder is in the meeting)
  activeSpeaker: null, // account id of the last ACTIVE_SPEAKER
  ended: false,       // the host ended the meeting (END)
  chat: [],           // {from, text, at}: chat messages, own ones included (from = own account)
  chatOpen: false,    // the data channel to the node is open
  localStream: null,
  muted: false,       // own microphone off (setMuted)
  cameraOff: false,   // own camera off (setCamera)
  displayName: '',    // own name as announced to the others
  peers: {},          // account -> {name, muted, camera, at}: the others' state messages
  signalingUrl: '',   // the node's WebSocket (default: this page's host, /ws)
  // Hooks for the meeting app (meet.js): after every render, on teardown, on every state change.
  onRender: null,
  onTeardown: null,
  onState: null,
  join,
  setMuted,
  setCamera,
  leave,
  end: endMeeting,
  send: sendPacket,
  subscribe,
  unsubscribe,
  unsubSub,
  sendChat,
};
window.parley = parley;

const ui = {
  form: document.getElementById('join-form'),
  gallery: document.getElementById('gallery'),
  status: document.getElementById('status'),
  title: document.getElementById('meeting-title'),
  leave: document.getElementById('leave'),
  end: document.getElementById('end'),
  recording: document.getElementById('recording'),
  notice: document.getElementById('notice'),
  errors: document.getElementById('errors'),
  chat: document.getElementById('chat'),
  chatLog: document.getElementById('chat-log'),
  chatForm: document.getElementById('chat-form'),
};

// ---- chat over the data channel ------------------------------------------------------------
// The page opens one data channel labelled "chat" to the node; the node hands each message to
// everyone else in the meeting as {"from", "text"}, with the sender's account stamped by it.
let chatChannel = null;
let announce = false;    // send state messages (the meeting app), see the top of this file
let stateTimer = null;

function stateText() {
  return JSON.stringify({ parley_state: { name: parley.displayName, muted: parley.muted, camera: !parley.cameraOff } });
}

function sendState() {
  if (!announce || !chatChannel || chatChannel.readyState !== 'open') return;
  chatChannel.send(stateText());
}

// A state message from another page: true when `text` was one (it is then not chat).
function takeState(from, text) {
  if (!text.startsWith('{"parley_state"')) return false;
  let st;
  try { st = JSON.parse(text).parley_state; } catch { return false; }
  if (!st || typeof st !== 'object') return false;
  const name = typeof st.name === 'string' ? st.name.slice(0, 64) : '';
  const prev = parley.peers[from];
  const next = { name, muted: st.muted === true, camera: st.camera !== false, at: Date.now() };
  parley.peers[from] = next;
  if (!prev || prev.name !== next.name || prev.muted !== next.muted || prev.camera !== next.camera) {
    log(`${from}: ${name || '?'} ${next.muted ? 'muted' : 'unmuted'}, camera ${next.camera ? 'on' : 'off'}`);
    render();
  }
  return true;
}

// Microphone / camera on and off: the tracks stay (no renegotiation), disabled ones send
// silence / black frames; the others learn it from the state message.
function setMuted(on) {
  parley.muted = !!on;
  for (const t of parley.localStream ? parley.localStream.getAudioTracks() : []) t.enabled = !parley.muted;
  sendState();
  render();
  return parley.muted;
}

function setCamera(on) {
  parley.cameraOff = !on;
  for (const t of parley.localStream ? parley.localStream.getVideoTracks() : []) t.enabled = !parley.cameraOff;
  sendState();
  render();
  return !parley.cameraOff;
}

function nameOf(accountId) {
  const p = parley.peers[accountId];
  return p && p.name ? p.name : accountId;
}

// degradation=maintain-resolution: under CPU load the encoder drops frames rather than
// resolution (or simulcast layers); tests on small machines use it. Set once negotiated.
let cameraSender = null;
let degradationWanted = '';
function applyDegradation() {
  if (!cameraSender || !degradationWanted) return;
  const params = cameraSender.getParameters();
  params.degradationPreference = degradationWanted;
  cameraSender.setParameters(params)
    .then(() => log(`degradationPreference ${degradationWanted}`))
    .catch((e) => log(`degradationPreference ${degradationWanted} refused: ${e.message}`));
}

function showChat(from, text) {
  const item = { from, text, at: Date.now() };
  parley.chat.push(item);
  const li = document.createElement('li');
  const who = document.createElement('b');
  who.textContent = from === parley.accountId ? 'you' : nameOf(from);
  li.append(who, document.createTextNode(` ${text}`));
  ui.chatLog.append(li);
  ui.chatLog.scrollTop = ui.chatLog.scrollHeight;
}

function openChat(pc) {
  chatChannel = pc.createDataChannel('chat', { ordered: true });
  chatChannel.addEventListener('open', () => {
    parley.chatOpen = true;
    log('chat channel open');
    if (announce) {
      sendState();
      clearInterval(stateTimer);
      stateTimer = setInterval(sendState, STATE_EVERY_MS);
    }
  });
  chatChannel.addEventListener('close', () => { parley.chatOpen = false; clearInterval(stateTimer); });
  chatChannel.addEventListener('message', (ev) => {
    let msg;
    try { msg = JSON.parse(ev.data); } catch { return; }
    if (msg && typeof msg.from === 'string' && typeof msg.text === 'string' && !takeState(msg.from, msg.text)) {
      showChat(msg.from, msg.text);
    }
  });
}

// Sends a chat message to everyone else in the meeting; false when the channel is not open.
function sendChat(text) {
  const t = String(text ?? '').slice(0, 2000);
  if (!t || !chatChannel || chatChannel.readyState !== 'open') return false;
  chatChannel.send(t);
  showChat(parley.accountId, t);
  return true;
}

ui.chatForm.addEventListener('submit', (ev) => {
  ev.preventDefault();
  const input = ui.chatForm.elements.text;
  if (sendChat(input.value)) input.value = '';
});

let answered = false;   // remote description applied: mids are final, slots can be attached
let offerSent = false;  // the OFFER is being made or was sent (once per connection)
let offerOut = false;   // the OFFER went out: SUBSCRIBE may follow (before it there are no slots)
let slotCount = DEFAULT_SLOTS;
let lastNodeError = ''; // the reason a JOIN_DENIED follows
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
  if (parley.onState) parley.onState(state, detail);
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
  if (!ws || ws.readyState !== WebSocket.OPEN) return false;
  const full = { meeting_id: parley.meetingId, ...message };
  ws.send(JSON.stringify(full));
  log(`sent ${full.content_type}`);
  return true;
}

// Test helper: sends `obj` as it is (meeting_id defaults to this page's meeting).
function sendPacket(obj) {
  return send(obj);
}

function subEntry(x) {
  if (typeof x === 'string') return { account_id: x, bitrate: parley.subBitrate ?? SUB_BITRATE };
  return { account_id: x.account_id, bitrate: x.bitrate ?? parley.subBitrate ?? SUB_BITRATE };
}

function unsubEntry(x) {
  return { account_id: typeof x === 'string' ? x : x.account_id, bitrate: 0 };
}

function noteSubscribed(add, remove) {
  const set = new Set(parley.subscribed);
  for (const id of remove) set.delete(id);
  for (const id of add) set.add(id);
  parley.subscribed = [...set];
}

// Subscription packets need the OFFER first (the slots come from it): until it went out they
// wait here, in order.
let pendingSubs = [];

function sendSubscription(packet) {
  if (offerOut) return send(packet);
  pendingSubs.push(packet);
  log(`${packet.content_type} waits for the offer`);
  return true;
}

function flushSubscriptions() {
  const queued = pendingSubs;
  pendingSubs = [];
  for (const packet of queued) send(packet);
}

// SUBSCRIBE to the video of `list` (account ids, or {account_id, bitrate}).
function subscribe(list) {
  const subscriptions = list.map(subEntry);
  if (!subscriptions.length) return false;
  noteSubscribed(subscriptions.map((e) => e.account_id), []);
  return sendSubscription({ content_type: 'SUBSCRIBE', num_actions: subscriptions.length, subscriptions });
}

// UNSUBSCRIBE from the video of `list` (account ids).
function unsubscribe(list) {
  const entries = list.map(unsubEntry);
  if (!entries.length) return false;
  noteSubscribed([], entries.map((e) => e.account_id));
  return sendSubscription({ content_type: 'UNSUBSCRIBE', num_actions: entries });
}

// UNSUB_SUB: stop `unsub` and start `sub` in one step; the freed slots go to `sub`, in order.
function unsubSub(unsub, sub) {
  const u = unsub.map(unsubEntry);
  const s = sub.map(subEntry);
  if (!u.length && !s.length) return false;
  noteSubscribed(s.map((e) => e.account_id), u.map((e) => e.account_id));
  return sendSubscription({ content_type: 'UNSUB_SUB', num_actions: u.length + s.length, unsubscribe: u, subscribe: s });
}

// Automatic video: subscribe to the given users, as far as the offer has video slots for them.
function autoSubscribe(accounts) {
  if (!parley.autosub) return;
  const have = new Set(parley.subscribed);
  const fresh = [];
  for (const id of accounts) {
    if (id === parley.accountId || have.has(id) || fresh.includes(id)) continue;
    if (have.size + fresh.length >= slotCount) {
      log(`no free video slot for ${id} (${slotCount} slots)`);
      continue;
    }
    fresh.push(id);
  }
  if (fresh.length) subscribe(fresh);
}

function endMeeting() {
  if (!parley.isHost) return false;
  return send({ content_type: 'END' });
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
  tile.querySelector('figcaption').textContent = `${parley.displayName || parley.accountId} (you)`;
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
    const peer = parley.peers[account];
    tile.querySelector('figcaption').textContent = nameOf(account);
    tile.classList.toggle('muted', !!peer && peer.muted);
    tile.classList.toggle('cam-off', !!peer && !peer.camera);
    if (setTrack(tile.querySelector('video'), tracks.video)) tile.classList.remove('live');
    setTrack(tile.querySelector('audio'), tracks.audio);
    tile.classList.toggle('has-video', !!tracks.video);
    tile.classList.toggle('has-audio', !!tracks.audio);
    tile.classList.toggle('speaking', account === parley.activeSpeaker);
  }
  const self = ui.gallery.querySelector('.tile.self');
  if (self) {
    self.classList.toggle('speaking', !!parley.accountId && parley.activeSpeaker === parley.accountId);
    self.classList.toggle('muted', parley.muted);
    self.classList.toggle('cam-off', parley.cameraOff);
  }
  ui.gallery.dataset.count = String(ui.gallery.querySelectorAll('.tile').length);
  if (parley.onRender) parley.onRender();
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
  parley.received.push(msg.content_type);
  if (parley.received.length > MAX_EVENTS) parley.received.shift();
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
        if (send({ content_type: 'OFFER', sdp })) {
          parley.offersSent++;
          offerOut = true;
          flushSubscriptions();
        }
      } catch (e) {
        if (mySession === session) fail(`could not create the offer: ${e.message}`);
        return;
      }
      // Video is not automatic: ask for everyone who is already in.
      autoSubscribe(parley.users);
      break;
    }
    case 'JOIN':
      if (typeof msg.account_id === 'string' && msg.account_id !== parley.accountId) {
        if (!parley.users.includes(msg.account_id)) parley.users.push(msg.account_id);
        render();
        autoSubscribe([msg.account_id]);
      }
      break;
    case 'LEAVE':
      // The node frees the slots of someone who leaves (a SLOTS follows): nothing to send.
      parley.users = parley.users.filter((u) => u !== msg.account_id);
      noteSubscribed([], [msg.account_id]);
      if (parley.activeSpeaker === msg.account_id) parley.activeSpeaker = null;
      render();
      break;
    case 'RECORDING':
      parley.recording = msg.recording === true;
      log(`recording ${parley.recording ? 'on' : 'off'}`);
      ui.recording.hidden = !parley.recording;
      break;
    case 'ACTIVE_SPEAKER':
      if (typeof msg.account_id !== 'string') { showError('ACTIVE_SPEAKER without account_id'); return; }
      parley.activeSpeaker = msg.account_id;
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
      applyDegradation();
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
      lastNodeError = typeof msg.msg === 'string' ? msg.msg : JSON.stringify(msg);
      showError(`node: ${lastNodeError}`);
      break;
    case 'JOIN_DENIED': {
      const why = typeof msg.msg === 'string' ? msg.msg : lastNodeError;
      fail(`join denied${why ? `: ${why}` : ''}`);
      break;
    }
    case 'END':
      log('meeting ended by the host');
      parley.ended = true;
      ui.notice.textContent = 'meeting ended';
      ui.notice.hidden = false;
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

// A join token: the one given, else one from the node's /dev/token (only served with
// --dev-token-endpoint), else none (the node will say why it denies the join).
async function fetchToken(meetingId, accountId, role) {
  const q = new URLSearchParams({ meeting: meetingId, account: accountId, role });
  try {
    const resp = await fetch(`/dev/token?${q}`, { cache: 'no-store' });
    if (!resp.ok) {
      log(`no token given and /dev/token answered ${resp.status}`);
      return '';
    }
    const body = await resp.json();
    if (typeof body.token !== 'string' || !body.token) {
      log('/dev/token answered without a token');
      return '';
    }
    log(`got a ${role} token from /dev/token`);
    return body.token;
  } catch (e) {
    log(`no token given and /dev/token failed: ${e.message}`);
    return '';
  }
}

// options: {host: INIT instead of JOIN, token, autosub, width, height, simulcast, codec, degradation, bitrate,
// signalingUrl (default ws(s)://this host/ws), announce + name (state messages, see the top),
// muted / cameraOff (start with the microphone / camera off: a reconnect keeps them)}
// Offers only one video codec (and RTX) on a transceiver: H.264 packetization-mode=1
// (constrained baseline first) or VP9 profile 0.
function preferCodec(tr, codec) {
  const caps = RTCRtpSender.getCapabilities('video');
  if (!caps || !tr.setCodecPreferences) return;
  let pick = [];
  if (codec === 'h264') {
    pick = caps.codecs.filter((c) => c.mimeType === 'video/H264' && /packetization-mode=1/.test(c.sdpFmtpLine || ''));
    pick.sort((a, b) => /42e01f/.test(b.sdpFmtpLine) - /42e01f/.test(a.sdpFmtpLine));
  } else if (codec === 'vp9') {
    pick = caps.codecs.filter((c) => c.mimeType === 'video/VP9' && !/profile-id=[123]/.test(c.sdpFmtpLine || ''));
  }
  const rtx = caps.codecs.filter((c) => c.mimeType === 'video/rtx');
  if (pick.length) tr.setCodecPreferences([...pick, ...rtx]);
}

async function join(meetingId, accountId, slots = DEFAULT_SLOTS, options = {}) {
  if (parley.state === 'joining' || parley.state === 'connected') return;
  const mySession = ++session;
  const { host = false, autosub = true, width = 640, height = 480, simulcast = false, codec = '',
    degradation = '' } = options;
  announce = !!options.announce;
  if (options.bitrate) parley.subBitrate = options.bitrate;
  answered = false;
  offerSent = false;
  offerOut = false;
  pendingSubs = [];
  lastNodeError = '';
  slotCount = slots;
  Object.assign(parley, {
    meetingId, accountId, isHost: host, autosub, slots: {}, users: [], subscribed: [], pc: null,
    ws: null, recording: false, activeSpeaker: null, ended: false, chat: [], chatOpen: false,
    peers: {}, muted: !!options.muted, cameraOff: !!options.cameraOff, displayName: options.name || '',
    signalingUrl: options.signalingUrl || '',
  });
  ui.errors.replaceChildren();
  ui.gallery.replaceChildren();
  ui.chatLog.replaceChildren();
  if (ui.form) ui.form.hidden = true;
  ui.gallery.hidden = false;
  ui.chat.hidden = false;
  ui.leave.hidden = false;
  ui.end.hidden = !host;
  ui.recording.hidden = true;
  ui.notice.hidden = true;
  ui.title.textContent = meetingId;
  setState('joining', 'camera and microphone');

  const tokenReady = options.token
    ? Promise.resolve(options.token)
    : fetchToken(meetingId, accountId, host ? 'host' : 'participant');

  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: { width, height } });
  } catch (e) {
    if (mySession === session) fail(`camera/microphone unavailable: ${e.name}: ${e.message}`);
    return;
  }
  if (mySession !== session) { stream.getTracks().forEach((t) => t.stop()); return; }
  parley.localStream = stream;
  for (const t of stream.getAudioTracks()) t.enabled = !parley.muted;
  for (const t of stream.getVideoTracks()) t.enabled = !parley.cameraOff;
  showSelf(stream);

  const pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle', rtcpMuxPolicy: 'require' });
  parley.pc = pc;
  const [mic] = stream.getAudioTracks();
  const [cam] = stream.getVideoTracks();
  pc.addTransceiver(mic || 'audio', { direction: 'sendonly', streams: [stream] });
  // Simulcast: three encodings, lowest first (the node takes the rids in this order).
  const sendEncodings = simulcast ? [
    { rid: 'q', scaleResolutionDownBy: 4, maxBitrate: 150000 },
    { rid: 'h', scaleResolutionDownBy: 2, maxBitrate: 500000 },
    { rid: 'f', maxBitrate: 2500000 },
  ] : undefined;
  const camTr = pc.addTransceiver(cam || 'video', { direction: 'sendonly', streams: [stream], sendEncodings });
  openChat(pc);
  if (codec) preferCodec(camTr, codec);
  cameraSender = camTr.sender;
  degradationWanted = degradation;
  for (let i = 0; i < slots; i++) {
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

  const token = await tokenReady;
  if (mySession !== session) return;
  setState('joining', 'signaling');
  const url = parley.signalingUrl || `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`;
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
    const withToken = token ? { token } : {};
    if (host) send({ content_type: 'INIT', host: accountId, ...withToken });
    else send({ content_type: 'JOIN', account_id: accountId, ...withToken });
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
  parley.recording = false;
  ui.recording.hidden = true;
  ui.leave.hidden = true;
  ui.end.hidden = true;
  if (ui.form) ui.form.hidden = false;
  ui.gallery.replaceChildren();
  ui.gallery.hidden = true;
  ui.chat.hidden = true;
  chatChannel = null;
  clearInterval(stateTimer);
  parley.chatOpen = false;
  ui.title.textContent = '';
  if (parley.onTeardown) parley.onTeardown();
}

function leave() {
  if (parley.state !== 'joining' && parley.state !== 'connected') return;
  send({ content_type: 'LEAVE', account_id: parley.accountId });
  session++;
  setState('closed', 'left');
  teardown();
}

// ---- page wiring ----------------------------------------------------------------------------

function intParam(value, fallback, lo, hi) {
  const n = Number.parseInt(value ?? '', 10);
  if (!Number.isFinite(n)) return fallback;
  return Math.min(hi, Math.max(lo, n));
}

function slotCountFrom(value) {
  const n = Number.parseInt(value ?? '', 10);
  if (!Number.isFinite(n)) return DEFAULT_SLOTS;
  return Math.min(MAX_SLOTS, Math.max(0, n));
}

const params = new URLSearchParams(location.search);
if (ui.form) wireNodePage();

// The node-served page (index.html): its join form and URL parameters.
function wireNodePage() {
  const urlSlots = slotCountFrom(params.get('slots'));
  const urlOptions = {
    token: params.get('token') ?? '',
    autosub: params.get('autosub') !== '0',
    simulcast: params.get('simulcast') === '1',
    codec: ['h264', 'vp9'].includes(params.get('codec')) ? params.get('codec') : '',
    degradation: ['maintain-resolution', 'maintain-framerate', 'balanced'].includes(params.get('degradation'))
      ? params.get('degradation') : '',
    bitrate: intParam(params.get('bitrate'), SUB_BITRATE, 0, 100000000),
    width: intParam(params.get('width'), 640, 16, 3840),
    height: intParam(params.get('height'), 480, 16, 2160),
  };
  ui.form.meeting.value = params.get('meeting') ?? '';
  ui.form.name.value = params.get('name') ?? '';
  ui.form.host.checked = params.get('host') === '1';

  ui.form.addEventListener('submit', (e) => {
    e.preventDefault();
    const meeting = ui.form.meeting.value.trim();
    const name = ui.form.name.value.trim();
    if (!meeting || !name) return;
    // The URL's token is only good for the URL's meeting and name (and role).
    const host = ui.form.host.checked;
    const sameAsUrl = meeting === (params.get('meeting') ?? '').trim() && name === (params.get('name') ?? '').trim() &&
      host === (params.get('host') === '1');
    join(meeting, name, urlSlots, { ...urlOptions, host, token: sameAsUrl ? urlOptions.token : '' });
  });

  if (params.get('autojoin') === '1') {
    const meeting = (params.get('meeting') ?? '').trim();
    const name = (params.get('name') ?? '').trim();
    if (meeting && name) join(meeting, name, urlSlots, { ...urlOptions, host: params.get('host') === '1' });
    else showError('autojoin needs both ?meeting= and ?name=');
  }
}

ui.leave.addEventListener('click', leave);
ui.end.addEventListener('click', endMeeting);
window.addEventListener('pagehide', () => {
  if (parley.state === 'joining' || parley.state === 'connected') leave();
});
