// video.js — the video wall: one WHEP player per stream the relay offers. Any standard WHEP endpoint
// works: POST an SDP offer, get 201 with the answer and a Location, DELETE the Location to stop.

import { getStreams } from './api.js';
import { el, num } from './format.js';

const POLL_MS = 5000;
const GATHER_TIMEOUT_MS = 1500;
const POST_TIMEOUT_MS = 10000;
const MIN_BACKOFF_MS = 1000;
const MAX_BACKOFF_MS = 15000;
const STALL_MS = 6000; // no new decoded frame for this long on a live session: reconnect

/**
 * WhepPlayer plays one WHEP endpoint into a <video>. It reconnects by itself after any failure, with
 * back-off, or after the Retry-After the server gives while the source is offline.
 * onState(state, detail): state is 'connecting', 'live', 'offline', 'error' or 'stopped'.
 */
export class WhepPlayer {
  constructor(endpoint, video, onState) {
    this.endpoint = endpoint;
    this.video = video;
    this.onState = onState;
    this.pc = null;
    this.location = null;
    this.timer = 0;
    this.watchdog = 0;
    this.backoffMs = MIN_BACKOFF_MS;
    this.stopped = true;
    this.attempt = 0;
    this.framesDecoded = 0;
    this.lastFrameAt = 0;
    this.state = 'stopped';
  }

  start() {
    this.stopped = false;
    this.connect();
  }

  setState(state, detail = '') {
    this.state = state;
    this.onState(state, detail);
  }

  /** Ends the session now and tries again at once (the "retry" button). */
  retry() {
    if (this.stopped) return;
    this.teardown();
    this.backoffMs = MIN_BACKOFF_MS;
    this.connect();
  }

  async connect() {
    clearTimeout(this.timer);
    const attempt = ++this.attempt;
    this.setState('connecting');
    let pc;
    try {
      pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle' });
    } catch (err) {
      this.fail(`WebRTC unavailable: ${err.message}`);
      return;
    }
    this.pc = pc;
    const stream = new MediaStream();
    pc.addTransceiver('video', { direction: 'recvonly' });
    pc.addTransceiver('audio', { direction: 'recvonly' });
    pc.ontrack = (ev) => {
      lowLatency(ev.receiver);
      stream.addTrack(ev.track);
      if (this.video.srcObject !== stream) this.video.srcObject = stream;
      this.video.play().catch(() => {}); // muted autoplay is allowed; a refusal shows as no frames
    };
    pc.onconnectionstatechange = () => {
      if (this.pc !== pc) return;
      const st = pc.connectionState;
      if (st === 'failed' || st === 'closed') this.fail(`connection ${st}`);
      else if (st === 'disconnected') {
        // ICE often recovers from a short outage by itself; give it a moment.
        setTimeout(() => {
          if (this.pc === pc && pc.connectionState === 'disconnected') this.fail('connection lost');
        }, 3000);
      }
    };
    try {
      await pc.setLocalDescription(await pc.createOffer());
      await gatheringComplete(pc, GATHER_TIMEOUT_MS);
      if (attempt !== this.attempt) return;
      const ctl = new AbortController();
      const t = setTimeout(() => ctl.abort(), POST_TIMEOUT_MS);
      let resp;
      try {
        resp = await fetch(this.endpoint, {
          method: 'POST',
          headers: { 'Content-Type': 'application/sdp' },
          body: pc.localDescription.sdp,
          signal: ctl.signal,
        });
      } finally {
        clearTimeout(t);
      }
      if (attempt !== this.attempt) return;
      if (resp.status !== 201) {
        const text = (await resp.text()).trim();
        const retryAfter = Number(resp.headers.get('Retry-After'));
        if (resp.status === 409 || resp.status === 503) {
          // The source is offline (or the relay full): wait as long as the server asks.
          this.teardown();
          this.setState('offline', text);
          this.schedule(Number.isFinite(retryAfter) && retryAfter > 0 ? Math.min(retryAfter, 30) * 1000 : this.nextBackoff());
          return;
        }
        throw new Error(`HTTP ${resp.status}${text ? `: ${text}` : ''}`);
      }
      const loc = resp.headers.get('Location');
      this.location = loc ? new URL(loc, new URL(this.endpoint, location.href)).href : null;
      const ice = iceServersFromLinks(resp.headers.get('Link'));
      if (ice.length > 0) pc.setConfiguration({ ...pc.getConfiguration(), iceServers: ice });
      await pc.setRemoteDescription({ type: 'answer', sdp: await resp.text() });
      for (const r of pc.getReceivers()) lowLatency(r);
      this.lastFrameAt = Date.now();
      this.framesDecoded = 0;
      this.watch(pc);
    } catch (err) {
      if (attempt === this.attempt) this.fail(err.name === 'AbortError' ? 'offer timed out' : err.message);
    }
  }

