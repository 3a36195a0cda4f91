// store.js — the fleet as the browser knows it: the latest state of each vehicle, when it arrived, a
// short trail, and which vehicle is selected. Views read from here and redraw when told.

/** A vehicle with no update for this long (by the browser's clock) is shown as stale. */
export const STALE_AFTER_MS = 3000;

const TRAIL_POINTS = 180;
const TRAIL_MIN_STEP_M = 0.5;

/** One vehicle: its latest state and what the browser adds to it. */
class VehicleRecord {
  constructor(state) {
    this.state = state;
    this.rxAt = 0; // Date.now() when the last state arrived
    this.trail = []; // [{lat, lon}], oldest first
    this.target = null; // {lat, lon, altM} of an accepted go-here, until reached
  }
}

export class FleetStore {
  constructor() {
    this.vehicles = new Map(); // ref -> VehicleRecord
    this.selected = null;
    this.connected = false;
    this.clockOffsetMs = 0; // browser clock minus server clock
    this.listeners = new Set();
  }

  /** Calls fn(kind) after each change; kind is 'states', 'selection' or 'connection'. */
  subscribe(fn) {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  notify(kind) {
    for (const fn of this.listeners) fn(kind);
  }

  /**
   * Folds a states message in. The first message after (re)connecting is the whole fleet, so vehicles
   * missing from it are gone.
   */
  applyStates(msg, full) {
    const now = Date.now();
    const serverTime = Date.parse(msg.time);
    if (Number.isFinite(serverTime)) this.clockOffsetMs = now - serverTime;
    const seen = new Set();
    for (const s of msg.vehicles || []) {
      seen.add(s.ref);
      let rec = this.vehicles.get(s.ref);
      if (!rec) {
        rec = new VehicleRecord(s);
        this.vehicles.set(s.ref, rec);
      }
      rec.state = s;
      rec.rxAt = now;
      if (s.has_position) addTrailPoint(rec.trail, s.lat_deg, s.lon_deg);
      if (rec.target && targetDone(rec)) rec.target = null;
    }
    if (full) {
      for (const ref of [...this.vehicles.keys()]) {
        if (!seen.has(ref)) this.vehicles.delete(ref);
      }
      if (this.selected && !this.vehicles.has(this.selected)) this.selected = null;
    }
    if (!this.selected && this.vehicles.size > 0) this.selected = this.sortedRefs()[0];
    this.notify('states');
  }

  setConnected(connected) {
    if (this.connected === connected) return;
    this.connected = connected;
    this.notify('connection');
  }

  select(ref) {
    if (!this.vehicles.has(ref) || this.selected === ref) return;
    this.selected = ref;
    this.notify('selection');
  }

  get(ref) {
    return this.vehicles.get(ref);
  }

  /** Refs in a stable order: default network first, then by network name, then by system id. */
  sortedRefs() {
    return [...this.vehicles.keys()].sort(compareRefs);
  }

  /** Records an accepted go-here so the map can show where the vehicle is heading. */
  setTarget(ref, target) {
    const rec = this.vehicles.get(ref);
    if (rec) rec.target = target;
    this.notify('states');
  }

  /**
   * Why a vehicle's data cannot be trusted right now, or '' when it is live: the socket is down,
   * the server says the link is lost, or nothing arrived for STALE_AFTER_MS.
   */
  staleReason(rec, now = Date.now()) {
    if (!this.connected) return 'NO CONNECTION';
    if (rec.state.link_lost || rec.state.stale) return 'LINK LOST';
    if (now - rec.rxAt > STALE_AFTER_MS) return 'NO UPDATE';
    return '';
  }

  /** Milliseconds since the vehicle was last heard, on the browser's clock. */
  ageMs(rec, now = Date.now()) {
    const heard = Date.parse(rec.state.last_heard);
    const byServer = Number.isFinite(heard) ? now - (heard + this.clockOffsetMs) : Infinity;
    // The older of the two views wins: the server's last_heard (which stops when the link is lost),
    // and our own receipt time (which stops when the socket is down).
    return Math.max(0, now - rec.rxAt, byServer);
  }
}

function compareRefs(a, b) {
  const [na, ia] = splitRef(a);
  const [nb, ib] = splitRef(b);
  if (na !== nb) return na < nb ? -1 : 1;
  return ia - ib;
}

function splitRef(ref) {
  const i = ref.lastIndexOf(':');
  return i < 0 ? ['', Number(ref)] : [ref.slice(0, i), Number(ref.slice(i + 1))];
}

function addTrailPoint(trail, lat, lon) {
  const last = trail[trail.length - 1];
  if (last && groundDistanceM(last.lat, last.lon, lat, lon) < TRAIL_MIN_STEP_M) return;
  trail.push({ lat, lon });
  if (trail.length > TRAIL_POINTS) trail.splice(0, trail.length - TRAIL_POINTS);
}

function targetDone(rec) {
  const s = rec.state;
  if (s.mode !== 'GUIDED' || !s.armed) return true;
  return s.has_position && groundDistanceM(s.lat_deg, s.lon_deg, rec.target.lat, rec.target.lon) < 2;
}

/** Equirectangular distance: exact enough over the few kilometres a fleet spans. */
export function groundDistanceM(lat1, lon1, lat2, lon2) {
  const R = 6371008.8;
  const rad = Math.PI / 180;
  const x = (lon2 - lon1) * rad * Math.cos(((lat1 + lat2) / 2) * rad);
  const y = (lat2 - lat1) * rad;
  return Math.hypot(x, y) * R;
}
