// api.js — everything the app says to the server: REST calls and the live WebSocket.
// Nothing here touches the page; callers get plain data and callbacks.

const API = '/api/v1';

/** A failed API call, with what the server (and the vehicle) said. */
export class ApiError extends Error {
  constructor(status, body) {
    super(describeError(status, body));
    this.status = status;
    this.body = body;
  }
}

// describeError turns an error body into one line a pilot can act on. The server's message already
// carries the vehicle's words in most cases; status_text is added only when it is not there yet.
function describeError(status, body) {
  if (!body || typeof body !== 'object') return `HTTP ${status}`;
  let msg = body.error || `HTTP ${status}`;
  if (body.status_text && !msg.includes(body.status_text)) msg += ` (${body.status_text})`;
  return msg;
}

async function readBody(resp) {
  const text = await resp.text();
  try {
    return JSON.parse(text);
  } catch {
    return { error: text.trim() || `HTTP ${resp.status}` };
  }
}

/** Fetches the fleet once (the live socket is the usual source). */
export async function getVehicles(signal) {
  const resp = await fetch(`${API}/vehicles`, { signal, cache: 'no-store' });
  const body = await readBody(resp);
  if (!resp.ok) throw new ApiError(resp.status, body);
  return body;
}

/**
 * Sends one command to a vehicle and resolves with the server's answer once the vehicle acknowledged.
 * It rejects with an ApiError for a refusal (409), a timeout (504) or bad input (400), and with a
 * TypeError when the server cannot be reached.
 */
export async function sendCommand(ref, command, args = {}) {
  const resp = await fetch(`${API}/vehicles/${encodeURIComponent(ref)}/commands`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ command, ...args }),
  });
  const body = await readBody(resp);
  if (!resp.ok) throw new ApiError(resp.status, body);
  return body;
}

/**
 * Lists the video streams. The relay answers {streams: [...]}; a bare array is accepted too. A server
 * without video answers 404 or 503, which is "no streams", not an error.
 */
export async function getStreams(signal) {
  const resp = await fetch(`${API}/streams`, { signal, cache: 'no-store' });
  if (resp.status === 404 || resp.status === 503) return [];
  const body = await readBody(resp);
  if (!resp.ok) throw new ApiError(resp.status, body);
  const list = Array.isArray(body) ? body : body.streams;
  return Array.isArray(list) ? list : [];
}

/**
 * LiveSocket keeps the telemetry WebSocket open: it reconnects after any close with an exponential
 * back-off (0.5 s doubling to 10 s, with jitter so a room of browsers does not reconnect in step),
 * and reports its state so the page can say "reconnecting" and mark everything stale meanwhile.
 *
 * Callbacks: onStates(message, isFullFleet), onEvent(message), onStatus({state, retryInMs, reason}).
 * state is 'connecting', 'connected' or 'reconnecting'.
 */
export class LiveSocket {
  constructor({ onStates, onEvent, onStatus }) {
    this.onStates = onStates;
    this.onEvent = onEvent;
    this.onStatus = onStatus;
    this.ws = null;
    this.timer = 0;
    this.backoffMs = 500;
    this.stopped = false;
    this.firstMessage = true;
    this.stableTimer = 0;
  }

  start() {
    this.stopped = false;
    this.connect('connecting', '');
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    clearTimeout(this.stableTimer);
    if (this.ws) this.ws.close(1000, 'page closed');
  }

  url() {
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    return `${scheme}//${location.host}${API}/ws`;
  }

  connect(state, reason) {
    this.onStatus({ state, retryInMs: 0, reason });
    let ws;
    try {
      ws = new WebSocket(this.url());
    } catch (err) {
      this.scheduleReconnect(String(err));
      return;
    }
    this.ws = ws;
    this.firstMessage = true;
    ws.onopen = () => {
      this.onStatus({ state: 'connected', retryInMs: 0, reason: '' });
      // Reset the back-off only once the connection has proved itself, so a server that accepts and
      // drops at once is not hammered.
      this.stableTimer = setTimeout(() => { this.backoffMs = 500; }, 5000);
    };
    ws.onmessage = (ev) => this.handle(ev.data);
    ws.onclose = (ev) => {
      clearTimeout(this.stableTimer);
      if (this.ws !== ws) return;
      this.ws = null;
      if (this.stopped) return;
      this.scheduleReconnect(closeReason(ev));
    };
    // An error is always followed by close, which does the work.
    ws.onerror = () => {};
  }

  scheduleReconnect(reason) {
    const jitter = 0.8 + Math.random() * 0.4;
    const wait = Math.round(this.backoffMs * jitter);
    this.backoffMs = Math.min(this.backoffMs * 2, 10000);
    this.onStatus({ state: 'reconnecting', retryInMs: wait, reason });
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.connect('reconnecting', reason), wait);
  }

  handle(data) {
    let msg;
    try {
      msg = JSON.parse(data);
    } catch {
      return; // not ours; ignore rather than drop the connection
    }
    if (msg.type === 'states') {
      const full = this.firstMessage;
      this.firstMessage = false;
      this.onStates(msg, full);
    } else if (msg.type === 'event') {
      this.onEvent(msg);
    }
  }
}

function closeReason(ev) {
  switch (ev.code) {
    case 1000: return 'closed';
    case 1001: return 'server going away';
    case 1006: return 'connection lost';
    case 1008: return 'server dropped a slow client';
    case 1013: return 'server busy';
    default: return ev.reason || `closed (${ev.code})`;
  }
}
