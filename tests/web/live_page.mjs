// tests/web/live_page.mjs - the live page (src/serve/page/index.html) in a real browser.
//
//   npm install --prefix tests/web            # playwright-core only; it never downloads a browser
//   node tests/web/live_page.mjs http://127.0.0.1:PORT [screenshot.png]
//
// Drives Debian's /usr/bin/chromium (headless) against a running `assay run` with
// `http: {listen: ...}` and at least one active alert, and checks what a person sees
// against what the API says:
//   - the page loads with no console error, no uncaught exception, no failed request
//     and no request to another origin (the page is self-contained);
//   - the WebSocket connects (#conn data-state="live");
//   - #overall is /api/v1/score's overall with 2 decimals (the same record: #overall's
//     data-id is the record's id), and every dimension of the record, and only those,
//     is a [data-dimension] of #dimensions with the record's score (data-score and text);
//   - no horizontal overflow at 1366x768 and 1920x1080;
//   - the active alerts listed are /api/v1/alerts?state=active's; there is at least one;
//   - Acknowledge on a firing alert: GET /api/v1/alerts/ID says "acknowledged", the row
//     shows data-state="acknowledged" and its ack button is disabled;
//   - Resolve: GET /api/v1/alerts/ID says "resolved" and the row disappears.
// Windows may close while it runs, so comparisons retry until the page and the API
// agree, within bounded timeouts. With a server that has http.token_file, set
// ASSAY_TOKEN: the test types it into the page's token form when the page asks.
//
// Exit status 0 when every check passed, 1 with the reason on stderr otherwise.
import { chromium } from 'playwright-core';

const LAUNCH_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const STEP_MS = 15000;   // one agreement between page and API
const ACTION_MS = 10000; // an ack or resolve reaching the API
const TOTAL_MS = 120000; // the whole test

const base = (process.argv[2] || '').replace(/\/+$/, '');
const shot = process.argv[3] || '';
const token = process.env.ASSAY_TOKEN || '';

class Failure extends Error {}
function fail(msg) { throw new Failure(msg); }
function log(msg) { process.stdout.write(`live_page: ${msg}\n`); }
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// The page's rounding (src/serve/page/index.html fixed2): the exact binary value with
// two decimals, ties to even, as C's printf("%.2f") and Python's format(x, ".2f").
function fixed2(x) {
  if (typeof x !== 'number' || !Number.isFinite(x)) return '\u2013';
  const a = Math.abs(x);
  if (a >= 1e21) return x.toFixed(2);
  const s = a.toFixed(100);
  const dot = s.indexOf('.');
  const frac = s.slice(dot + 1);
  let n = BigInt(s.slice(0, dot) + frac.slice(0, 2));
  const d = frac.charCodeAt(2) - 48;
  if (d > 5 || (d === 5 && (/[1-9]/.test(frac.slice(3)) || n % 2n === 1n))) n += 1n;
  let t = n.toString().padStart(3, '0');
  t = t.slice(0, -2) + '.' + t.slice(-2);
  return x < 0 && t !== '0.00' ? '-' + t : t;
}

function selfTestFixed2() {
  const cases = [[97.125, '97.12'], [97.375, '97.38'], [0.125, '0.12'], [100, '100.00'], [0, '0.00'],
    [99.9999, '100.00'], [57.5855, '57.59'], [1.005, '1.00'], [2.675, '2.67'], [89.9449, '89.94'], [12.3450, '12.35']];
  for (const [x, want] of cases) if (fixed2(x) !== want) fail(`fixed2(${x}) = ${fixed2(x)}, want ${want}`);
}

async function api(path, { timeout = 5000 } = {}) {
  let resp;
  try {
    resp = await fetch(base + path, { signal: AbortSignal.timeout(timeout), headers: { Accept: 'application/json' } });
  } catch (e) {
    fail(`GET ${path}: ${e.message}`);
  }
  const text = await resp.text();
  let body = null;
  try { body = JSON.parse(text); } catch { body = null; }
  return { status: resp.status, body, text };
}

// Retry fn until it returns a truthy value; its last complaint (a string) is the failure.
async function until(what, ms, fn, every = 200) {
  const end = Date.now() + ms;
  let last = '';
  for (;;) {
    const r = await fn();
    if (r === true || (r && typeof r === 'object')) return r;
    if (typeof r === 'string') last = r;
    if (Date.now() > end) fail(`${what}: not within ${ms / 1000} s${last ? ': ' + last : ''}`);
    await sleep(every);
  }
}

