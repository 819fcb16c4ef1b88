// Drives Debian's chromium with playwright-core for the e2e tests (tests/e2e/browser.py).
//
// One browser per process; each named page lives in a context of its own (its own
// localStorage and cookies: one visitor). Line protocol on stdin/stdout, one JSON object per
// line. Requests: {"id": N, "cmd": "...", ...} (waits take "ms"); answers: {"id": N, "ok": true, "value": ...}
// or {"id": N, "ok": false, "error": "..."}. Requests run concurrently (answers carry the id).
// First line out: {"ready": true, "version": "..."}. "quit" or the end of stdin closes the
// browser and exits; so does SIGTERM.
//
// usage: node browser_driver.js   (finds playwright-core in web/node_modules)
'use strict';
const path = require('path');
const readline = require('readline');

const WEB = path.resolve(__dirname, '..', '..', 'web');
const { chromium } = require(require.resolve('playwright-core', { paths: [WEB] }));

const CHROMIUM = process.env.RESPA_CHROMIUM || '/usr/bin/chromium';
// Debian's chromium, never a downloaded one; flags as in shared/STACK.md. playwright gives the
// browser a fresh --user-data-dir of its own (under $TMPDIR) and deletes it at close.
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--disable-dev-shm-usage'];

let browser = null;
const pages = new Map();   // name -> { context, page, log: [] }

function out(obj) {
  process.stdout.write(JSON.stringify(obj) + '\n');
}

function pageOf(name) {
  const p = pages.get(name);
  if (!p) throw new Error(`no page named ${JSON.stringify(name)}`);
  return p;
}

// "() => ..." or "function ..." from the test: a real function, so that playwright calls it
// with arg (a plain string would be evaluated as an expression)
function script(js) {
  return /^\s*(async\s+)?(\([^)]*\)|[A-Za-z_$][\w$]*)\s*=>|^\s*(async\s+)?function\b/.test(js)
    ? new Function(`return (${js});`)()
    : js;
}

// the first element matching selector whose text contains `text` (all of them when text is '')
function locate(page, selector, text) {
  const loc = page.locator(selector);
  return text ? loc.filter({ hasText: text }) : loc;
}

