// map.js — the fleet on a map without tiles. Positions are projected on a local tangent plane around
// a fixed origin (the fleet's centre when first seen): x metres east, y metres north. Over the few
// kilometres a fleet spans the error of this flat projection is far below GPS noise, and it needs
// nothing from the network.

import { distance, latLon, num, age } from './format.js';

// The SVG namespace is an identifier, never fetched.
const SVG_NS = 'http://www.w3.org/2000/svg';
const EARTH_RADIUS_M = 6371008.8;
const RAD = Math.PI / 180;
const CLICK_SLOP_PX = 5;
const HIT_RADIUS_PX = 22;
const MIN_FIT_SPAN_M = 60;

function svg(tag, attrs = {}, cls = '') {
  const e = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (cls) e.setAttribute('class', cls);
  return e;
}

/** niceStep rounds up to 1, 2 or 5 times a power of ten: grid spacing and scale bar lengths. */
export function niceStep(m) {
  const p = 10 ** Math.floor(Math.log10(m));
  for (const f of [1, 2, 5, 10]) if (f * p >= m) return f * p;
  return 10 * p;
}

/** The identity colour class of a vehicle, the same in the map and the fleet list. */
export function colourClass(state) {
  let n = state.system_id - 1;
  for (const ch of state.network || '') n += ch.charCodeAt(0);
  return `vc-${((n % 8) + 8) % 8}`;
}

export class MapView {
  /**
   * root is the map container (#map); store the FleetStore. The view is north-up; centre is in
   * metres from the origin, scale in pixels per metre.
   */
  constructor(root, store) {
    this.root = root;
    this.store = store;
    this.svgEl = root.querySelector('#map-svg');
    this.layers = {
      grid: root.querySelector('#map-grid'),
      trails: root.querySelector('#map-trails'),
      homes: root.querySelector('#map-homes'),
      targets: root.querySelector('#map-targets'),
      vehicles: root.querySelector('#map-vehicles'),
    };
    this.scaleBar = root.querySelector('#map-scale-bar');
    this.scaleText = root.querySelector('#map-scale-text');
    this.cursorText = root.querySelector('#map-cursor');
    this.pickHint = root.querySelector('#map-pick-hint');
    this.fitButton = root.querySelector('#map-fit');
    this.origin = null;
    this.centre = { x: 0, y: 0 };
    this.scale = 2;
    this.width = 1;
    this.height = 1;
    this.follow = true; // keep the fleet in view until the pilot pans or zooms
    this.pick = null; // callback while "go here" waits for a click
    this.drag = null;
    this.gridKey = '';
    this.elements = new Map(); // ref -> {g, trail, home, target, line}
    this.bindEvents();
    new ResizeObserver(() => this.resize()).observe(root);
    this.resize();
  }

  resize() {
    const r = this.svgEl.getBoundingClientRect();
    this.width = Math.max(1, r.width);
    this.height = Math.max(1, r.height);
    this.gridKey = '';
    this.render();
  }

  // ---- projection --------------------------------------------------------------------------

  project(lat, lon) {
    const o = this.origin;
    return {
      x: (lon - o.lon) * RAD * Math.cos(o.lat * RAD) * EARTH_RADIUS_M,
      y: (lat - o.lat) * RAD * EARTH_RADIUS_M,
    };
  }

  unproject(x, y) {
    const o = this.origin;
    return {
      lat: o.lat + y / EARTH_RADIUS_M / RAD,
      lon: o.lon + x / (EARTH_RADIUS_M * Math.cos(o.lat * RAD)) / RAD,
    };
  }

  toScreen(p) {
    return {
      x: this.width / 2 + (p.x - this.centre.x) * this.scale,
      y: this.height / 2 - (p.y - this.centre.y) * this.scale,
    };
  }

  fromScreen(sx, sy) {
    return {
      x: this.centre.x + (sx - this.width / 2) / this.scale,
      y: this.centre.y - (sy - this.height / 2) / this.scale,
    };
  }

