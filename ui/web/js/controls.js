// controls.js — commands for the selected vehicle. Dangerous ones ask first (confirm.js); each shows
// its outcome next to the buttons and in the event log; the buttons stay disabled while a command to
// that vehicle waits for its answer, so a double click never sends twice.

import { ApiError, sendCommand } from './api.js';
import { confirmAction } from './confirm.js';
import { batteryClass, distance, gpsFix, latLon, num } from './format.js';
import { groundDistanceM } from './store.js';

const MIN_ALT_M = 1;
const MAX_ALT_M = 500;

export class Controls {
  constructor(root, store, map, log) {
    this.root = root;
    this.store = store;
    this.map = map;
    this.log = log;
    this.pending = new Map(); // ref -> command waiting for its answer
    this.results = new Map(); // ref -> {cls, text} of the last command
    this.shownRef = undefined;
    this.q = (id) => document.getElementById(id);
    this.resultEl = this.q('cmd-result');
    this.title = this.q('controls-vehicle');
    this.modeSelect = this.q('ctl-mode');
    this.altInput = this.q('ctl-alt');
    this.buttons = [...root.querySelectorAll('button[data-command]')];
    this.bind();
  }

  bind() {
    const on = (id, fn) => this.q(id).addEventListener('click', () => fn.call(this));
    on('ctl-set-mode', this.setMode);
    on('ctl-arm', this.arm);
    on('ctl-disarm', this.disarm);
    on('ctl-takeoff', this.takeoff);
    on('ctl-land', () => this.simple('land', 'Land', 'lands where it is now.'));
    on('ctl-rtl', () => this.simple('rtl', 'Return to launch', 'flies back to its home and lands.'));
    on('ctl-pause', () => this.store.selected && this.run(this.store.selected, 'pause', {}, 'pause'));
    on('ctl-resume', () => this.store.selected && this.run(this.store.selected, 'resume', {}, 'resume'));
    on('ctl-goto', this.toggleGoto);
    document.addEventListener('keydown', (e) => {
      if (e.key === 'Escape' && this.map.pick) this.endGoto();
    });
  }

  /** The selected vehicle's record, or null. */
  selected() {
    const ref = this.store.selected;
    return ref ? this.store.get(ref) : null;
  }

  render() {
    const rec = this.selected();
    const ref = rec ? rec.state.ref : null;
    if (ref !== this.shownRef) {
      // A new selection: show its mode in the selector and its last result; drop a half-made go-here.
      this.shownRef = ref;
      if (this.map.pick) this.endGoto();
      if (rec && [...this.modeSelect.options].some((o) => o.value === rec.state.mode)) {
        this.modeSelect.value = rec.state.mode;
      }
      this.showResult(ref);
    }
    const busy = ref !== null && this.pending.has(ref);
    for (const b of this.buttons) b.disabled = !rec || busy;
    this.modeSelect.disabled = !rec || busy;
    this.root.classList.toggle('busy', busy);
    if (!rec) {
      this.title.textContent = 'no vehicle selected';
      return;
    }
    const s = rec.state;
    const stale = this.store.staleReason(rec);
    this.title.textContent = `vehicle ${s.ref} · ${s.mode} · ${s.armed ? 'ARMED' : 'disarmed'}${stale ? ` · ${stale}` : ''}`;
    this.title.className = `panel-note ${s.armed ? 'armed-text' : ''}${stale ? ' stale-text' : ''}`;
  }

  showResult(ref) {
    const r = ref ? this.results.get(ref) : null;
    if (ref && this.pending.has(ref)) {
      this.setResult('pending', `Sending ${this.pending.get(ref)} to vehicle ${ref}…`);
    } else if (r) {
      this.setResult(r.cls, r.text);
    } else {
      this.setResult('', ref ? `Vehicle ${ref} selected.` : 'Select a vehicle on the map or in the fleet list.');
    }
  }

