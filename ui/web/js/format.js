// format.js — how numbers, times and codes read on screen. One place, so the fleet list, the map and
// the event log say the same thing the same way.

/** Shorthand for creating an element with a class and text. */
export function el(tag, className = '', text = '') {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text) e.textContent = text;
  return e;
}

/** A number with fixed decimals, or an em dash when unknown. */
export function num(v, digits = 1) {
  return Number.isFinite(v) ? v.toFixed(digits) : '—';
}

/** HH:MM:SS in local time. */
export function clockTime(date) {
  return date.toLocaleTimeString([], { hour12: false, hour: '2-digit', minute: '2-digit', second: '2-digit' });
}

/** HH:MM:SS in UTC. */
export function utcTime(date) {
  return date.toISOString().slice(11, 19);
}

/** An age in a pilot's words: "4 s", "3 min", "2 h". */
export function age(ms) {
  if (!Number.isFinite(ms) || ms < 0) return '—';
  const s = Math.floor(ms / 1000);
  if (s < 120) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 120) return `${m} min`;
  return `${Math.floor(m / 60)} h`;
}

const gpsFixNames = ['no GPS', 'no fix', '2D', '3D', 'DGPS', 'RTK float', 'RTK fixed', 'static', 'PPP'];

/** GPS_FIX_TYPE as text. */
export function gpsFix(fix) {
  return gpsFixNames[fix] ?? `fix ${fix}`;
}

const severityNames = ['EMERGENCY', 'ALERT', 'CRITICAL', 'ERROR', 'WARNING', 'NOTICE', 'INFO', 'DEBUG'];

/** MAV_SEVERITY as a name. */
export function severityName(sev) {
  return severityNames[sev] ?? 'UNKNOWN';
}

/** The CSS class for a MAV_SEVERITY: sev-crit (0-2), sev-err (3), sev-warn (4), sev-info (5-7). */
export function severityClass(sev) {
  if (sev <= 2) return 'sev-crit';
  if (sev === 3) return 'sev-err';
  if (sev === 4) return 'sev-warn';
  return 'sev-info';
}

/** The CSS class for a battery percentage: warning under 30 %, critical under 15 %. */
export function batteryClass(pct) {
  if (!Number.isFinite(pct) || pct < 0) return '';
  if (pct < 15) return 'batt-crit';
  if (pct < 30) return 'batt-warn';
  return 'batt-ok';
}

/** Latitude and longitude with hemisphere letters, to about 10 cm. */
export function latLon(lat, lon) {
  const ns = lat < 0 ? 'S' : 'N';
  const ew = lon < 0 ? 'W' : 'E';
  return `${Math.abs(lat).toFixed(6)}° ${ns}, ${Math.abs(lon).toFixed(6)}° ${ew}`;
}

/** A distance in metres or kilometres. */
export function distance(m) {
  if (m >= 1000) return `${+(m / 1000).toFixed(m >= 10000 ? 0 : 1)} km`;
  return `${+m.toFixed(m < 10 ? 1 : 0)} m`;
}