async function main() {
  if (!/^https?:\/\/[^/]+$/.test(base)) {
    process.stderr.write('usage: node tests/web/live_page.mjs http://HOST:PORT [screenshot.png]\n');
    process.exit(1);
  }
  selfTestFixed2();
  const origin = new URL(base).origin;

  // The server must have closed a window before the page can show one.
  await until('the first window (GET /api/v1/score)', 30000, async () => {
    const r = await api('/api/v1/score');
    return r.status === 200 ? true : `status ${r.status}: ${r.text.slice(0, 200)}`;
  }, 300);

  const problems = [];
  let closing = false;
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: LAUNCH_ARGS, headless: true, timeout: 30000 });
  try {
    const context = await browser.newContext({ viewport: { width: 1366, height: 768 }, serviceWorkers: 'block' });
    context.setDefaultTimeout(STEP_MS);
    const page = await context.newPage();
    page.on('console', (m) => {
      if (m.type() !== 'error' || closing) return;
      const where = m.location() && m.location().url ? m.location().url : '';
      // The token flow answers 401 before the page asks for the token: expected.
      if (token && /Failed to load resource: the server responded with a status of 401/.test(m.text()) &&
          /\/api\/v1\/alerts\/[^/]+\/(ack|resolve)$/.test(where)) return;
      problems.push(`console error: ${m.text()}${where ? ' (' + where + ')' : ''}`);
    });
    page.on('pageerror', (e) => problems.push(`uncaught exception in the page: ${e.message}`));
    page.on('request', (rq) => {
      const u = rq.url();
      if (u.startsWith('data:') || u.startsWith('about:') || u.startsWith('blob:')) return;
      let o = '';
      try { o = new URL(u).origin; } catch { o = u; }
      if (o !== origin) problems.push(`request to another origin: ${rq.method()} ${u}`);
    });
    page.on('requestfailed', (rq) => {
      if (!closing) problems.push(`request failed: ${rq.method()} ${rq.url()}: ${rq.failure() ? rq.failure().errorText : '?'}`);
    });
    page.on('response', (r) => {
      if (r.status() >= 500) problems.push(`server error: ${r.status()} for ${r.request().method()} ${r.url()}`);
    });
    const checkProblems = (when) => { if (problems.length) fail(`${when}: ${problems.join('; ')}`); };

    const resp = await page.goto(base + '/', { waitUntil: 'load', timeout: STEP_MS });
    if (!resp || resp.status() !== 200) fail(`GET / answered ${resp ? resp.status() : 'nothing'}`);
    const ctype = resp.headers()['content-type'] || '';
    if (!/^text\/html/.test(ctype)) fail(`GET / has Content-Type '${ctype}', want text/html`);

    await page.waitForSelector('#conn[data-state="live"]', { timeout: STEP_MS })
      .catch(() => fail('#conn never reached data-state="live" (the WebSocket to /api/v1/stream did not open)'));
    log('page loaded, stream live');
    checkProblems('loading the page');

    // --- the score and its dimensions agree with /api/v1/score --------------------
    const agreed = await until('#overall and #dimensions agreeing with /api/v1/score', STEP_MS, async () => {
      const a = await api('/api/v1/score');
      if (a.status !== 200 || !a.body) return `GET /api/v1/score: ${a.status}`;
      const seen = await page.evaluate(() => {
        const ov = document.getElementById('overall');
        const dims = [...document.querySelectorAll('#dimensions > [data-dimension]')].map((e) => ({
          name: e.getAttribute('data-dimension'),
          score: e.getAttribute('data-score'),
          text: (e.querySelector('.dim-value') || e).textContent.trim(),
        }));
        return {
          overall: ov ? ov.textContent : null, id: ov ? ov.getAttribute('data-id') : null,
          window: (document.getElementById('window') || {}).textContent || '',
          children: document.getElementById('dimensions').children.length, dims,
        };
      });
      const b = await api('/api/v1/score');
      if (b.status !== 200 || !b.body || b.body.id !== a.body.id) return 'a window closed while comparing';
      const rec = a.body;
      const want = rec.overall === null ? '\u2013' : fixed2(rec.overall);
      if (seen.overall !== want) return `#overall is '${seen.overall}', /api/v1/score's overall ${rec.overall} is '${want}' (record ${rec.id}, page ${seen.id})`;
      if (seen.id !== rec.id) return `#overall shows record ${seen.id}, /api/v1/score is ${rec.id}`;
      if (!seen.window || /waiting|loading/.test(seen.window)) return `#window says '${seen.window}'`;
      const dims = rec.dimensions && typeof rec.dimensions === 'object' ? rec.dimensions : {};
      const names = Object.keys(dims);
      if (seen.children !== seen.dims.length) return `#dimensions has ${seen.children} children, ${seen.dims.length} with data-dimension`;
      const got = seen.dims.map((d) => d.name).sort().join(',');
      if (got !== [...names].sort().join(',')) return `dimensions shown [${got}], the record has [${names.sort().join(',')}]`;
      for (const d of seen.dims) {
        const v = dims[d.name];
        if (v === null || v === undefined) {
          if (d.score !== '') return `dimension ${d.name}: data-score '${d.score}', the record has null`;
        } else if (Number(d.score) !== v || d.score === '') {
          return `dimension ${d.name}: data-score '${d.score}', the record has ${v}`;
        } else if (d.text !== fixed2(v)) {
          return `dimension ${d.name}: shows '${d.text}', want '${fixed2(v)}'`;
        }
      }
      return { rec, seen };
    }, 300);
    log(`#overall ${agreed.seen.overall} = /api/v1/score overall ${agreed.rec.overall} (record ${agreed.rec.id}); ` +
        `${agreed.seen.dims.length} dimensions match`);

    // --- layout: nothing wider than the viewport --------------------------------------
    for (const vp of [{ width: 1920, height: 1080 }, { width: 1366, height: 768 }]) {
      await page.setViewportSize(vp);
      await sleep(150);
      const o = await page.evaluate(() => {
        const d = document.documentElement;
        const wide = [...document.querySelectorAll('body *')].filter((e) => {
          const r = e.getBoundingClientRect();
          return r.width > 0 && r.right > d.clientWidth + 1;
        }).slice(0, 3).map((e) => e.tagName.toLowerCase() + (e.id ? '#' + e.id : e.className ? '.' + String(e.className).split(' ')[0] : ''));
        return { scroll: d.scrollWidth, client: d.clientWidth, wide };
      });
      if (o.scroll > o.client || o.wide.length)
        fail(`horizontal overflow at ${vp.width}x${vp.height}: scrollWidth ${o.scroll} > ${o.client}; ${o.wide.join(', ')}`);
    }
    log('no horizontal overflow at 1920x1080 and 1366x768');

    // --- the active alerts -------------------------------------------------------------
    const listed = await until('#alerts listing /api/v1/alerts?state=active', STEP_MS, async () => {
      const a = await api('/api/v1/alerts?state=active');
      if (a.status !== 200 || !a.body || !Array.isArray(a.body.alerts)) return `GET /api/v1/alerts?state=active: ${a.status} ${a.text.slice(0, 200)}`;
      const want = a.body.alerts.map((x) => x.id).sort();
      if (!want.length) return 'the server has no active alert (the test needs one)';
      const rowsSeen = await page.$$eval('#alerts > [data-alert-id]', (els) => els.map((e) => ({ id: e.getAttribute('data-alert-id'), state: e.getAttribute('data-state') })));
      const got = rowsSeen.map((r) => r.id).sort();
      if (got.join(',') !== want.join(',')) return `the page lists [${got}], the API [${want}]`;
      for (const r of rowsSeen) {
        const rec = a.body.alerts.find((x) => x.id === r.id);
        const st = rec.state === 'acknowledged' || rec.acked ? 'acknowledged' : 'firing';
        if (r.state !== st) return `alert ${r.id}: the row says ${r.state}, the API ${rec.state}`;
      }
      return { alerts: a.body.alerts, rows: rowsSeen };
    }, 300);
    log(`${listed.rows.length} active alert(s) listed, as the API says`);

    if (shot) {
      await page.setViewportSize({ width: 1366, height: 768 });
      await page.screenshot({ path: shot, timeout: STEP_MS });
      log(`screenshot ${shot}`);
    }

    const target = listed.rows.find((r) => r.state === 'firing');
    if (!target) fail(`every active alert is acknowledged already (${listed.rows.map((r) => r.id)}): nothing to acknowledge`);
    const id = target.id;
    const row = page.locator(`#alerts > [data-alert-id="${id}"]`);

    // The explanation is collapsed, and opens.
    const det = row.locator('details');
    if (await det.count()) {
      if (await det.evaluate((d) => d.open)) fail(`alert ${id}: the explanation is expanded before anyone opened it`);
      await det.locator('summary').click();
      if (!(await det.evaluate((d) => d.open))) fail(`alert ${id}: clicking the summary did not expand the explanation`);
    }

    // If the server wants a token, the page asks for it in its form.
    const answerTokenForm = async () => {
      if (!token) return;
      const form = page.locator('#auth');
      if (await form.isVisible()) {
        await page.fill('#auth-token', token);
        await form.locator('button[type="submit"]').click();
      }
    };
    const waitApiState = (want) => until(`GET /api/v1/alerts/${id} reporting "${want}"`, ACTION_MS, async () => {
      await answerTokenForm();
      const r = await api('/api/v1/alerts/' + id);
      if (r.status !== 200 || !r.body) return `status ${r.status}: ${r.text.slice(0, 200)}`;
      if (r.body.state === want) return true;
      const err = await row.locator('.row-error').allTextContents().catch(() => []);
      const asks = !token && (await page.locator('#auth').isVisible().catch(() => false));
      return `state is "${r.body.state}"${err.length ? `; the page says: ${err.join(' ')}` : ''}` +
        (asks ? '; the server wants a bearer token (the page shows its token form): set ASSAY_TOKEN' : '');
    }, 200);

    // --- acknowledge --------------------------------------------------------------
    await row.locator('[data-action="ack"]').click({ timeout: STEP_MS });
    await waitApiState('acknowledged');
    await page.waitForSelector(`#alerts > [data-alert-id="${id}"][data-state="acknowledged"]`, { timeout: ACTION_MS })
      .catch(() => fail(`alert ${id}: the API says acknowledged, the row never showed data-state="acknowledged"`));
    if (!(await row.locator('[data-action="ack"]').isDisabled())) fail(`alert ${id}: the ack button is still enabled after the ack`);
    log(`alert ${id} acknowledged through the page`);

    // --- resolve ------------------------------------------------------------------
    await row.locator('[data-action="resolve"]').click({ timeout: STEP_MS });
    await waitApiState('resolved');
    await page.waitForSelector(`#alerts > [data-alert-id="${id}"]`, { state: 'detached', timeout: ACTION_MS })
      .catch(() => fail(`alert ${id}: the API says resolved, the row is still on the page`));
    log(`alert ${id} resolved through the page; its row is gone`);

    // --- the rest is still consistent -------------------------------------------------
    const stats = await page.evaluate(() => ['stat-rows-per-second', 'stat-rows', 'stat-bad-rows', 'stat-late-rows', 'stat-lag']
      .map((i) => [i, document.getElementById(i) ? document.getElementById(i).textContent.trim() : null]));
    for (const [i, t] of stats) {
      if (t === null) fail(`#${i} is missing`);
      if (!/^(\u2013|-?[\d,]+(\.\d+)?)$/.test(t)) fail(`#${i} shows '${t}', not a formatted number`);
    }
    const rowsText = stats.find(([i]) => i === 'stat-rows')[1];
    if (rowsText === '\u2013') fail('#stat-rows was never filled (no /api/v1/status or stats event reached the page)');
    if (await page.locator('img, iframe, object, embed').count()) fail('the page has img/iframe/object/embed elements (record text was parsed as HTML?)');
    await sleep(300);
    checkProblems('at the end');
    log('all checks passed');
  } finally {
    closing = true;
    await browser.close().catch(() => {});
  }
}

const watchdog = setTimeout(() => {
  process.stderr.write(`live_page: FAIL: the test did not finish within ${TOTAL_MS / 1000} s\n`);
  process.exit(1);
}, TOTAL_MS);

main().then(() => {
  clearTimeout(watchdog);
  process.stdout.write('live_page: 1 passed, 0 failed\n');
  process.exit(0);
}, (e) => {
  clearTimeout(watchdog);
  process.stderr.write(`live_page: FAIL: ${e instanceof Failure ? e.message : (e && e.stack) || e}\n`);
  process.stdout.write('live_page: 0 passed, 1 failed\n');
  process.exit(1);
});
