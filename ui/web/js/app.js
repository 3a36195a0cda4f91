// app.js — wires the parts together: the live socket feeds the store, the store's changes redraw the
// views (at most once per animation frame), and a one-second tick ages everything so data that stops
// arriving looks stale even when nothing else happens.

import { LiveSocket } from './api.js';
import { Controls } from './controls.js';
import { FleetList } from './fleet.js';
import { clockTime, utcTime } from './format.js';
import { EventLog } from './log.js';
import { MapView } from './map.js';
import { FleetStore } from './store.js';
import { VideoWall } from './video.js';

const $ = (id) => document.getElementById(id);

function main() {
  const store = new FleetStore();
  const log = new EventLog($('log'));
  const map = new MapView($('map'), store);
  const fleet = new FleetList($('fleet'), store);
  const controls = new Controls($('controls'), store, map, log);
  const wall = new VideoWall($('video-wall'), { onCount: (n) => { $('stream-count').textContent = String(n); } });

  let frame = 0;
  const redraw = () => {
    if (frame) return;
    frame = requestAnimationFrame(() => {
      frame = 0;
      const now = Date.now();
      map.render(now);
      fleet.render(now);
      controls.render();
      renderCounts(store, now);
    });
  };
  store.subscribe(redraw);

  const socket = new LiveSocket({
    onStates: (msg, full) => store.applyStates(msg, full),
    onEvent: (msg) => log.addEvent(msg),
    onStatus: (st) => {
      store.setConnected(st.state === 'connected');
      renderConnection(st);
      if (st.state === 'reconnecting' && st.reason) {
        log.add({ text: `live connection: ${st.reason}; retrying in ${(st.retryInMs / 1000).toFixed(1)} s`, cls: 'sev-warn', kind: 'connection' });
      } else if (st.state === 'connected') {
        log.add({ text: 'live connection established', cls: 'ok', kind: 'connection' });
      }
    },
  });

  const tick = () => {
    const now = new Date();
    $('clock-local').textContent = clockTime(now);
    $('clock-utc').textContent = `UTC ${utcTime(now)}`;
    redraw();
  };
  setInterval(tick, 1000);
  tick();

  socket.start();
  wall.start();
  window.addEventListener('pagehide', () => {
    socket.stop();
    wall.stopAll(true);
  });
}

function renderConnection(st) {
  const conn = $('conn');
  const text = $('conn-text');
  const banner = $('stale-banner');
  conn.className = `conn conn-${st.state}`;
  conn.dataset.state = st.state;
  if (st.state === 'connected') {
    text.textContent = 'LIVE';
    banner.hidden = true;
    return;
  }
  text.textContent = st.state === 'connecting' ? 'CONNECTING' : 'RECONNECTING';
  // A first connection attempt is not an outage; every later one is. The banner sits in the header, so
  // nothing under the pilot's pointer moves when it appears.
  banner.hidden = st.state === 'connecting' && !st.reason;
  $('stale-banner-detail').textContent = st.retryInMs > 0 ? `retry in ${(st.retryInMs / 1000).toFixed(1)} s` : 'reconnecting…';
  banner.title = st.reason ? `Live connection: ${st.reason}` : '';
}

function renderCounts(store, now) {
  let airborne = 0;
  let lost = 0;
  for (const rec of store.vehicles.values()) {
    if (rec.state.armed && rec.state.alt_rel_m > 1) airborne++;
    if (store.staleReason(rec, now)) lost++;
  }
  $('vehicle-count').textContent = String(store.vehicles.size);
  $('airborne-count').textContent = String(airborne);
  const lostEl = $('lost-count');
  lostEl.textContent = String(lost);
  lostEl.className = lost > 0 ? 'alert-count' : '';
}

main();
