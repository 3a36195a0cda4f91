// ui.test.mjs drives the osprey browser app in headless Chromium against a real server (started by the
// Go test internal/uitest, which also answers this script's requests on stdin).
//
//   node ui.test.mjs URL '{"live":["sim/1"],"offline":["sim/dead"],"screenshot":"/tmp/osprey-ui.png"}'
//
// It prints one line per step and, last, {"ok":true,...} or {"ok":false,"error":...}; the exit code says
// the same. Lines starting with "@@" are requests to the Go side ("@@outage 3 6000"), each answered by
// one line on stdin. The browser is the system Chromium; nothing is downloaded.
import { chromium } from 'playwright-core';
import { createInterface } from 'node:readline';

const base = process.argv[2];
const expect = JSON.parse(process.argv[3] || '{}');
const live = expect.live || [];
const offline = expect.offline || [];
const shot = expect.screenshot || '/tmp/osprey-ui.png';
const origin = new URL(base).origin;
const OVERALL_MS = 140000;

const stdinLines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();

/** Asks the Go side to do something to the world (the simulator) and waits for its answer. */
async function request(line) {
  console.log(`@@${line}`);
  const { value, done } = await stdinLines.next();
  if (done || !/^ok( |$)/.test(value)) throw new Error(`request "${line}" answered ${done ? 'nothing' : value}`);
  return value.slice(3);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function check(cond, msg) {
  if (!cond) throw new Error(msg);
}

let currentStep = '';
async function step(name, fn) {
  currentStep = name;
  const t0 = Date.now();
  await fn();
  console.log(`ok   ${name} (${Date.now() - t0} ms)`);
}

async function main() {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--allow-loopback-in-peer-connection', '--disable-features=WebRtcHideLocalIpsWithMdns',
    ],
  });
  const problems = [];
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 720 } });
    page.setDefaultTimeout(15000);

    // Everything the page does is watched: errors, CSP violations, any request off the server.
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('console', (m) => {
      if (m.type() === 'error' && !/Failed to load resource: the server responded with a status of (409|404)/.test(m.text())) {
        problems.push(`console error: ${m.text()}`);
      }
    });
    await page.addInitScript(() => {
      window.__csp = [];
      document.addEventListener('securitypolicyviolation', (e) => window.__csp.push(`${e.violatedDirective} ${e.blockedURI}`));
    });
    const commands = [];
    page.on('request', (r) => {
      const u = new URL(r.url());
      if (!['http:', 'https:', 'ws:', 'wss:'].includes(u.protocol)) return;
      if (u.origin !== origin && u.host !== new URL(origin).host) problems.push(`external request: ${r.url()}`);
      const m = u.pathname.match(/^\/api\/v1\/vehicles\/([^/]+)\/commands$/);
      if (m && r.method() === 'POST') commands.push({ ref: decodeURIComponent(m[1]), ...r.postDataJSON() });
    });

    // Commands can be held at the network, to see the controls while one is in flight.
    let gate = null;
    await page.route('**/api/v1/vehicles/*/commands', async (route) => {
      const g = gate;
      if (g) await g.promise;
      await route.continue();
    });
    const holdCommands = () => {
      let release;
      const promise = new Promise((r) => { release = r; });
      gate = { promise, release };
      return () => { gate = null; release(); };
    };

    // The live socket goes through a proxy the test can silence or cut.
    const sockets = [];
    let silent = false;
    await page.routeWebSocket((url) => url.pathname === '/api/v1/ws', (ws) => {
      const server = ws.connectToServer();
      server.onMessage((msg) => { if (!silent) ws.send(msg); });
      sockets.push(ws);
    });

    const card = (ref) => page.locator(`#fleet .card[data-ref="${ref}"]`);
    const field = (ref, f) => card(ref).locator(`[data-field="${f}"]`);
    const dialog = page.locator('#confirm');
    const dialogOpen = () => page.evaluate(() => document.getElementById('confirm').open);
    const altOf = async (ref) => parseFloat(await field(ref, 'alt').textContent());
    const waitText = (loc, re, timeout = 15000) => loc.filter({ hasText: re }).waitFor({ timeout });
    // Waits for the result line next to the controls to have class cls and match re.
    const expectResult = async (cls, re, timeout = 20000) => {
      const deadline = Date.now() + timeout;
      let last = '';
      for (;;) {
        const [c, t] = await page.evaluate(() => {
          const e = document.getElementById('cmd-result');
          return [e.className, e.textContent];
        });
        last = `[${c}] ${t}`;
        if (c.split(' ').includes(cls) && re.test(t)) return t;
        check(Date.now() < deadline, `result line is "${last}", want class ${cls} matching ${re}`);
        await sleep(50);
      }
    };
    const expectNoCommandSince = async (n, why) => {
      await sleep(1000);
      check(commands.length === n, `${why}: ${commands.length - n} command(s) sent: ${JSON.stringify(commands.slice(n))}`);
    };

    await step('page loads, live socket connects, three vehicle cards appear', async () => {
      const resp = await page.goto(base);
      check(resp.ok(), `GET / answered ${resp.status()}`);
      check((resp.headers()['content-security-policy'] || '').includes("script-src 'self'"), 'no CSP on the page');
      await page.locator('#fleet .card').nth(2).waitFor({ timeout: 20000 });
      check(await page.locator('#fleet .card').count() === 3, 'not three cards');
      await page.locator('#conn[data-state="connected"]').waitFor();
      await waitText(page.locator('#vehicle-count'), /^3$/);
    });

    await step('each vehicle is drawn on the map, inside it, with its home', async () => {
      const box = await page.locator('#map').boundingBox();
      for (const ref of ['1', '2', '3']) {
        const v = page.locator(`#map-vehicles g.vehicle[data-ref="${ref}"]`);
        await v.waitFor({ state: 'visible' });
        const b = await v.locator('.arrow').boundingBox();
        check(b && b.x > box.x && b.y > box.y && b.x + b.width < box.x + box.width && b.y + b.height < box.y + box.height,
          `vehicle ${ref} drawn outside the map: ${JSON.stringify(b)} vs ${JSON.stringify(box)}`);
      }
      await waitText(page.locator('#map-scale-text'), /m/);
      const homes = await page.locator('#map-homes g.home:not([display])').count();
      console.log(`     ${homes} home markers`);
    });

    await step('clicking a vehicle on the map selects it', async () => {
      await card('2').click();
      await page.locator('#fleet .card.selected[data-ref="2"]').waitFor();
      const b = await page.locator('#map-vehicles g.vehicle[data-ref="1"] .arrow').boundingBox();
      await page.mouse.click(b.x + b.width / 2, b.y + b.height / 2);
      await page.locator('#fleet .card.selected[data-ref="1"]').waitFor();
      await page.locator('#map-vehicles g.vehicle.selected[data-ref="1"]').waitFor();
      await waitText(page.locator('#controls-vehicle'), /vehicle 1/);
    });

    await step('map: the wheel zooms, a drag pans, Fit fleet brings the fleet back', async () => {
      const scaleText = () => page.textContent('#map-scale-text');
      const arrow = page.locator('#map-vehicles g.vehicle[data-ref="2"] .arrow');
      const m = await page.locator('#map-svg').boundingBox();
      const cx = m.x + m.width / 2;
      const cy = m.y + m.height / 2 + 80;
      const s0 = await scaleText();
      await page.mouse.move(cx, cy);
      await page.mouse.wheel(0, 800);
      await page.waitForFunction((s) => document.getElementById('map-scale-text').textContent !== s, s0);
      check((await page.getAttribute('#map-fit', 'aria-pressed')) === 'false', 'still following the fleet after a zoom');
      const before = await arrow.boundingBox();
      await page.mouse.move(cx, cy);
      await page.mouse.down();
      await page.mouse.move(cx + 120, cy - 60, { steps: 6 });
      await page.mouse.up();
      const after = await arrow.boundingBox();
      check(Math.abs(after.x - before.x - 120) < 4 && Math.abs(after.y - before.y + 60) < 4,
        `drag by (120,-60) moved vehicle 2 by (${after.x - before.x},${after.y - before.y})`);
      check(await page.locator('#fleet .card.selected[data-ref="1"]').count() === 1, 'a drag changed the selection');
      // Zooming in by 1.5 spreads the vehicles 1.5 times further apart on screen.
      const spread = async () => {
        const a = await arrow.boundingBox();
        const b = await page.locator('#map-vehicles g.vehicle[data-ref="3"] .arrow').boundingBox();
        return Math.hypot(a.x - b.x, a.y - b.y);
      };
      const d0 = await spread();
      await page.click('#map-zoom-in');
      const ratio = (await spread()) / d0;
      check(Math.abs(ratio - 1.5) < 0.1, `the + button zoomed by ${ratio}, want 1.5`);
      await page.click('#map-fit');
      check((await page.getAttribute('#map-fit', 'aria-pressed')) === 'true', 'Fit fleet did not resume following');
      const box = await page.locator('#map').boundingBox();
      for (const ref of ['1', '2', '3']) {
        const b = await page.locator(`#map-vehicles g.vehicle[data-ref="${ref}"] .arrow`).boundingBox();
        check(b.x > box.x && b.x + b.width < box.x + box.width && b.y > box.y && b.y + b.height < box.y + box.height,
          `vehicle ${ref} out of view after Fit fleet`);
      }
    });

    await step('battery warning colour on a vehicle under 30 %', async () => {
      await page.locator('#fleet .card[data-ref="3"] [data-field="battery"].batt-warn').waitFor();
    });

    await step('mode GUIDED on a disarmed vehicle goes without confirmation', async () => {
      const n = commands.length;
      await page.selectOption('#ctl-mode', 'GUIDED');
      await page.click('#ctl-set-mode');
      check(!(await dialogOpen()), 'a disarmed mode change asked for confirmation');
      await waitText(field('1', 'mode'), /^GUIDED$/);
      await expectResult('ok', /mode GUIDED accepted/);
      check(commands.length === n + 1 && commands[n].command === 'mode' && commands[n].mode === 'GUIDED', `sent ${JSON.stringify(commands.slice(n))}`);
    });

    await step('cancelling a confirmation (button or Escape) sends nothing', async () => {
      const n = commands.length;
      await page.click('#ctl-arm');
      await dialog.waitFor({ state: 'visible' });
      const text = await dialog.textContent();
      check(/Arm vehicle 1/.test(text), `arm confirmation does not name the vehicle: ${text}`);
      await page.click('#confirm-cancel');
      await dialog.waitFor({ state: 'hidden' });
      await page.click('#ctl-arm');
      await dialog.waitFor({ state: 'visible' });
      await page.keyboard.press('Escape');
      await dialog.waitFor({ state: 'hidden' });
      await expectNoCommandSince(n, 'cancelled arm');
      check((await field('1', 'armed').textContent()) === 'disarmed', 'vehicle armed after a cancel');
      await page.locator('#log .log-entry[data-kind="cancelled"]').first().waitFor();
    });

    await step('arm through the confirmation', async () => {
      await page.click('#ctl-arm');
      await dialog.waitFor({ state: 'visible' });
      await page.click('#confirm-ok');
      await waitText(field('1', 'armed'), /^ARMED$/);
      await page.locator('#fleet .card.armed[data-ref="1"]').waitFor();
    });

    await step('take off to 15 m through the confirmation; the card shows the climb', async () => {
      await page.fill('#ctl-alt', '15');
      await page.click('#ctl-takeoff');
      await dialog.waitFor({ state: 'visible' });
      check(/15 m/.test(await dialog.textContent()), 'takeoff confirmation does not show the altitude');
      await page.click('#confirm-ok');
      await expectResult('ok', /takeoff to 15 m accepted/);
      const deadline = Date.now() + 30000;
      let alt = 0;
      while ((alt = await altOf('1')) <= 5) {
        check(Date.now() < deadline, `altitude stuck at ${alt} m`);
        await sleep(200);
      }
      check((await field('1', 'armed').textContent()) === 'ARMED', 'not armed in the air');
      const takeoff = commands.find((c) => c.command === 'takeoff' && c.ref === '1');
      check(takeoff && takeoff.alt_m === 15, `takeoff sent ${JSON.stringify(takeoff)}`);
      console.log(`     vehicle 1 at ${alt} m`);
    });

    await step('a mode change while armed asks first; cancelling keeps the mode', async () => {
      const n = commands.length;
      await page.selectOption('#ctl-mode', 'LOITER');
      await page.click('#ctl-set-mode');
      await dialog.waitFor({ state: 'visible' });
      check(/ARMED/.test(await dialog.textContent()), 'armed mode-change confirmation does not say ARMED');
      await page.click('#confirm-cancel');
      await expectNoCommandSince(n, 'cancelled mode change');
      check((await field('1', 'mode').textContent()) === 'GUIDED', 'mode changed after a cancel');
    });

    await step('go here: pick a point on the map, confirm, the target is drawn', async () => {
      const n = commands.length;
      await page.fill('#ctl-alt', '15');
      await page.click('#ctl-goto');
      await page.locator('#map-pick-hint').waitFor({ state: 'visible' });
      const b = await page.locator('#map-vehicles g.vehicle[data-ref="1"] .arrow').boundingBox();
      await page.mouse.click(b.x + b.width / 2 + 70, b.y + b.height / 2 - 50);
      await dialog.waitFor({ state: 'visible' });
      const text = await dialog.textContent();
      check(/° S/.test(text) && /° E/.test(text) && /15 m/.test(text), `go-here confirmation lacks lat/lon/alt: ${text}`);
      await page.click('#confirm-ok');
      await expectResult('ok', /go to .* accepted/);
      const g = commands[n];
      check(g && g.command === 'goto' && g.alt_m === 15 && g.lat_deg < -35.3 && g.lon_deg > 149.1, `goto sent ${JSON.stringify(g)}`);
      await page.locator('#map-targets g.target:not([display])').first().waitFor();
    });

    await step('a refused command shows why; controls are disabled while it is in flight', async () => {
      await card('2').click();
      await page.locator('#fleet .card.selected[data-ref="2"]').waitFor();
      await page.fill('#ctl-alt', '10');
      const n = commands.length;
      const release = holdCommands();
      await page.click('#ctl-takeoff');
      await dialog.waitFor({ state: 'visible' });
      await page.click('#confirm-ok');
      const deadline = Date.now() + 5000;
      while (commands.length === n) {
        check(Date.now() < deadline, 'takeoff never sent');
        await sleep(20);
      }
      await expectResult('pending', /Sending takeoff to 10 m to vehicle 2/, 5000);
      for (const id of ['#ctl-arm', '#ctl-takeoff', '#ctl-land', '#ctl-rtl', '#ctl-set-mode']) {
        check(await page.locator(id).isDisabled(), `${id} enabled while a command is in flight`);
      }
      release();
      const text = await expectResult('refused', /refused/);
      check(/refused/.test(text) && /disarmed/i.test(text), `refusal does not say why: ${text}`);
      check(!(await page.locator('#ctl-arm').isDisabled()), 'controls stay disabled after the answer');
      await page.locator('#log .log-entry.refused').first().waitFor();
      console.log(`     ${text}`);
    });

    if (live.length + offline.length > 0) {
      await step('video wall: a tile per stream, live ones play, offline ones say so', async () => {
        await page.locator('#video-wall .tile').nth(live.length + offline.length - 1).waitFor({ timeout: 20000 });
        for (const name of live) {
          const tile = page.locator(`#video-wall .tile[data-stream="${name}"]`);
          await tile.locator('.badge-live').waitFor({ timeout: 30000 });
          await page.waitForFunction((n) => {
            const v = document.querySelector(`#video-wall .tile[data-stream="${n}"] video`);
            return v && v.readyState >= 2 && v.getVideoPlaybackQuality().totalVideoFrames > 0 && v.videoWidth > 0;
          }, name, { timeout: 20000 });
          check(/^V\d+$/.test(await tile.locator('.tile-vehicle').textContent()), `${name} does not name its vehicle`);
          // The relay's measured rate and size, from the stream list (refreshed every few seconds).
          await waitText(tile.locator('.tile-info'), /\d+×\d+ · .*\d Mb\/s/);
        }
        for (const name of offline) {
          const tile = page.locator(`#video-wall .tile[data-stream="${name}"]`);
          await tile.locator('.badge-offline').waitFor({ timeout: 20000 });
          // The source's own error, not a generic line: the operator sees why.
          await waitText(tile.locator('.tile-detail'), /refused/i);
        }
        await waitText(page.locator('#stream-count'), new RegExp(`^${live.length + offline.length}$`));
        // Enlarge one, then back to the wall.
        const first = page.locator(`#video-wall .tile[data-stream="${live[0] || offline[0]}"]`);
        await first.locator('.tile-enlarge').click();
        await page.locator('#video-wall.has-enlarged').waitFor();
        check(await page.locator('#video-wall .tile:visible').count() === 1, 'enlarged view shows more than one tile');
        await first.locator('.tile-enlarge').click();
        await page.locator('#video-wall:not(.has-enlarged)').waitFor();
      });
    } else {
      await step('video wall says there are no streams', async () => {
        await page.locator('#video-empty').waitFor({ state: 'visible' });
      });
    }

    await step(`screenshot ${shot}`, async () => {
      await sleep(1500); // a little more trail on the map
      await page.screenshot({ path: shot });
      // The same at 1920x1080, to judge the layout on a command-centre screen.
      await page.setViewportSize({ width: 1920, height: 1080 });
      await sleep(500);
      await page.screenshot({ path: shot.replace(/\.png$/, '-1080.png') });
      await page.setViewportSize({ width: 1280, height: 720 });
    });

    await step('a vehicle whose link is lost is shown stale, then recovers', async () => {
      await request('outage 3 6000');
      await waitText(page.locator('#fleet .card[data-ref="3"] [data-field="stale"]'), /LINK LOST · \d+ s ago/, 10000);
      await page.locator('#fleet .card.stale[data-ref="3"]').waitFor();
      await page.locator('#map-vehicles g.vehicle.stale[data-ref="3"]').waitFor();
      await page.locator('#log .log-entry[data-kind="link_lost"]').first().waitFor();
      check(await page.locator('#fleet .card.stale').count() === 1, 'other vehicles went stale too');
      await page.screenshot({ path: shot.replace(/\.png$/, '-stale.png') });
      await page.locator('#fleet .card[data-ref="3"]:not(.stale)').waitFor({ timeout: 20000 });
      await page.locator('#log .log-entry[data-kind="link_regained"]').first().waitFor();
    });

    await step('a silent socket makes every vehicle stale by the browser clock', async () => {
      silent = true;
      await page.locator('#fleet .card.stale').nth(2).waitFor({ timeout: 8000 });
      await waitText(page.locator('#fleet .card[data-ref="1"] [data-field="stale"]'), /NO UPDATE/);
      silent = false;
      await page.locator('#fleet .card[data-ref="1"]:not(.stale)').waitFor({ timeout: 8000 });
    });

    await step('the server drops the socket (1008): RECONNECTING, all stale, then live again', async () => {
      const n = sockets.length;
      await sockets[n - 1].close({ code: 1008, reason: 'client could not keep up; reconnect' });
      await page.locator('#conn[data-state="reconnecting"]').waitFor({ timeout: 5000 });
      await page.locator('#stale-banner').waitFor({ state: 'visible', timeout: 5000 });
      await page.screenshot({ path: shot.replace(/\.png$/, '-reconnecting.png') });
      await page.locator('#fleet .card.stale').nth(2).waitFor({ timeout: 5000 });
      await page.locator('#conn[data-state="connected"]').waitFor({ timeout: 15000 });
      await page.locator('#stale-banner').waitFor({ state: 'hidden' });
      check(sockets.length > n, 'no new socket after the drop');
      await page.locator('#fleet .card:not(.stale)').nth(2).waitFor({ timeout: 8000 });
    });

    const csp = await page.evaluate(() => window.__csp || []);
    problems.push(...csp.map((c) => `CSP violation: ${c}`));

    if (live.length > 0) {
      await step('leaving the page ends every video session with a DELETE', async () => {
        const before = Number(await request('whep-deletes'));
        check(Number(await request('whep-sessions')) >= live.length, 'fewer WHEP sessions than live tiles');
        await page.goto('about:blank');
        const deadline = Date.now() + 5000;
        let n = 0;
        while ((n = Number(await request('whep-deletes')) - before) < live.length) {
          check(Date.now() < deadline, `${n} DELETE(s) for ${live.length} live session(s)`);
          await sleep(100);
        }
        while (Number(await request('whep-sessions')) > 0) {
          check(Date.now() < deadline, 'WHEP sessions still open after the DELETEs');
          await sleep(100);
        }
      });
    }

    currentStep = 'final checks';
    check(problems.length === 0, problems.join('; '));
    return { ok: true, commands: commands.length };
  } finally {
    await browser.close();
  }
}

const timer = setTimeout(() => {
  console.log(JSON.stringify({ ok: false, error: `timed out after ${OVERALL_MS} ms in step "${currentStep}"` }));
  process.exit(1);
}, OVERALL_MS);

main().then((r) => {
  clearTimeout(timer);
  console.log(JSON.stringify(r));
  process.exit(0);
}, (e) => {
  clearTimeout(timer);
  console.log(JSON.stringify({ ok: false, step: currentStep, error: String(e && e.message ? e.message : e) }));
  process.exit(1);
});
