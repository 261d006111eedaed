#!/usr/bin/env node
// Boots a PSP EBOOT.PBP in PPSSPP (EmulatorJS WebAssembly core) inside Debian's headless
// Chromium, driven by playwright-core, and relays what the program writes to stdout.
//
//   node ppsspp.mjs --emulatorjs <@emulatorjs/emulatorjs package/data dir>
//                   --core <dir with ppsspp-thread-wasm.data, ppsspp-assets.zip, reports/ppsspp.json>
//                   --image <path/EBOOT.PBP> --timeout <seconds>
//                   [--chromium /usr/bin/chromium] [--end-marker @@END@@]
//
// stdout: one line per program stdout line (the "[PRINTF] stdout: " prefix stripped).
// stderr: every other console message, page errors, timings.
// exit:   0 after the end marker, 3 on timeout, 4 on start failure (message names the step),
//         5 when PPSSPP reports a fault of the program (also printed on stdout as a CPU exception),
//         1 on any other error, 128+n on signal n. Browser and server are always closed.

import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import process from 'node:process';
import { chromium } from 'playwright-core';

const t0 = Date.now();
const secs = () => ((Date.now() - t0) / 1000).toFixed(2);
const log = (msg) => process.stderr.write(`[harness ${secs()}s] ${msg}\n`);

// ------------------------------------------------------------------ arguments
function parseArgs(argv) {
  const opts = { chromium: '/usr/bin/chromium', endMarker: '@@END@@' };
  const names = { '--emulatorjs': 'emulatorjs', '--core': 'core', '--image': 'image',
                  '--timeout': 'timeout', '--chromium': 'chromium', '--end-marker': 'endMarker' };
  for (let i = 0; i < argv.length; i++) {
    let [k, v] = argv[i].split(/=(.*)/s, 2);
    if (!(k in names)) throw new Error(`unknown argument ${k}`);
    if (v === undefined) {
      v = argv[++i];
      if (v === undefined) throw new Error(`missing value for ${k}`);
    }
    opts[names[k]] = v;
  }
  for (const k of ['emulatorjs', 'core', 'image', 'timeout']) {
    if (opts[k] === undefined) throw new Error(`missing --${k}`);
  }
  opts.timeout = Number(opts.timeout);
  if (!(opts.timeout > 0)) throw new Error('--timeout must be a positive number of seconds');
  opts.emulatorjs = path.resolve(opts.emulatorjs);
  opts.core = path.resolve(opts.core);
  opts.image = path.resolve(opts.image);
  const need = [
    [path.join(opts.emulatorjs, 'loader.js'), '--emulatorjs must be the package\'s data/ dir'],
    [path.join(opts.emulatorjs, 'src', 'emulator.js'), '--emulatorjs must be the package\'s data/ dir'],
    [path.join(opts.core, 'ppsspp-thread-wasm.data'), '--core lacks the threaded core'],
    [path.join(opts.core, 'ppsspp-assets.zip'), '--core lacks ppsspp-assets.zip'],
    [opts.image, '--image not found'],
    [opts.chromium, 'chromium not found'],
  ];
  for (const [f, why] of need) {
    if (!fs.existsSync(f)) throw new Error(`${why}: ${f}`);
  }
  return opts;
}

// ------------------------------------------------------------------- state
let server = null;
let browser = null;
let finishing = null;
// Time reserved for closing the browser and server, so the whole run stays within --timeout.
let graceMs = 3000;

// Waits for `promise` at most `ms`; true when it settled in time.
async function withCap(promise, ms) {
  let timer;
  const cap = new Promise((resolve) => { timer = setTimeout(() => resolve(false), ms); });
  try {
    return await Promise.race([promise.then(() => true, () => true), cap]);
  } finally { clearTimeout(timer); }
}