  /** Checks decoded frames every second: live when they advance, a reconnect when they stall. */
  watch(pc) {
    clearInterval(this.watchdog);
    this.watchdog = setInterval(async () => {
      if (this.pc !== pc) return;
      let frames = 0;
      try {
        const stats = await pc.getStats();
        stats.forEach((r) => {
          if (r.type === 'inbound-rtp' && r.kind === 'video') frames = Math.max(frames, r.framesDecoded || 0);
        });
      } catch {
        return;
      }
      if (this.pc !== pc) return;
      const now = Date.now();
      if (frames > this.framesDecoded) {
        this.framesDecoded = frames;
        this.lastFrameAt = now;
        if (this.state !== 'live') {
          this.backoffMs = MIN_BACKOFF_MS;
          this.setState('live');
        }
      } else if (now - this.lastFrameAt > STALL_MS) {
        this.fail(this.state === 'live' ? 'video stalled' : 'no video arrived');
      }
    }, 1000);
  }

  fail(reason) {
    if (this.stopped) return;
    this.teardown();
    this.setState('error', reason);
    this.schedule(this.nextBackoff());
  }

  nextBackoff() {
    const wait = this.backoffMs * (0.8 + Math.random() * 0.4);
    this.backoffMs = Math.min(this.backoffMs * 2, MAX_BACKOFF_MS);
    return Math.round(wait);
  }

  schedule(ms) {
    clearTimeout(this.timer);
    if (!this.stopped) this.timer = setTimeout(() => this.connect(), ms);
  }

  /** Closes the peer connection and ends the server session. keepalive lets the DELETE outlive the page. */
  teardown(keepalive = false) {
    this.attempt++;
    clearInterval(this.watchdog);
    if (this.location) {
      fetch(this.location, { method: 'DELETE', keepalive }).catch(() => {});
      this.location = null;
    }
    if (this.pc) {
      this.pc.onconnectionstatechange = null;
      this.pc.ontrack = null;
      this.pc.close();
      this.pc = null;
    }
  }

  stop(keepalive = false) {
    this.stopped = true;
    clearTimeout(this.timer);
    this.teardown(keepalive);
    this.video.srcObject = null;
    this.setState('stopped');
  }
}

/** Asks the browser to play as soon as it can (Cockpit does the same): latency over smoothness. */
function lowLatency(receiver) {
  if ('jitterBufferTarget' in receiver) receiver.jitterBufferTarget = 0;
  else if ('playoutDelayHint' in receiver) receiver.playoutDelayHint = 0;
}

function gatheringComplete(pc, timeoutMs) {
  if (pc.iceGatheringState === 'complete') return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(done, timeoutMs);
    function done() {
      clearTimeout(t);
      pc.removeEventListener('icegatheringstatechange', check);
      resolve();
    }
    function check() {
      if (pc.iceGatheringState === 'complete') done();
    }
    pc.addEventListener('icegatheringstatechange', check);
  });
}

/** Parses WHEP Link headers with rel="ice-server" (STUN/TURN the server's configuration names). */
export function iceServersFromLinks(header) {
  if (!header) return [];
  const out = [];
  for (const part of header.split(/,(?=\s*<)/)) {
    const m = part.match(/<([^>]+)>(.*)/);
    if (!m || !/rel="?ice-server"?/.test(m[2])) continue;
    const server = { urls: m[1] };
    const user = m[2].match(/username="([^"]*)"/);
    const cred = m[2].match(/credential="([^"]*)"/);
    if (user) server.username = user[1];
    if (cred) server.credential = cred[1];
    out.push(server);
  }
  return out;
}

/** The WHEP endpoint of a stream: the relay says where; otherwise the conventional path. */
function endpointOf(s) {
  if (s.whep) return s.whep;
  return `/api/v1/streams/${s.name.split('/').map(encodeURIComponent).join('/')}/whep`;
}

/** VideoWall lays the streams out in a grid and keeps one player per stream. */
export class VideoWall {
  constructor(root, { onCount } = {}) {
    this.root = root;
    this.empty = root.querySelector('#video-empty');
    this.note = document.getElementById('video-note');
    this.onCount = onCount || (() => {});
    this.tiles = new Map(); // name -> {tile, player, info, badge, overlay}
    this.enlarged = null;
    this.timer = 0;
    this.error = '';
    root.addEventListener('click', (e) => this.click(e));
    document.addEventListener('keydown', (e) => {
      if (e.key === 'Escape' && this.enlarged) this.enlarge(null);
    });
  }

  start() {
    this.poll();
  }

  async poll() {
    clearTimeout(this.timer);
    try {
      this.update(await getStreams());
      this.error = '';
    } catch (err) {
      this.error = `stream list unavailable: ${err.message}`;
    }
    this.note.textContent = this.error;
    this.timer = setTimeout(() => this.poll(), POLL_MS);
  }