const commands = {
  async page({ name, width = 1000, height = 760 }) {
    if (pages.has(name)) throw new Error(`page ${name} exists`);
    const context = await browser.newContext({ viewport: { width, height } });
    const page = await context.newPage();
    const entry = { context, page, log: [] };
    const stamp = () => new Date().toISOString().slice(11, 23);
    page.on('console', (m) => entry.log.push(`${stamp()} console.${m.type()}: ${m.text()}`));
    page.on('pageerror', (e) => entry.log.push(`${stamp()} pageerror: ${e.message}`));
    page.on('requestfailed', (r) => entry.log.push(`${stamp()} requestfailed: ${r.url()} ${r.failure() && r.failure().errorText}`));
    page.on('websocket', (ws) => {
      entry.log.push(`${stamp()} websocket ${ws.url()}`);
      ws.on('framesent', (f) => entry.log.push(`${stamp()} C->S ${String(f.payload).slice(0, 4000)}`));
      ws.on('framereceived', (f) => entry.log.push(`${stamp()} S->C ${String(f.payload).slice(0, 4000)}`));
    });
    pages.set(name, entry);
    return true;
  },
  async close_page({ name }) {
    const p = pages.get(name);
    if (p) {
      pages.delete(name);
      await p.context.close();
    }
    return true;
  },
  async goto({ name, url, ms = 15000 }) {
    await pageOf(name).page.goto(url, { waitUntil: 'load', timeout: ms });
    return pageOf(name).page.url();
  },
  async reload({ name, ms = 15000 }) {
    await pageOf(name).page.reload({ waitUntil: 'load', timeout: ms });
    return true;
  },
  async fill({ name, selector, text, ms = 10000 }) {
    await pageOf(name).page.locator(selector).first().fill(text, { timeout: ms });
    return true;
  },
  async press({ name, selector, key, ms = 10000 }) {
    await pageOf(name).page.locator(selector).first().press(key, { timeout: ms });
    return true;
  },
  async click({ name, selector, text = '', ms = 10000 }) {
    await locate(pageOf(name).page, selector, text).first().click({ timeout: ms });
    return true;
  },
  // waits until an element matching selector (and containing text) is visible; its innerText
  async wait_text({ name, selector, text = '', ms = 10000 }) {
    const loc = locate(pageOf(name).page, selector, text).first();
    await loc.waitFor({ state: 'visible', timeout: ms });
    return loc.innerText();
  },
  async wait_gone({ name, selector, text = '', ms = 10000 }) {
    await locate(pageOf(name).page, selector, text).first().waitFor({ state: 'detached', timeout: ms });
    return true;
  },
  // innerText of every element matching selector, in document order
  async texts({ name, selector }) {
    return pageOf(name).page.locator(selector).allInnerTexts();
  },
  async attribute({ name, selector, attribute }) {
    return pageOf(name).page.locator(selector).first().getAttribute(attribute, { timeout: 5000 });
  },
  async eval({ name, js, arg = null }) {
    return pageOf(name).page.evaluate(script(js), arg);
  },
  // waits until the function source `js` (called with arg) returns something truthy; returns it
  async wait_js({ name, js, arg = null, ms = 10000 }) {
    const handle = await pageOf(name).page.waitForFunction(script(js), arg, { timeout: ms, polling: 50 });
    return handle.jsonValue();
  },
  async screenshot({ name, path: file, full = false }) {
    await pageOf(name).page.screenshot({ path: file, fullPage: full });
    return file;
  },
  // files: [{ name, mimeType, base64 }] into an <input type=file> (hidden ones too)
  async set_files({ name, selector, files }) {
    await pageOf(name).page.locator(selector).first().setInputFiles(files.map((f) => (
      { name: f.name, mimeType: f.mimeType, buffer: Buffer.from(f.base64, 'base64') })));
    return true;
  },
  // axe-core (web/node_modules) on the page, WCAG 2.0/2.1 A and AA rules, within `include`
  // (a selector; the whole page when empty): its violations, shortened
  async axe({ name, include = '' }) {
    const page = pageOf(name).page;
    if (!await page.evaluate(() => !!window.axe)) {
      await page.addScriptTag({ path: require.resolve('axe-core/axe.min.js', { paths: [WEB] }) });
    }
    return page.evaluate(async (inc) => {
      const r = await window.axe.run(inc ? { include: [inc] } : document,
        { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } });
      return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help,
        nodes: v.nodes.map((n) => n.target.join(' ')).slice(0, 5) }));
    }, include);
  },
  async log({ name }) {
    return pageOf(name).log;
  },
  async quit() {
    setImmediate(shutdown);
    return true;
  },
};

let closing = false;
async function shutdown() {
  if (closing) return;
  closing = true;
  try {
    if (browser) await browser.close();
  } catch (e) {
    process.stderr.write(`closing the browser: ${e.message}\n`);
  }
  process.exit(0);
}

async function handle(line) {
  let req;
  try {
    req = JSON.parse(line);
  } catch (e) {
    out({ id: null, ok: false, error: `bad request: ${e.message}` });
    return;
  }
  const fn = commands[req.cmd];
  try {
    if (!fn) throw new Error(`unknown command ${req.cmd}`);
    const value = await fn(req);
    out({ id: req.id, ok: true, value: value === undefined ? null : value });
  } catch (e) {
    out({ id: req.id, ok: false, error: String(e && e.message || e).split('\n').slice(0, 12).join('\n') });
  }
}

(async () => {
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS, headless: true });
  out({ ready: true, version: browser.version() });
  const rl = readline.createInterface({ input: process.stdin });
  rl.on('line', (line) => { if (line.trim()) handle(line); });
  rl.on('close', shutdown);
})().catch((e) => {
  process.stderr.write(`browser_driver: ${e.stack || e}\n`);
  out({ ready: false, error: String(e.message || e) });
  process.exit(1);
});