// Close everything (bounded in time) and exit. Idempotent: the first caller wins.
function finish(code, message) {
  if (finishing) return finishing;
  if (message) log(message);
  finishing = (async () => {
    const b = browser; browser = null;
    if (b) {
      const tc = Date.now();
      const closed = await withCap(b.close(), Math.max(300, graceMs - 700));
      log(closed ? `browser closed in ${((Date.now() - tc) / 1000).toFixed(2)} s`
                 : 'browser close timed out: killed on exit');
    }
    const s = server; server = null;
    if (s) {
      s.closeAllConnections?.();
      await withCap(new Promise((r) => s.close(r)), 200);
    }
    // playwright-core kills a still-running browser process in its own 'exit' handler.
    process.exit(code);
  })();
  return finishing;
}

for (const [sig, num] of [['SIGINT', 2], ['SIGTERM', 15], ['SIGHUP', 1]]) {
  process.on(sig, () => finish(128 + num, `caught ${sig}: closing`));
}
process.on('uncaughtException', (e) => finish(1, `error: ${e?.stack || e}`));
process.on('unhandledRejection', (e) => finish(1, `error: ${e?.stack || e}`));

// ------------------------------------------------------------------ HTTP server
const MIME = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8',
  '.json': 'application/json', '.wasm': 'application/wasm', '.png': 'image/png',
  '.svg': 'image/svg+xml', '.ico': 'image/x-icon',
};