  update(streams) {
    const names = new Set(streams.map((s) => s.name));
    for (const [name, t] of this.tiles) {
      if (names.has(name)) continue;
      t.player.stop();
      t.tile.remove();
      this.tiles.delete(name);
      if (this.enlarged === name) this.enlarged = null;
    }
    for (const s of streams) {
      let t = this.tiles.get(s.name);
      if (!t) {
        t = this.createTile(s);
        this.tiles.set(s.name, t);
        this.root.append(t.tile);
        t.player.start();
      }
      t.meta = s;
      this.updateTile(t);
    }
    this.empty.hidden = streams.length > 0;
    const n = this.enlarged ? 1 : streams.length;
    const cols = n <= 1 ? 1 : n <= 4 ? 2 : n <= 9 ? 3 : 4;
    this.root.style.setProperty('--cols', String(cols));
    this.root.classList.toggle('has-enlarged', Boolean(this.enlarged));
    this.onCount(streams.length);
  }

  createTile(s) {
    const tile = el('figure', 'tile');
    tile.dataset.stream = s.name;
    const video = el('video');
    video.autoplay = true;
    video.muted = true;
    video.playsInline = true;
    video.setAttribute('playsinline', '');
    video.setAttribute('aria-label', `Live video ${s.name}`);
    const overlay = el('div', 'tile-overlay');
    const cap = el('figcaption', 'tile-caption');
    const name = el('span', 'tile-name', s.name);
    const vehicle = el('span', 'tile-vehicle');
    const badge = el('span', 'badge');
    const info = el('div', 'tile-info');
    const retry = el('button', 'tile-retry', 'Retry now');
    retry.type = 'button';
    retry.dataset.action = 'retry';
    retry.title = 'Reconnect now';
    retry.setAttribute('aria-label', `Reconnect ${s.name} now`);
    const big = el('button', 'tile-enlarge', '⤢');
    big.type = 'button';
    big.dataset.action = 'enlarge';
    cap.append(badge, name, vehicle, el('span', 'tile-spacer'), big);
    const overlayHead = el('strong');
    const overlayDetail = el('span', 'tile-detail');
    overlay.replaceChildren(overlayHead, overlayDetail, retry);
    tile.append(video, overlay, cap, info);
    const t = { tile, video, overlay, overlayHead, overlayDetail, badge, info, vehicle, retry, big, meta: s, playerState: 'connecting', detail: '' };
    t.player = new WhepPlayer(endpointOf(s), video, (state, detail) => {
      t.playerState = state;
      t.detail = detail;
      this.updateTile(t);
    });
    return t;
  }

  updateTile(t) {
    const s = t.meta;
    // The relay's view of the source wins over the player's: an offline camera is offline, whatever
    // this browser's session is doing.
    let state = t.playerState === 'live' ? 'live' : 'connecting';
    let detail = t.detail;
    if (s.state === 'offline') {
      state = 'offline';
      detail = s.last_error || detail || 'source offline';
    } else if (t.playerState === 'offline' || t.playerState === 'error') {
      state = t.playerState === 'error' ? 'retrying' : 'offline';
    }
    t.tile.dataset.state = state;
    t.badge.className = `badge badge-${state}`;
    t.badge.textContent = state.toUpperCase();
    t.vehicle.textContent = s.vehicle_system_id ? `V${s.vehicle_system_id}` : '';
    t.vehicle.title = s.vehicle_system_id ? `Camera on vehicle ${s.vehicle_system_id}` : 'Not on a vehicle';
    const parts = [];
    if (s.width && s.height) parts.push(`${s.width}×${s.height}`);
    if (s.fps) parts.push(`${num(s.fps, 0)} fps`);
    if (s.bitrate_bps) parts.push(`${num(s.bitrate_bps / 1e6, 1)} Mb/s`);
    if (Number.isFinite(s.readers)) parts.push(`${s.readers} reader${s.readers === 1 ? '' : 's'}`);
    t.info.textContent = parts.join(' · ');
    t.overlay.hidden = state === 'live';
    if (state !== 'live') {
      const head = state === 'connecting' ? 'Connecting…' : state === 'retrying' ? 'Reconnecting…' : 'Source offline — retrying';
      t.overlayHead.textContent = head;
      t.overlayDetail.textContent = detail;
      t.overlayDetail.title = detail;
    }
    t.retry.hidden = state === 'connecting';
    const big = this.enlarged === s.name;
    t.big.textContent = big ? '⤡' : '⤢';
    t.big.title = big ? 'Back to the wall' : 'Enlarge';
    t.big.setAttribute('aria-label', `${big ? 'Shrink' : 'Enlarge'} ${s.name}`);
    t.tile.classList.toggle('enlarged', this.enlarged === s.name);
  }

  click(e) {
    const b = e.target.closest('button[data-action]');
    if (!b) return;
    const name = b.closest('.tile').dataset.stream;
    const t = this.tiles.get(name);
    if (!t) return;
    if (b.dataset.action === 'retry') t.player.retry();
    if (b.dataset.action === 'enlarge') this.enlarge(this.enlarged === name ? null : name);
  }

  enlarge(name) {
    this.enlarged = name;
    this.update([...this.tiles.values()].map((t) => t.meta));
  }

  /** Ends every session; on page unload the DELETEs are sent with keepalive so they still arrive. */
  stopAll(keepalive) {
    clearTimeout(this.timer);
    for (const t of this.tiles.values()) t.player.stop(keepalive);
  }
}