  /** Sets the origin once, from the vehicles' positions (or homes) when first seen. */
  ensureOrigin() {
    if (this.origin) return true;
    const pts = [];
    for (const rec of this.store.vehicles.values()) {
      const s = rec.state;
      if (s.has_position) pts.push([s.lat_deg, s.lon_deg]);
      else if (s.home) pts.push([s.home.lat_deg, s.home.lon_deg]);
    }
    if (pts.length === 0) return false;
    const lat = pts.reduce((a, p) => a + p[0], 0) / pts.length;
    const lon = pts.reduce((a, p) => a + p[1], 0) / pts.length;
    this.origin = { lat, lon };
    return true;
  }

  // ---- view changes ------------------------------------------------------------------------

  /** Fits every vehicle and home in view and follows the fleet from now on. */
  fit() {
    this.follow = true;
    this.fitTo(this.fleetBounds(), true);
  }

  fleetBounds() {
    if (!this.ensureOrigin()) return null;
    let minX = Infinity, minY = Infinity, maxX = -Infinity, maxY = -Infinity;
    const add = (lat, lon) => {
      const p = this.project(lat, lon);
      minX = Math.min(minX, p.x); maxX = Math.max(maxX, p.x);
      minY = Math.min(minY, p.y); maxY = Math.max(maxY, p.y);
    };
    for (const rec of this.store.vehicles.values()) {
      const s = rec.state;
      if (s.has_position) add(s.lat_deg, s.lon_deg);
      if (s.home) add(s.home.lat_deg, s.home.lon_deg);
    }
    return Number.isFinite(minX) ? { minX, minY, maxX, maxY } : null;
  }

  fitTo(b, zoomIn) {
    if (!b) return;
    const spanX = Math.max(b.maxX - b.minX, MIN_FIT_SPAN_M);
    const spanY = Math.max(b.maxY - b.minY, MIN_FIT_SPAN_M);
    const scale = Math.min(this.width / (spanX * 1.4), this.height / (spanY * 1.4));
    this.centre = { x: (b.minX + b.maxX) / 2, y: (b.minY + b.maxY) / 2 };
    if (zoomIn || scale < this.scale) this.scale = scale;
    this.updateFitButton();
    this.render();
  }

  /** While following, re-fits only when a vehicle nears the edge, so the view does not swim. */
  keepFleetInView() {
    const b = this.fleetBounds();
    if (!b) return;
    const margin = 30;
    const tl = this.toScreen({ x: b.minX, y: b.maxY });
    const br = this.toScreen({ x: b.maxX, y: b.minY });
    if (tl.x < margin || tl.y < margin || br.x > this.width - margin || br.y > this.height - margin) {
      this.fitTo(b, false);
    }
  }

  zoomBy(factor, sx = this.width / 2, sy = this.height / 2) {
    const before = this.fromScreen(sx, sy);
    this.scale = Math.min(200, Math.max(0.002, this.scale * factor));
    const after = this.fromScreen(sx, sy);
    this.centre.x += before.x - after.x;
    this.centre.y += before.y - after.y;
    this.stopFollowing();
    this.render();
  }

  stopFollowing() {
    this.follow = false;
    this.updateFitButton();
  }

  updateFitButton() {
    this.fitButton.setAttribute('aria-pressed', String(this.follow));
  }

  /** Waits for a click on the map and calls cb({lat, lon}); Esc or cancelPick() ends it. */
  startPick(cb) {
    this.pick = cb;
    this.root.classList.add('picking');
    this.pickHint.hidden = false;
  }

  cancelPick() {
    this.pick = null;
    this.root.classList.remove('picking');
    this.pickHint.hidden = true;
  }

  // ---- input -------------------------------------------------------------------------------

  bindEvents() {
    const s = this.svgEl;
    s.addEventListener('pointerdown', (e) => {
      if (e.button !== 0) return;
      s.setPointerCapture(e.pointerId);
      this.drag = { x: e.clientX, y: e.clientY, cx: this.centre.x, cy: this.centre.y, moved: false };
    });
    s.addEventListener('pointermove', (e) => {
      this.showCursor(e);
      const d = this.drag;
      if (!d) return;
      const dx = e.clientX - d.x;
      const dy = e.clientY - d.y;
      if (!d.moved && Math.hypot(dx, dy) < CLICK_SLOP_PX) return;
      if (!d.moved) this.stopFollowing();
      d.moved = true;
      this.centre = { x: d.cx - dx / this.scale, y: d.cy + dy / this.scale };
      this.render();
    });
    s.addEventListener('pointerup', (e) => {
      const d = this.drag;
      this.drag = null;
      if (!d || d.moved) return;
      this.click(e);
    });
    s.addEventListener('pointercancel', () => { this.drag = null; });
    s.addEventListener('pointerleave', () => { this.cursorText.textContent = ''; });
    s.addEventListener('wheel', (e) => {
      e.preventDefault();
      const r = s.getBoundingClientRect();
      this.zoomBy(Math.exp(-e.deltaY * 0.0015), e.clientX - r.left, e.clientY - r.top);
    }, { passive: false });
    this.root.querySelector('#map-zoom-in').addEventListener('click', () => this.zoomBy(1.5));
    this.root.querySelector('#map-zoom-out').addEventListener('click', () => this.zoomBy(1 / 1.5));
    this.fitButton.addEventListener('click', () => this.fit());
  }