function pageHtml(imageName) {
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>ppsspp harness</title>
<style>html,body{margin:0;background:#000}#game{width:480px;height:272px}</style></head>
<body><div id="game"></div>
<script>
  window.EJS_player = '#game';
  window.EJS_core = 'psp';
  window.EJS_pathtodata = '/data/';
  window.EJS_gameUrl = '/game/${encodeURIComponent(imageName)}';
  window.EJS_gameName = 'harness';
  window.EJS_startOnLoaded = true;
  window.EJS_threads = true;
  window.EJS_DEBUG_XX = true;
  window.EJS_disableDatabases = true;
  window.EJS_disableLocalStorage = true;
  window.EJS_disableAutoLang = false;
  window.EJS_volume = 0;
  window.EJS_onGameStart = () => console.log('[harness] EJS game start');
</script>
<script src="/data/loader.js"></script>
</body></html>`;
}

function startServer(opts) {
  const imageName = path.basename(opts.image);
  const html = pageHtml(imageName);
  const roots = [
    ['/data/cores/', opts.core],
    ['/data/', opts.emulatorjs],
  ];
  const srv = http.createServer((req, res) => {
    const headers = {
      'Cross-Origin-Opener-Policy': 'same-origin',
      'Cross-Origin-Embedder-Policy': 'require-corp',
      'Cross-Origin-Resource-Policy': 'same-origin',
      'Cache-Control': 'no-store',
    };
    const url = new URL(req.url, 'http://127.0.0.1');
    const p = decodeURIComponent(url.pathname);
    let file = null;
    if (p === '/' || p === '/index.html') {
      res.writeHead(200, { ...headers, 'Content-Type': MIME['.html'] });
      res.end(html);
      return;
    }
    if (p === '/favicon.ico') {
      res.writeHead(204, headers);
      res.end();
      return;
    }
    if (p === `/game/${imageName}`) {
      file = opts.image;
    } else {
      for (const [prefix, dir] of roots) {
        if (p.startsWith(prefix)) {
          const f = path.resolve(dir, '.' + p.slice(prefix.length - 1));
          if (f.startsWith(dir + path.sep)) file = f;
          break;
        }
      }
    }
    let st = null;
    try { st = file && fs.statSync(file); } catch { st = null; }
    if (!st || !st.isFile()) {
      log(`http 404 ${req.method} ${p}`);
      res.writeHead(404, headers);
      res.end();
      return;
    }
    res.writeHead(200, {
      ...headers,
      'Content-Type': MIME[path.extname(file)] || 'application/octet-stream',
      'Content-Length': st.size,
    });
    if (req.method === 'HEAD') { res.end(); return; }
    fs.createReadStream(file).on('error', () => res.destroy()).pipe(res);
  });
  return new Promise((resolve, reject) => {
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => resolve(srv));
  });
}

// --------------------------------------------------------------------- main
async function main() {
  let opts;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (e) {
    return finish(4, `start failure: arguments: ${e.message}`);
  }
  // The deadline counts from the start of the node process; graceMs of the budget is kept for
  // closing the browser and server.
  graceMs = Math.min(3000, Math.max(1500, opts.timeout * 250));
  const budgetMs = Math.max(300, opts.timeout * 1000 - graceMs - process.uptime() * 1000);
  setTimeout(() => finish(3, `timeout: no "${opts.endMarker}" within ${opts.timeout} s`), budgetMs);

  let step = 'http server';
  let tLaunch = 0;
  let firstLine = false;
  try {
    server = await startServer(opts);
    const port = server.address().port;
    log(`serving on http://127.0.0.1:${port}/`);

    step = 'chromium launch';
    tLaunch = Date.now();
    browser = await chromium.launch({
      executablePath: opts.chromium,
      headless: true,
      chromiumSandbox: false,
      handleSIGINT: false, handleSIGTERM: false, handleSIGHUP: false,
      timeout: budgetMs,
      args: [
        '--headless=new',
        '--no-sandbox',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
        '--autoplay-policy=no-user-gesture-required',
        '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1',
      ],
    });
    if (finishing) return;
    log(`chromium ${browser.version()} up in ${((Date.now() - tLaunch) / 1000).toFixed(2)} s`);

    step = 'page';
    const page = await browser.newPage({ viewport: { width: 640, height: 480 } });
    const PREFIX = '[PRINTF] stdout: ';
    page.on('console', (msg) => {
      const text = msg.text();
      const at = text.indexOf(PREFIX);
      if (at < 0) {
        process.stderr.write(`[console.${msg.type()} ${secs()}s] ${text}\n`);
        // PPSSPP reports a fault of the program (a jump to or an access of an address with
        // nothing behind it) in its memory-map log; the program goes no further.
        const fault = text.match(/\[MEMMAP\]\s*(.*Invalid.*)$/);
        if (fault) {
          process.stdout.write(`!!! CPU exception: PPSSPP: ${fault[1]}\n`);
          finish(5, `program fault: ${fault[1]}`);
        }
        return;
      }
      const body = text.slice(at + PREFIX.length).replace(/\r?\n$/, '');
      for (const line of body.split(/\r?\n/)) {
        if (!firstLine) {
          firstLine = true;
          log(`boot time (chromium launch -> first program line): ${((Date.now() - tLaunch) / 1000).toFixed(2)} s`);
        }
        process.stdout.write(line + '\n');
        if (line.trim() === opts.endMarker) {
          finish(0, `end marker seen; total ${secs()} s`);
          return;
        }
      }
    });
    page.on('pageerror', (e) => process.stderr.write(`[pageerror] ${e?.stack || e}\n`));
    page.on('crash', () => finish(1, 'page crashed'));

    step = 'page load';
    await page.goto(`http://127.0.0.1:${port}/`, {
      waitUntil: 'load', timeout: budgetMs,
    });
    step = 'emulator';
    // Check that the page has what PPSSPP needs; the rest is reported through the console.
    const env = await page.evaluate(() => ({
      isolated: self.crossOriginIsolated,
      sab: typeof SharedArrayBuffer === 'function',
      webgl2: !!document.createElement('canvas').getContext('webgl2'),
    }));
    if (!env.isolated || !env.sab) throw new Error(`page not cross-origin isolated: ${JSON.stringify(env)}`);
    if (!env.webgl2) throw new Error('no WebGL2 in this Chromium (PPSSPP needs it)');
    log(`page loaded (${JSON.stringify(env)})`);
  } catch (e) {
    if (finishing) return;
    return finish(4, `start failure: ${step}: ${String(e?.message || e).split('\n')[0]}`);
  }
}

main();
