#!/usr/bin/env node
// Headless PS-EXE runner: EmulatorJS's pcsx_rearmed libretro core (emscripten RetroArch + core,
// wasm) under plain Node.js (>= 20): no browser, no X, HLE BIOS, null video/audio/input.
// The guest writes text into a RAM "mailbox" ring; this script drains it to stdout.
//
// Install the core (pinned; no `npm install`, which pulls every EmulatorJS core):
//   apt-get install -y p7zip-full
//   npm pack @emulatorjs/core-pcsx_rearmed@4.2.3        # -> emulatorjs-core-pcsx_rearmed-4.2.3.tgz
//   tar xzf emulatorjs-core-pcsx_rearmed-4.2.3.tgz      # -> package/pcsx_rearmed-wasm.data (a 7z archive)
//   7z x -o<CORE_DIR> package/pcsx_rearmed-wasm.data    # -> <CORE_DIR>/pcsx_rearmed_libretro.{js,wasm}
//
// Usage:
//   node pcsx_rearmed.mjs --core <CORE_DIR> --image <file.exe> --mailbox 0x801FEF00 --timeout <seconds>
// Exit codes: 0 the stream had an "@@END@@" line, 3 timeout, 4 the core failed to start, load
// or run (stderr names the step), 1 bad arguments, 128+n on signal n.
// stdout carries only the mailbox stream (plus "@@HARNESS ...@@" lines); the core log and
// timings go to stderr.
//
// Structure: this process is only a watchdog and printer. It re-runs this file as a child
// process (--emulator-child) that hosts the wasm core, polls the mailbox after every frame and
// sends the bytes over IPC. The parent SIGKILLs the child when done: a Node process that
// compiled this 4 MB wasm otherwise takes 1-2 s to exit (V8 waits for its background
// optimising compiler), and a wedged core can never hold the parent past --timeout.
//
// Mailbox (little-endian u32 fields at guest address --mailbox, RAM offset = addr & 0x1FFFFF):
const MAILBOX = {magic: 0, capacity: 4, write: 8, read: 12, attached: 16, lost: 20, data: 24};
const MAILBOX_MAGIC = 0x424D4C46; // "FLMB" in memory
const END_LINE = '@@END@@';

import fs from 'node:fs';
import path from 'node:path';
import vm from 'node:vm';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const PSX_RAM_SIZE = 0x200000;
const CORE_JS = 'pcsx_rearmed_libretro.js';
const CORE_WASM = 'pcsx_rearmed_libretro.wasm';
const CHILD_FLAG = '--emulator-child';


// ---------------------------------------------------------------- parent: watchdog + output

