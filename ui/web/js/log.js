// log.js — the event log: what happened to the fleet and what the pilot asked of it, newest first.

import { clockTime, el, severityClass, severityName } from './format.js';

const MAX_ENTRIES = 200;

export class EventLog {
  constructor(root) {
    this.root = root;
  }

  /** Adds one line. cls colours it (sev-crit, sev-err, sev-warn, sev-info, ok, refused). */
  add({ time = new Date(), vehicle = '', text, cls = 'sev-info', kind = '' }) {
    const li = el('li', `log-entry ${cls}`);
    if (kind) li.dataset.kind = kind;
    const t = el('time', 'log-time', clockTime(time));
    t.dateTime = time.toISOString();
    li.append(t, el('span', 'log-vehicle', vehicle ? `V${vehicle}` : '—'), el('span', 'log-text', text));
    this.root.prepend(li);
    while (this.root.childElementCount > MAX_ENTRIES) this.root.lastElementChild.remove();
  }

  /** Adds a server event message ({type:'event', time, vehicle, event}). */
  addEvent(msg) {
    const e = msg.event || {};
    const time = new Date(msg.time || e.time || Date.now());
    const vehicle = msg.vehicle;
    const line = describeEvent(e);
    if (line) this.add({ time, vehicle, kind: e.kind, ...line });
  }
}

/** What a vehicle event says, and how loud; null for events not worth a line. */
export function describeEvent(e) {
  switch (e.kind) {
    case 'vehicle_discovered':
      return { text: 'vehicle discovered', cls: 'sev-info' };
    case 'link_lost':
      return { text: 'LINK LOST — no heartbeat', cls: 'sev-crit' };
    case 'link_regained':
      return { text: 'link regained', cls: 'ok' };
    case 'armed':
      return e.armed ? { text: 'ARMED', cls: 'sev-warn' } : { text: 'disarmed', cls: 'sev-info' };
    case 'mode_changed':
      return { text: `mode ${e.previous_mode || '?'} → ${e.mode}`, cls: 'sev-info' };
    case 'status_text': {
      const t = e.text || {};
      return { text: `${severityName(t.severity)}: ${t.text}`, cls: severityClass(t.severity) };
    }
    case 'mission_item_reached':
      return { text: `reached mission item ${e.mission_seq}`, cls: 'sev-info' };
    default:
      return e.kind ? { text: e.kind, cls: 'sev-info' } : null;
  }
}