  setResult(cls, text) {
    this.resultEl.className = `cmd-result ${cls}`;
    this.resultEl.textContent = text;
  }

  /** Facts that help decide, shown in every confirmation. */
  details(s, extra = []) {
    return [
      ['Vehicle', s.ref],
      ['Mode', `${s.mode} · ${s.armed ? 'ARMED' : 'disarmed'}`],
      ['Altitude', s.has_position ? `${num(s.alt_rel_m, 1)} m above home` : 'no position'],
      ['Battery', s.battery_pct >= 0 ? `${s.battery_pct} %` : 'unknown'],
      ['GPS', `${gpsFix(s.gps_fix)}, ${s.gps_sats} sats`],
      ...extra,
    ];
  }

  /** A warning for the confirmation when the vehicle's state is not what it seems. */
  warning(rec) {
    const stale = this.store.staleReason(rec);
    const w = [];
    if (stale) w.push(`${stale}: the state shown is old.`);
    if (batteryClass(rec.state.battery_pct) === 'batt-crit') w.push('Battery critically low.');
    return w.join(' ');
  }

  async ask(rec, opts) {
    const ok = await confirmAction({ ...opts, details: this.details(rec.state, opts.extra), warning: opts.warning ?? this.warning(rec) });
    if (!ok) this.log.add({ vehicle: rec.state.ref, text: `${opts.action}: cancelled, nothing sent`, cls: 'sev-info', kind: 'cancelled' });
    return ok;
  }

  async setMode() {
    const rec = this.selected();
    if (!rec) return;
    const mode = this.modeSelect.value;
    // A mode change moves an armed vehicle; on the ground it is harmless and needs no confirmation.
    if (rec.state.armed && !(await this.ask(rec, {
      title: `Change mode of vehicle ${rec.state.ref}?`,
      body: `Vehicle ${rec.state.ref} is ARMED. Switching ${rec.state.mode} → ${mode} takes effect at once.`,
      action: `Switch vehicle ${rec.state.ref} to ${mode}`,
    }))) return;
    await this.run(rec.state.ref, 'mode', { mode }, `mode ${mode}`);
  }

  async arm() {
    const rec = this.selected();
    if (!rec) return;
    if (!(await this.ask(rec, {
      title: `Arm vehicle ${rec.state.ref}?`,
      body: `The motors of vehicle ${rec.state.ref} will start. Keep clear of the propellers.`,
      action: `Arm vehicle ${rec.state.ref}`,
    }))) return;
    await this.run(rec.state.ref, 'arm', {}, 'arm');
  }

  async disarm() {
    const rec = this.selected();
    if (!rec) return;
    const airborne = rec.state.has_position && rec.state.alt_rel_m > 1;
    if (!(await this.ask(rec, {
      title: `Disarm vehicle ${rec.state.ref}?`,
      body: `The motors of vehicle ${rec.state.ref} will stop.`,
      action: `Disarm vehicle ${rec.state.ref}`,
      warning: airborne ? `Vehicle ${rec.state.ref} is ${num(rec.state.alt_rel_m, 0)} m up: the autopilot refuses to disarm in flight; land first.` : undefined,
    }))) return;
    await this.run(rec.state.ref, 'disarm', {}, 'disarm');
  }

  altitude() {
    const alt = Number(this.altInput.value);
    if (!Number.isFinite(alt) || alt < MIN_ALT_M || alt > MAX_ALT_M) {
      this.setResult('refused', `Altitude must be between ${MIN_ALT_M} and ${MAX_ALT_M} m.`);
      this.altInput.focus();
      return null;
    }
    return alt;
  }

  async takeoff() {
    const rec = this.selected();
    if (!rec) return;
    const alt = this.altitude();
    if (alt === null) return;
    if (!(await this.ask(rec, {
      title: `Take off vehicle ${rec.state.ref}?`,
      body: `Vehicle ${rec.state.ref} climbs to ${alt} m above home.`,
      action: `Take off to ${alt} m`,
      extra: [['Target altitude', `${alt} m`]],
    }))) return;
    await this.run(rec.state.ref, 'takeoff', { alt_m: alt }, `takeoff to ${alt} m`);
  }