function main() {
  const t0 = performance.now();
  const ms = () => Math.round(performance.now() - t0);
  const errln = (s) => writeAll(2, s.endsWith('\n') ? s : s + '\n');
  const usage = (msg) => {
    errln(`pcsx_rearmed.mjs: ${msg}`);
    errln('usage: node pcsx_rearmed.mjs --core <dir> --image <file.exe> --mailbox 0x801FEF00 --timeout <seconds>');
    process.exit(1);
  };
  const args = {};
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i++) {
    const m = /^--(core|image|mailbox|timeout)(?:=(.*))?$/.exec(argv[i]);
    if (!m) usage(`unknown argument '${argv[i]}'`);
    args[m[1]] = m[2] !== undefined ? m[2] : argv[++i];
    if (args[m[1]] === undefined) usage(`missing value for --${m[1]}`);
  }
  for (const k of ['core', 'image', 'mailbox', 'timeout']) if (!(k in args)) usage(`missing --${k}`);
  const mailbox = Number(args.mailbox);
  if (!Number.isInteger(mailbox) || mailbox < 0 || mailbox > 0xFFFFFFFF) usage(`bad --mailbox '${args.mailbox}'`);
  if ((mailbox & 3) !== 0 || (mailbox & 0x1FFFFF) + MAILBOX.data > PSX_RAM_SIZE) usage(`--mailbox ${args.mailbox} is not a word-aligned address in the 2 MiB RAM`);
  const timeout = Number(args.timeout);
  if (!(timeout > 0)) usage(`bad --timeout '${args.timeout}'`);

  let child = null;
  let finishing = false;
  const finish = (code) => {
    if (finishing) return;
    finishing = true;
    if (!child || child.exitCode !== null || child.signalCode !== null) process.exit(code);
    child.once('exit', () => process.exit(code)); // reap it, then go
    setTimeout(() => process.exit(code), 1000);
    try { child.kill('SIGKILL'); } catch { process.exit(code); }
  };
  let stdoutEndsWithNewline = true;
  const out = (buf) => {
    if (buf.length === 0) return;
    writeAll(1, buf);
    stdoutEndsWithNewline = buf[buf.length - 1] === 0x0A;
  };
  const harness = (s) => out(Buffer.from((stdoutEndsWithNewline ? '' : '\n') + `@@HARNESS ${s}@@\n`));
  const die = (step, msg) => {
    if (finishing) return;
    errln(`pcsx_rearmed.mjs: FAILED at step '${step}': ${msg}`);
    finish(4);
  };
  for (const [sig, n] of [['SIGINT', 2], ['SIGTERM', 15], ['SIGHUP', 1]]) process.on(sig, () => finish(128 + n));

  let started = false;
  let frames = 0;
  setTimeout(() => {
    if (finishing) return;
    errln(`pcsx_rearmed.mjs: timeout after ${timeout} s (${ms()} ms since start; ${started ? `about ${frames} frames run` : 'the core had not started'})`);
    harness('timeout');
    finish(3);
  }, timeout * 1000);

  // Check the inputs here so the messages are clear before any wasm runs.
  for (const f of [CORE_JS, CORE_WASM]) {
    const p = path.join(args.core, f);
    if (!fs.existsSync(p)) die('find core files', `${p} does not exist (extract pcsx_rearmed-wasm.data of @emulatorjs/core-pcsx_rearmed into --core)`);
  }
  let image;
  try { image = fs.readFileSync(args.image); } catch (e) { die('read image', `${args.image}: ${e.message}`); }
  if (image.length < 2048 || image.toString('latin1', 0, 8) !== 'PS-X EXE') die('read image', `${args.image} is not a PS-EXE (no "PS-X EXE" header)`);

  const childArgs = { core: path.resolve(args.core), image: path.resolve(args.image), mailbox, deadline: timeout + 10 };
  child = spawn(process.execPath, [fileURLToPath(import.meta.url), CHILD_FLAG, JSON.stringify(childArgs)], {
    stdio: ['ignore', 2, 2, 'ipc'], // the child's own stdout also goes to our stderr: stdout is for the mailbox only
    serialization: 'advanced',
  });

  let line = [];           // start of the current stream line (enough to recognise END_LINE)
  let firstByteSeen = false;
  child.on('message', (m) => {
    if (finishing) return;
    switch (m.t) {
      case 'started':
        started = true;
        errln(`pcsx_rearmed.mjs: core started after ${ms()} ms (guest RAM at wasm heap offset 0x${m.ram.toString(16)})`);
        break;
      case 'progress': frames = m.frame; break;
      case 'harness': harness(m.s); break;
      case 'fail': die(m.step, m.msg); break;
      case 'out': {
        const buf = Buffer.from(m.bytes.buffer, m.bytes.byteOffset, m.bytes.byteLength);
        if (!firstByteSeen && buf.length) {
          firstByteSeen = true;
          errln(`pcsx_rearmed.mjs: first mailbox byte after ${ms()} ms (frame ${m.frame})`);
        }
        for (let i = 0; i < buf.length; i++) {
          if (buf[i] !== 0x0A) { if (line.length <= END_LINE.length + 1) line.push(buf[i]); continue; }
          const text = Buffer.from(line).toString('latin1').replace(/\r$/, '');
          line = [];
          if (text === END_LINE) {
            out(buf.subarray(0, i + 1));
            errln(`pcsx_rearmed.mjs: saw ${END_LINE} after ${ms()} ms (frame ${m.frame})`);
            finish(0);
            return;
          }
        }
        out(buf);
        break;
      }
    }
  });
  child.on('error', (e) => finishing || die(started ? 'run frames' : 'start core', `emulator process: ${e.message}`));
  child.on('exit', (code, sig) => finishing || die(started ? 'run frames' : 'start core', `emulator process exited (${sig || 'code ' + code})`));
}