  showCursor(e) {
    if (!this.origin) return;
    const r = this.svgEl.getBoundingClientRect();
    const p = this.fromScreen(e.clientX - r.left, e.clientY - r.top);
    const ll = this.unproject(p.x, p.y);
    this.cursorText.textContent = latLon(ll.lat, ll.lon);
  }

  click(e) {
    const r = this.svgEl.getBoundingClientRect();
    const sx = e.clientX - r.left;
    const sy = e.clientY - r.top;
    if (this.pick && this.origin) {
      const p = this.fromScreen(sx, sy);
      const cb = this.pick;
      this.cancelPick();
      cb(this.unproject(p.x, p.y));
      return;
    }
    // Hit-test on positions rather than on SVG elements, which are redrawn many times a second.
    let best = null;
    let bestD = HIT_RADIUS_PX;
    for (const [ref, rec] of this.store.vehicles) {
      const st = rec.state;
      if (!st.has_position || !this.origin) continue;
      const p = this.toScreen(this.project(st.lat_deg, st.lon_deg));
      const d = Math.hypot(p.x - sx, p.y - sy);
      if (d < bestD) { best = ref; bestD = d; }
    }
    if (best) this.store.select(best);
  }

  // ---- drawing -----------------------------------------------------------------------------

  render(now = Date.now()) {
    if (!this.ensureOrigin()) return;
    if (this.follow && !this.fittedOnce) {
      this.fittedOnce = true;
      this.fitTo(this.fleetBounds(), true);
      return;
    }
    if (this.follow) this.keepFleetInView();
    this.drawGrid();
    this.drawVehicles(now);
  }

  drawGrid() {
    const step = niceStep(70 / this.scale);
    const key = `${this.width}x${this.height}@${this.scale}:${this.centre.x},${this.centre.y}`;
    if (key !== this.gridKey) {
      this.gridKey = key;
      const g = this.layers.grid;
      g.replaceChildren();
      const tl = this.fromScreen(0, 0);
      const br = this.fromScreen(this.width, this.height);
      for (let x = Math.ceil(tl.x / step) * step; x <= br.x; x += step) {
        const sx = this.toScreen({ x, y: 0 }).x;
        const major = Math.abs(Math.round(x / step)) % 5 === 0;
        g.append(svg('line', { x1: sx, y1: 0, x2: sx, y2: this.height }, major ? 'grid-major' : 'grid-minor'));
      }
      for (let y = Math.ceil(br.y / step) * step; y <= tl.y; y += step) {
        const sy = this.toScreen({ x: 0, y }).y;
        const major = Math.abs(Math.round(y / step)) % 5 === 0;
        g.append(svg('line', { x1: 0, y1: sy, x2: this.width, y2: sy }, major ? 'grid-major' : 'grid-minor'));
      }
      const barM = niceStep(110 / this.scale);
      this.scaleBar.style.width = `${Math.round(barM * this.scale)}px`;
      this.scaleText.textContent = `${distance(barM)} · grid ${distance(step)}`;
    }
  }

  drawVehicles(now) {
    const seen = new Set();
    for (const [ref, rec] of this.store.vehicles) {
      const s = rec.state;
      if (!s.has_position && !s.home) continue;
      seen.add(ref);
      let els = this.elements.get(ref);
      if (!els) {
        els = this.createVehicle(ref);
        this.elements.set(ref, els);
      }
      this.updateVehicle(els, rec, now);
    }
    // The selected vehicle is drawn last, on top of the others.
    const sel = this.elements.get(this.store.selected);
    if (sel && this.layers.vehicles.lastChild !== sel.g) this.layers.vehicles.append(sel.g);
    for (const [ref, els] of this.elements) {
      if (seen.has(ref)) continue;
      for (const e of Object.values(els)) if (e instanceof Element) e.remove();
      this.elements.delete(ref);
    }
  }