  async simple(command, name, what) {
    const rec = this.selected();
    if (!rec) return;
    if (!(await this.ask(rec, {
      title: `${name}: vehicle ${rec.state.ref}?`,
      body: `Vehicle ${rec.state.ref} ${what}`,
      action: `${name} vehicle ${rec.state.ref}`,
      tone: 'warn',
    }))) return;
    await this.run(rec.state.ref, command, {}, name);
  }

  toggleGoto() {
    if (this.map.pick) {
      this.endGoto();
      return;
    }
    const rec = this.selected();
    if (!rec || this.altitude() === null) return;
    const ref = rec.state.ref;
    this.q('ctl-goto').setAttribute('aria-pressed', 'true');
    this.setResult('pending', `Click the map where vehicle ${ref} should go (Esc to cancel).`);
    this.map.startPick((ll) => this.confirmGoto(ref, ll));
  }

  endGoto() {
    this.map.cancelPick();
    this.q('ctl-goto').setAttribute('aria-pressed', 'false');
    this.showResult(this.store.selected);
  }

  async confirmGoto(ref, ll) {
    this.q('ctl-goto').setAttribute('aria-pressed', 'false');
    const rec = this.store.get(ref);
    const alt = this.altitude();
    if (!rec || alt === null) return;
    this.showResult(ref);
    const s = rec.state;
    const dist = s.has_position ? distance(groundDistanceM(s.lat_deg, s.lon_deg, ll.lat, ll.lon)) : 'unknown';
    const notGuided = s.mode !== 'GUIDED' ? `Vehicle ${ref} is in ${s.mode}: go-here works in GUIDED only. ` : '';
    if (!(await this.ask(rec, {
      title: `Send vehicle ${ref} here?`,
      body: `Vehicle ${ref} flies to the point you clicked.`,
      action: `Go to this point`,
      extra: [['Target', latLon(ll.lat, ll.lon)], ['Target altitude', `${alt} m above home`], ['Distance', dist]],
      warning: (notGuided + this.warning(rec)).trim(),
    }))) return;
    const ok = await this.run(ref, 'goto', { lat_deg: ll.lat, lon_deg: ll.lon, alt_m: alt }, `go to ${latLon(ll.lat, ll.lon)} at ${alt} m`);
    if (ok) this.store.setTarget(ref, { lat: ll.lat, lon: ll.lon, altM: alt });
  }

  /** Sends a command and reports the outcome; resolves true when the vehicle accepted it. */
  async run(ref, command, args, label) {
    if (this.pending.has(ref)) return false;
    this.pending.set(ref, label);
    this.showResult(ref);
    this.render();
    let result;
    try {
      await sendCommand(ref, command, args);
      result = { cls: 'ok', text: `✓ Vehicle ${ref}: ${label} accepted.` };
    } catch (err) {
      result = { cls: 'refused', text: `✗ Vehicle ${ref}: ${label} — ${explain(err)}` };
      if (err instanceof ApiError && err.status === 504) result.cls = 'noanswer';
    } finally {
      this.pending.delete(ref);
    }
    this.results.set(ref, result);
    this.log.add({ vehicle: ref, text: result.text.slice(2), cls: result.cls, kind: 'command' });
    if (this.store.selected === ref) this.showResult(ref);
    this.render();
    return result.cls === 'ok';
  }
}

function explain(err) {
  if (err instanceof ApiError) {
    // The server's message starts with "vehicle 2: ", which the line already says.
    const msg = err.message.replace(/^vehicle \d+: /, '');
    if (err.status === 504) return `no answer from the vehicle: ${msg}`;
    return msg;
  }
  return `server unreachable (${err.message})`;
}
