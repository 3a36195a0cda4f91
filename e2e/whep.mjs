// whep.mjs plays one stream in headless Chromium through WHEP and checks
// that the browser decodes pictures.
//
//   node whep.mjs --url http://127.0.0.1:PORT/api/v1/streams/sim/1/whep [--frames 30] [--timeout 20000]
//
// It prints one JSON line per stats sample and a final line
//   {"ok":true,"framesDecoded":N,"firstFrameMs":T,...}
// and exits 0 when framesDecoded reached --frames and kept rising, 1
// otherwise. The browser is the system Chromium (CHROMIUM env, default
// /usr/bin/chromium); nothing is downloaded.
import { chromium } from 'playwright-core';

function args() {
  const out = { url: '', frames: 30, timeout: 20000 };
  const a = process.argv.slice(2);
  for (let i = 0; i < a.length; i++) {
    const v = a[i + 1];
    switch (a[i]) {
      case '--url': out.url = v; i++; break;
      case '--frames': out.frames = Number(v); i++; break;
      case '--timeout': out.timeout = Number(v); i++; break;
      default: throw new Error(`unknown argument ${a[i]}`);
    }
  }
  if (!out.url) throw new Error('--url is required');
  return out;
}

// The player: a minimal WHEP client (non-trickle: the relay's answer
// carries every candidate, so the offer waits for gathering too).
const playerHTML = `<!doctype html>
<html><body>
<video id="v" autoplay muted playsinline style="width:640px"></video>
<script>
window.startWHEP = async (url) => {
  const t0 = performance.now();
  const pc = new RTCPeerConnection();
  window.pc = pc;
  pc.addTransceiver('video', { direction: 'recvonly' });
  pc.addTransceiver('audio', { direction: 'recvonly' });
  pc.ontrack = (e) => {
    const v = document.getElementById('v');
    if (!v.srcObject) v.srcObject = e.streams[0] || new MediaStream([e.track]);
  };
  await pc.setLocalDescription(await pc.createOffer());
  await new Promise((resolve) => {
    if (pc.iceGatheringState === 'complete') return resolve();
    pc.addEventListener('icegatheringstatechange', () => {
      if (pc.iceGatheringState === 'complete') resolve();
    });
    setTimeout(resolve, 3000); // host candidates are enough on loopback
  });
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/sdp' },
    body: pc.localDescription.sdp,
  });
  const body = await res.text();
  if (res.status !== 201) throw new Error('WHEP POST ' + res.status + ': ' + body);
  window.session = new URL(res.headers.get('Location'), url).href;
  await pc.setRemoteDescription({ type: 'answer', sdp: body });
  return { answerMs: performance.now() - t0 };
};
window.videoStats = async () => {
  const r = { framesDecoded: 0, framesReceived: 0, keyFramesDecoded: 0, packetsLost: 0, freezeCount: 0,
              width: 0, height: 0, state: window.pc ? window.pc.connectionState : 'none', codec: '' };
  if (!window.pc) return r;
  const stats = await window.pc.getStats();
  stats.forEach((s) => {
    if (s.type === 'inbound-rtp' && s.kind === 'video') {
      r.framesDecoded = s.framesDecoded || 0;
      r.framesReceived = s.framesReceived || 0;
      r.keyFramesDecoded = s.keyFramesDecoded || 0;
      r.packetsLost = s.packetsLost || 0;
      r.freezeCount = s.freezeCount || 0;
      r.width = s.frameWidth || 0;
      r.height = s.frameHeight || 0;
      const c = s.codecId && stats.get(s.codecId);
      if (c) r.codec = c.mimeType;
    }
  });
  return r;
};
window.stopWHEP = async () => {
  if (window.session) await fetch(window.session, { method: 'DELETE' });
  if (window.pc) window.pc.close();
};
</script>
</body></html>`;

async function main() {
  const opt = args();
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--allow-loopback-in-peer-connection', '--disable-features=WebRtcHideLocalIpsWithMdns',
      '--autoplay-policy=no-user-gesture-required',
    ],
  });
  let result = { ok: false };
  try {
    const page = await browser.newPage();
    page.on('console', (m) => { if (m.type() === 'error') console.error('page:', m.text()); });
    // Load the relay's origin first so the WHEP fetch is same-origin, as
    // from a page the relay or the osprey server would serve.
    const origin = new URL(opt.url).origin;
    await page.goto(origin + '/api/v1/streams');
    await page.setContent(playerHTML);
    const t0 = Date.now();
    const started = await page.evaluate((u) => window.startWHEP(u), opt.url);
    let firstFrameMs = -1;
    let last = null;
    let rising = 0;
    const deadline = t0 + opt.timeout;
    while (Date.now() < deadline) {
      const s = await page.evaluate(() => window.videoStats());
      if (s.framesDecoded > 0 && firstFrameMs < 0) firstFrameMs = Date.now() - t0;
      if (last && s.framesDecoded > last.framesDecoded) rising++;
      console.log(JSON.stringify({ t: Date.now() - t0, ...s }));
      last = s;
      if (s.framesDecoded >= opt.frames && rising >= 3) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    await page.evaluate(() => window.stopWHEP());
    result = {
      ok: !!last && last.framesDecoded >= opt.frames && rising >= 3,
      framesDecoded: last ? last.framesDecoded : 0,
      keyFramesDecoded: last ? last.keyFramesDecoded : 0,
      width: last ? last.width : 0,
      height: last ? last.height : 0,
      codec: last ? last.codec : '',
      answerMs: Math.round(started.answerMs),
      firstFrameMs,
    };
  } catch (e) {
    result = { ok: false, error: String(e && e.message ? e.message : e) };
  } finally {
    await browser.close();
  }
  console.log(JSON.stringify(result));
  process.exit(result.ok ? 0 : 1);
}

main().catch((e) => {
  console.log(JSON.stringify({ ok: false, error: String(e) }));
  process.exit(1);
});
