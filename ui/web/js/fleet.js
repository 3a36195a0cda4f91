// fleet.js — one card per vehicle with what a pilot checks at a glance. Cards are updated in place
// (never rebuilt), so a click or keyboard focus is not lost to a telemetry update.

import { age, batteryClass, el, gpsFix, num, severityClass, severityName } from './format.js';
import { colourClass } from './map.js';

const METRICS = [
  ['alt', 'Alt (rel)'],
  ['speed', 'Ground speed'],
  ['battery', 'Battery'],
  ['gps', 'GPS · sats'],
  ['link', 'Link · loss'],
  ['mission', 'Mission'],
];

function setText(e, text) {
  if (e.textContent !== text) e.textContent = text;
}

function setClass(e, cls) {
  if (e.className !== cls) e.className = cls;
}

export class FleetList {
  constructor(root, store) {
    this.root = root;
    this.store = store;
    this.empty = root.querySelector('#fleet-empty');
    this.cards = new Map(); // ref -> {card, fields}
    root.addEventListener('click', (e) => {
      const card = e.target.closest('.card');
      if (card) store.select(card.dataset.ref);
    });
    root.addEventListener('keydown', (e) => {
      const card = e.target.closest('.card');
      if (card && (e.key === 'Enter' || e.key === ' ')) {
        e.preventDefault();
        store.select(card.dataset.ref);
      }
    });
  }

  render(now = Date.now()) {
    const refs = this.store.sortedRefs();
    this.empty.hidden = refs.length > 0;
    let prev = null;
    for (const ref of refs) {
      let c = this.cards.get(ref);
      if (!c) {
        c = this.createCard(ref);
        this.cards.set(ref, c);
      }
      // Keep the DOM order equal to the sorted order without moving cards that are in place.
      const want = prev ? prev.nextSibling : this.root.firstElementChild;
      if (want !== c.card) this.root.insertBefore(c.card, prev ? prev.nextSibling : this.root.firstChild);
      prev = c.card;
      this.updateCard(c, this.store.get(ref), now);
    }
    for (const [ref, c] of this.cards) {
      if (!this.store.get(ref)) {
        c.card.remove();
        this.cards.delete(ref);
      }
    }
  }

  createCard(ref) {
    const card = el('article', 'card');
    card.dataset.ref = ref;
    card.setAttribute('role', 'listitem');
    card.tabIndex = 0;
    const head = el('header', 'card-head');
    const f = {
      ref: el('span', 'ref', ref),
      mode: el('span', 'mode'),
      armed: el('span', 'armed-badge'),
      stale: el('div', 'stale-badge'),
      status: el('p', 'status-text'),
    };
    head.append(f.ref, f.mode, f.armed);
    const dl = el('dl', 'metrics');
    for (const [key, label] of METRICS) {
      const cell = el('div', `metric metric-${key}`);
      const dd = el('dd');
      dd.dataset.field = key;
      cell.append(el('dt', '', label), dd);
      dl.append(cell);
      f[key] = dd;
    }
    f.batteryV = el('small', 'volts');
    f.battery.parentElement.querySelector('dt').append(' ', f.batteryV);
    for (const k of ['mode', 'armed', 'stale', 'status']) f[k].dataset.field = k;
    card.append(head, f.stale, dl, f.status);
    return { card, f };
  }

  updateCard({ card, f }, rec, now) {
    const s = rec.state;
    const stale = this.store.staleReason(rec, now);
    const selected = this.store.selected === s.ref;
    setClass(card, `card ${colourClass(s)}${stale ? ' stale' : ''}${s.armed ? ' armed' : ''}${selected ? ' selected' : ''}`);
    card.setAttribute('aria-current', selected ? 'true' : 'false');
    card.dataset.stale = stale ? 'true' : 'false';

    setText(f.mode, s.mode || '?');
    setText(f.armed, s.armed ? 'ARMED' : 'disarmed');
    setClass(f.armed, `armed-badge ${s.armed ? 'is-armed' : 'is-disarmed'}`);

    f.stale.hidden = !stale;
    if (stale) setText(f.stale, `${stale} · ${age(this.store.ageMs(rec, now))} ago`);

    setText(f.alt, s.has_position ? `${num(s.alt_rel_m, 1)} m` : 'no position');
    setText(f.speed, `${num(s.ground_speed_m_s, 1)} m/s${climbArrow(s.climb_m_s)}`);

    const pct = s.battery_pct;
    setText(f.battery, pct >= 0 ? `${pct} %` : '—');
    setText(f.batteryV, s.battery_v > 0 ? `${num(s.battery_v, 1)} V` : '');
    setClass(f.battery, batteryClass(pct));

    setText(f.gps, `${gpsFix(s.gps_fix)} · ${s.gps_sats}`);
    setClass(f.gps, s.gps_fix >= 3 ? '' : 'gps-bad');

    const { alive, lossPct } = linkSummary(s.links);
    setText(f.link, `${s.link_lost ? 'LOST' : alive ? 'OK' : '—'} ${num(lossPct, lossPct < 10 ? 1 : 0)}%`);
    setClass(f.link, s.link_lost ? 'link-lost' : lossPct > 5 ? 'link-poor' : '');

    setText(f.mission, missionText(s));

    const last = s.status_texts && s.status_texts[s.status_texts.length - 1];
    if (last) {
      setText(f.status, `${severityName(last.severity)}: ${last.text}`);
      setClass(f.status, `status-text ${severityClass(last.severity)}`);
      f.status.hidden = false;
    } else {
      f.status.hidden = true;
    }
  }
}

function climbArrow(climb) {
  if (!Number.isFinite(climb) || Math.abs(climb) < 0.2) return '';
  return climb > 0 ? ` ↑${num(climb, 1)}` : ` ↓${num(-climb, 1)}`;
}

/** Whether any link hears the vehicle, and the share of frames lost over all its links. */
export function linkSummary(links = []) {
  let received = 0;
  let lost = 0;
  let alive = false;
  for (const l of links || []) {
    received += l.received;
    lost += l.lost;
    alive = alive || l.alive;
  }
  return { alive, lossPct: received + lost > 0 ? (100 * lost) / (received + lost) : 0 };
}

function missionText(s) {
  const m = s.mission || {};
  if (m.status === 'uploading') return 'uploading…';
  if (s.mission_total > 0) return `${Math.max(0, s.mission_seq)}/${s.mission_total}`;
  if (m.status === 'in_sync') return m.items > 0 ? `${m.items} items` : 'none';
  return '—';
}