const closedFds = new Set();
function writeAll(fd, data) {
  if (closedFds.has(fd)) return;
  const buf = typeof data === 'string' ? Buffer.from(data) : data;
  let off = 0;
  while (off < buf.length) {
    try { off += fs.writeSync(fd, buf, off, buf.length - off); } catch (e) {
      if (e.code === 'EPIPE') { closedFds.add(fd); return; } // reader went away: keep going, keep the exit code
      if (e.code !== 'EAGAIN') throw e;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 2); // a full non-blocking pipe
    }
  }
}

// ---------------------------------------------------------------- child: the emulator

function send(m) { if (process.connected) process.send(m); }
function childFail(step, e) {
  send({ t: 'fail', step, msg: (e && e.stack) || String(e) });
  setTimeout(() => process.exit(4), 1000); // normally the parent SIGKILLs us first
}

let step = 'start core'; // what the child is doing, for failure messages

async function emulatorChild(args) {
  try {
    await startEmulator(args);
  } catch (e) {
    childFail(step, e);
  }
}

async function startEmulator({ core, image: imagePath, mailbox, deadline }) {
  const log = (s) => writeAll(2, s + '\n');
  process.on('uncaughtException', (e) => childFail(step, e));
  process.on('unhandledRejection', (e) => childFail(step, e));
  setTimeout(() => process.exit(0), deadline * 1000).unref();
  const image = fs.readFileSync(imagePath);

  // --- the browser surface the emscripten RetroArch frontend touches (DOM stubs)
  const noop = () => {};
  const element = () => ({
    style: { setProperty: noop, removeProperty: noop }, addEventListener: noop, removeEventListener: noop,
    getBoundingClientRect: () => ({ left: 0, top: 0, right: 640, bottom: 480, width: 640, height: 480 }),
    width: 640, height: 480, clientWidth: 640, clientHeight: 480, getContext: () => null,
    setAttribute: noop, appendChild: noop, focus: noop,
  });
  const canvas = element();
  globalThis.document = {
    addEventListener: noop, removeEventListener: noop, createElement: element, getElementById: () => canvas,
    querySelector: () => canvas, body: element(), documentElement: element(), visibilityState: 'visible',
    fullscreenElement: null, pointerLockElement: null,
  };
  if (typeof globalThis.navigator === 'undefined') globalThis.navigator = { userAgent: 'node', languages: ['en-US'] };
  globalThis.ResizeObserver = class { observe() {} unobserve() {} disconnect() {} };

  // Frame pump: the frontend runs its main loop through requestAnimationFrame (emscripten
  // timing mode 1). Run the next frame as soon as the event loop is free: no frame limiting.
  globalThis.requestAnimationFrame = (cb) => setImmediate(() => cb(performance.now()));
  // After every main-loop iteration (one retro_run): drain the mailbox, report progress.
  let frame = 0;
  let pollMailbox = null;
  let lastProgress = 0;
  const afterFrame = () => {
    frame++;
    if (pollMailbox) pollMailbox();
    const now = performance.now();
    if (now - lastProgress >= 1000) {
      lastProgress = now;
      if (!process.connected) process.exit(0);
      send({ t: 'progress', frame });
    }
  };

  // --- load the emscripten module (a classic script that defines EJS_Runtime)
  step = 'load core js';
  const src = fs.readFileSync(path.join(core, CORE_JS), 'utf8');
  const factory = vm.runInThisContext(src + '\n;EJS_Runtime', { filename: CORE_JS });

  let ramOff = null;
  let contentFailed = false;
  let lastLine = null;
  let repeats = 0;
  const coreLog = (s) => {
    if (s === lastLine) { // e.g. the HLE BIOS's "game crash @..." once per exception: don't drown in it
      repeats++;
      if (repeats <= 3) log('[core] ' + s);
      else if (repeats % 100000 === 0) log(`[core] (last line repeated ${repeats} times so far)`);
      return;
    }
    if (repeats > 3) log(`[core] (last line repeated ${repeats} times)`);
    lastLine = s;
    repeats = 0;
    log('[core] ' + s);
    const m = /psxMap: tried to map @80000000, got (?:0x)?([0-9a-f]+)/i.exec(s);
    if (m) ramOff = parseInt(m[1], 16);
    if (/Failed to load content/i.test(s)) contentFailed = true;
  };
  const mkdirp = (FS, p) => {
    let cur = '';
    for (const part of p.split('/').filter(Boolean)) { cur += '/' + part; try { FS.mkdir(cur); } catch {} }
  };
  let Module;
  step = 'compile wasm';
  // Compile and instantiate synchronously: with emscripten's default asynchronous
  // WebAssembly.instantiate the event loop sat idle for 1-2 s before the first frame.
  const wasmModule = new WebAssembly.Module(fs.readFileSync(path.join(core, CORE_WASM)));
  step = 'instantiate wasm';
  Module = await factory({
    instantiateWasm: (imports, done) => { done(new WebAssembly.Instance(wasmModule, imports), wasmModule); return {}; },
    canvas,
    noInitialRun: true,
    postMainLoop: afterFrame,
    print: coreLog,
    printErr: coreLog,
    locateFile: (p) => path.join(core, p),
    onAbort: (what) => childFail(step, `core aborted: ${what}`),
    callbacks: {
      // The EmulatorJS build calls this once it knows where its core options file lives.
      setupCoreSettingFile: (p) => {
        mkdirp(Module.FS, path.posix.dirname(p));
        Module.FS.writeFile(p, CORE_OPTIONS);
      },
    },
  });
  // Only now: set earlier, emscripten would think it runs in a browser.
  globalThis.window = globalThis;
  Object.assign(globalThis, { addEventListener: noop, removeEventListener: noop, devicePixelRatio: 1, resizeTo: noop, scrollX: 0, scrollY: 0, pageXOffset: 0, pageYOffset: 0 });

  step = 'write config and content';
  const FS = Module.FS;
  mkdirp(FS, '/home/web_user/.config/retroarch');
  mkdirp(FS, '/home/web_user/retroarch/userdata/config/PCSX-ReARMed');
  mkdirp(FS, '/home/web_user/retroarch/system');
  mkdirp(FS, '/content');
  FS.writeFile('/home/web_user/.config/retroarch/retroarch.cfg', RETROARCH_CFG);
  FS.writeFile('/home/web_user/retroarch/userdata/config/PCSX-ReARMed/PCSX-ReARMed.opt', CORE_OPTIONS);
  const contentPath = '/content/' + (path.basename(imagePath).replace(/[^A-Za-z0-9._-]/g, '_') || 'game.exe');
  FS.writeFile(contentPath, new Uint8Array(image.buffer, image.byteOffset, image.byteLength));

  // RetroArch's main() loads the core (statically linked) and the content, then installs
  // its main loop and unwinds (emscripten "simulate infinite loop").
  step = 'load content (callMain)';
  try {
    Module.callMain(['-v', contentPath]);
  } catch (e) {
    if (e !== 'unwind') return childFail(step, e);
  }
  if (contentFailed) return childFail('load content', `RetroArch reported "Failed to load content" for ${imagePath} (see the core log above)`);
  if (ramOff === null) return childFail('locate guest RAM', 'no "psxMap: tried to map @80000000, got ..." line in the core log');

  // Sanity check: right after loading, the EXE's text must be at t_addr in guest RAM.
  const tAddr = image.readUInt32LE(0x18), tSize = image.readUInt32LE(0x1C);
  const tOff = ramOff + (tAddr & 0x1FFFFF);
  const n = Math.min(tSize, image.length - 2048, 4096);
  for (let i = 0; i < n; i++) {
    if (Module.HEAPU8[tOff + i] !== image[2048 + i]) {
      return childFail('locate guest RAM', `guest RAM at 0x${(tAddr + i).toString(16)} does not match the EXE (heap offset 0x${ramOff.toString(16)})`);
    }
  }
  send({ t: 'started', ram: ramOff });
  step = 'run frames';

  // --- mailbox, host side
  const base = ramOff + (mailbox & 0x1FFFFF);
  let attachedOnce = false;
  let warnedCap = false;
  pollMailbox = () => {
    const heap = Module.HEAPU8; // re-read every time: the wasm memory may grow
    const dv = new DataView(heap.buffer);
    const u32 = (f) => dv.getUint32(base + MAILBOX[f], true);
    if (u32('magic') !== MAILBOX_MAGIC) return;
    const cap = u32('capacity');
    if (cap === 0 || (mailbox & 0x1FFFFF) + MAILBOX.data + cap > PSX_RAM_SIZE) {
      if (!warnedCap) { warnedCap = true; log(`pcsx_rearmed.mjs: mailbox capacity ${cap} is invalid; ignoring the mailbox`); }
      return;
    }
    if (u32('attached') !== 1) {
      if (!attachedOnce) {
        const lost = u32('lost');
        if (lost > 0) send({ t: 'harness', s: `lost ${lost} bytes before attaching` });
        log(`pcsx_rearmed.mjs: attached to the mailbox at 0x${mailbox.toString(16)} (capacity ${cap}) after frame ${frame}`);
      } else {
        log(`pcsx_rearmed.mjs: the guest re-initialised the mailbox (frame ${frame}); attaching again`);
      }
      attachedOnce = true;
      dv.setUint32(base + MAILBOX.attached, 1, true);
    }
    const write = u32('write');
    let read = u32('read');
    let avail = (write - read) >>> 0;
    if (avail === 0) return;
    if (avail > cap) {
      log(`pcsx_rearmed.mjs: mailbox overrun (write=${write} read=${read} capacity=${cap}); skipping ${avail - cap} bytes`);
      read = (write - cap) >>> 0;
      avail = cap;
    }
    const bytes = new Uint8Array(avail);
    const data = base + MAILBOX.data;
    const start = read % cap;
    const first = Math.min(avail, cap - start);
    bytes.set(heap.subarray(data + start, data + start + first), 0);
    if (first < avail) bytes.set(heap.subarray(data, data + (avail - first)), first);
    dv.setUint32(base + MAILBOX.read, write, true);
    send({ t: 'out', bytes, frame });
  };
  pollMailbox();
}