  createVehicle(ref) {
    const g = svg('g', { 'data-ref': ref }, 'vehicle');
    const body = svg('g', {}, 'body');
    body.append(svg('circle', { r: 17 }, 'sel-ring'));
    body.append(svg('path', { d: 'M0,-13 L9,10 L0,5 L-9,10 Z' }, 'arrow'));
    const label = svg('text', { x: 20, y: -3 }, 'label');
    const sub = svg('text', { x: 20, y: 11 }, 'sub');
    g.append(svg('circle', { r: HIT_RADIUS_PX }, 'hit'), body, label, sub);
    const trail = svg('polyline', {}, 'trail');
    const home = svg('g', { 'data-ref': ref }, 'home');
    home.append(svg('path', { d: 'M-7,6 L-7,-2 L0,-8 L7,-2 L7,6 Z' }), svg('text', { x: 0, y: 4 }, 'home-h'));
    home.lastChild.textContent = 'H';
    const target = svg('g', {}, 'target');
    target.append(svg('circle', { r: 9 }), svg('path', { d: 'M-14,0 L-5,0 M5,0 L14,0 M0,-14 L0,-5 M0,5 L0,14' }));
    const line = svg('line', {}, 'target-line');
    this.layers.vehicles.append(g);
    this.layers.trails.append(trail);
    this.layers.homes.append(home);
    this.layers.targets.append(line, target);
    return { g, body, label, sub, trail, home, target, line };
  }

  updateVehicle(els, rec, now) {
    const s = rec.state;
    const stale = this.store.staleReason(rec, now);
    const colour = colourClass(s);
    const selected = this.store.selected === s.ref;

    els.g.setAttribute('class', `vehicle ${colour}${stale ? ' stale' : ''}${s.armed ? ' armed' : ''}${selected ? ' selected' : ''}`);
    els.g.setAttribute('data-stale', stale ? 'true' : 'false');
    let here = null;
    if (s.has_position) {
      here = this.toScreen(this.project(s.lat_deg, s.lon_deg));
      els.g.removeAttribute('display');
      els.g.setAttribute('transform', `translate(${here.x.toFixed(1)},${here.y.toFixed(1)})`);
      els.body.setAttribute('transform', `rotate(${num(s.heading_deg, 1)})`);
      els.label.textContent = s.ref;
      els.sub.textContent = stale
        ? `${stale} ${age(this.store.ageMs(rec, now))}`
        : `${num(s.alt_rel_m, 0)} m`;
    } else {
      els.g.setAttribute('display', 'none');
    }

    els.trail.setAttribute('class', `trail ${colour}${stale ? ' stale' : ''}`);
    els.trail.setAttribute('points', rec.trail.map((p) => {
      const q = this.toScreen(this.project(p.lat, p.lon));
      return `${q.x.toFixed(1)},${q.y.toFixed(1)}`;
    }).join(' '));

    if (s.home) {
      const h = this.toScreen(this.project(s.home.lat_deg, s.home.lon_deg));
      els.home.setAttribute('class', `home ${colour}`);
      els.home.setAttribute('transform', `translate(${h.x.toFixed(1)},${h.y.toFixed(1)})`);
      els.home.removeAttribute('display');
    } else {
      els.home.setAttribute('display', 'none');
    }

    if (rec.target && here) {
      const t = this.toScreen(this.project(rec.target.lat, rec.target.lon));
      els.target.setAttribute('class', `target ${colour}`);
      els.target.setAttribute('transform', `translate(${t.x.toFixed(1)},${t.y.toFixed(1)})`);
      els.target.removeAttribute('display');
      els.line.setAttribute('class', `target-line ${colour}`);
      for (const [k, v] of Object.entries({ x1: here.x, y1: here.y, x2: t.x, y2: t.y })) els.line.setAttribute(k, v.toFixed(1));
      els.line.removeAttribute('display');
    } else {
      els.target.setAttribute('display', 'none');
      els.line.setAttribute('display', 'none');
    }
  }
}