// RetroArch frontend config: no video/audio/menu/input work, log everything, never throttle.
const RETROARCH_CFG = [
  'video_driver = "null"', 'audio_driver = "null"', 'audio_enable = "false"', 'audio_sync = "false"',
  'input_driver = "null"', 'menu_driver = "null"', 'video_vsync = "false"', 'vrr_runloop_enable = "false"',
  'fastforward_ratio = "0.0"', 'log_verbosity = "true"', 'frontend_log_level = "0"', 'libretro_log_level = "0"',
  'savestate_auto_load = "false"', 'savestate_auto_save = "false"', 'rewind_enable = "false"',
  'config_save_on_exit = "false"', 'history_list_enable = "false"', 'video_font_enable = "false"',
  'pause_nonactive = "false"', 'system_directory = "/home/web_user/retroarch/system"', '',
].join('\n');

// pcsx_rearmed core options: HLE BIOS (there is no Sony BIOS file; "auto" would fall back to HLE too).
const CORE_OPTIONS = [
  'pcsx_rearmed_bios = "HLE"', 'pcsx_rearmed_show_bios_bootlogo = "disabled"', 'pcsx_rearmed_region = "NTSC"',
  'pcsx_rearmed_memcard2 = "disabled"',
  // Raise address and bus errors as the console does (off by default, for speed): a program's
  // fault then reaches its exception handler instead of passing unnoticed.
  'pcsx_rearmed_exception_emulation = "enabled"', '',
].join('\n');

if (process.argv[2] === CHILD_FLAG) {
  // Never outlive the parent, even if it was SIGKILLed (also checked after every frame).
  process.on('disconnect', () => process.exit(0));
  if (!process.connected) process.exit(0);
  emulatorChild(JSON.parse(process.argv[3]));
} else {
  main();
}
