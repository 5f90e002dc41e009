// The Fiji/ImageJ bridge in a real ImageJ (Debian's 1.53t, under xvfb-run): `phasesr fiji-install` puts the
// macro into an ImageJ folder, one ImageJ launch runs every case as a batch macro against a phasesr server on
// 127.0.0.1, and the test reads back what the macro printed and saved: the result's size, type, title and
// calibration (the original's, in its own unit, divided by the scale), pixels equal to `runSr` of the same
// file, the original left as it was, and the error messages (server down, a folder the server refuses, RGB).
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { ImageSource, runSr, writeImage } from '../../models';
import { phasesr } from '../helpers/cli';
import { synthImage } from '../helpers/image';
import { outsideTempDir, tempDir } from '../helpers/shared';
import { startServer, tinyModelDir, type TestServer } from '../server/helpers';
import { ijString, runImageJ, type ImageJRun } from './imagej';

const dir = tempDir('phasesr-fiji-test-');
const ijDir = path.join(dir, 'ImageJ');
const home = path.join(dir, 'home');
const exchange = path.join(dir, 'exchange');
/** Not allowed by the server: outside its exchange folder and the test folders (--allow-dir). */
const outside = outsideTempDir('fiji-test-');

let srv: TestServer;
let deadPort: number;
let run: ImageJRun;
let installOut: string;
const file = (name: string) => path.join(dir, name);

async function image16(name: string, w: number, h: number, seed: number, px: { x: number; y: number }): Promise<string> {
  const data = Uint16Array.from(synthImage(w, h, seed), (v) => Math.round(v) + 100 * seed);
  await writeImage(file(name), { width: w, height: h, dtype: 'uint16', data }, { pixelSize: { ...px, unit: 'mm' } });
  return file(name);
}

async function pixels(f: string): Promise<{ w: number; h: number; dtype: string; data: Float32Array }> {
  const src = await ImageSource.open(f);
  try {
    return { w: src.width, h: src.height, dtype: src.dtype, data: await src.readRegion(0, 0, src.width, src.height) };
  } finally {
    await src.close();
  }
}

async function reference(input: string, scale: 2 | 4 | 8): Promise<string> {
  const out = input.replace(/\.tif$/, `-ref-x${scale}.tif`);
  await runSr({ input, output: out, scale, model: await tinyModelDir(), threads: 1, log: () => {} });
  return out;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net
      .createServer()
      .listen(0, '127.0.0.1', () => {
        const { port } = s.address() as net.AddressInfo;
        s.close(() => resolve(port));
      })
      .on('error', reject);
  });
}

/** `TAG k=v|k=v...` lines printed by report() in the macro. */
function report(tag: string): Record<string, string> {
  const line = run.stdout.split('\n').find((l) => l.startsWith(`${tag} `));
  assert.ok(line, `no ${tag} line in ImageJ's output:\n${run.stdout}\n${run.stderr}`);
  return Object.fromEntries(
    line
      .slice(tag.length + 1)
      .split('|')
      .map((kv) => kv.split('=', 2) as [string, string]),
  );
}

/** What the macro printed between two markers (the command's messages land there). */
function between(from: string, to: string): string {
  const a = run.stdout.indexOf(from);
  const b = run.stdout.indexOf(to, a);
  assert.ok(a >= 0 && b > a, `markers ${from}..${to} missing:\n${run.stdout}\n${run.stderr}`);
  return run.stdout.slice(a + from.length, b);
}

before(async () => {
  mkdirSync(path.join(ijDir, 'plugins'), { recursive: true });
  mkdirSync(path.join(ijDir, 'macros'), { recursive: true });
  mkdirSync(home, { recursive: true });
  mkdirSync(exchange, { recursive: true });
  const inst = await phasesr(['fiji-install', ijDir]);
  assert.equal(inst.code, 0, inst.stderr);
  installOut = inst.stdout;

  srv = await startServer();
  deadPort = await freePort();
  await image16('cal16.tif', 48, 40, 4, { x: 0.5, y: 0.4 });
  await image16('slice-a.tif', 24, 20, 1, { x: 0.65, y: 0.65 });
  await image16('slice-b.tif', 24, 20, 2, { x: 0.65, y: 0.65 });

  const macro = `
function report(tag) {
  getVoxelSize(pw, ph, pd, unit);
  print(tag + " title=" + getTitle() + "|w=" + getWidth() + "|h=" + getHeight() + "|slices=" + nSlices + "|bits=" + bitDepth()
    + "|pw=" + d2s(pw, 9) + "|ph=" + d2s(ph, 9) + "|unit=" + unit + "|images=" + nImages + "|dir=" + getInfo("image.directory")
    + "|raw=" + d2s(getValue("RawIntDen"), 0));
}
server = ${ijString(srv.url)};

// 1: the remembered server (preferences), scale from the options, the default folder (the server's exchange
// folder: the server allows neither the OS temp folder nor any other folder of this test's parent); the
// original stays as it was.
call("ij.Prefs.set", "phasesr.server", server);
call("ij.Prefs.set", "phasesr.scale", "2");
open(${ijString(file('cal16.tif'))});
original = getImageID();
report("CASE1_BEFORE");
print("CASE1_HEALTH_BEFORE " + File.openUrlAsString(server + "/health"));
run("PhaseSR Super Resolve", "scale=8");
print("CASE1_HEALTH_AFTER " + File.openUrlAsString(server + "/health"));
report("CASE1_RESULT");
saveAs("Tiff", ${ijString(file('ij-cal16-x8.tif'))});
selectImage(original);
report("CASE1_AFTER");

// 2: the recordable form with every option, on a two-slice stack, through another exchange folder.
open(${ijString(file('slice-a.tif'))});
open(${ijString(file('slice-b.tif'))});
run("Images to Stack", "name=pair title=slice- use");
setVoxelSize(650, 520, 1, "nm");
run("PhaseSR Super Resolve", "scale=4 server=" + server + " model=tiny folder=[" + ${ijString(exchange)} + "]");
report("CASE2_RESULT");
for (i = 1; i <= nSlices; i++) {
  setSlice(i);
  run("Duplicate...", "title=plane");
  saveAs("Tiff", ${ijString(file('ij-pair-x4-'))} + i + ".tif");
  close();
}

// 3: no server at that port.
selectImage(original);
print("CASE3_BEGIN images=" + nImages);
run("PhaseSR Super Resolve", "scale=8 server=http://127.0.0.1:${deadPort}");
print("CASE3_END images=" + nImages);

// 4: an exchange folder outside the server's allowed folders.
print("CASE4_BEGIN images=" + nImages);
run("PhaseSR Super Resolve", "scale=8 server=" + server + " folder=[" + ${ijString(outside)} + "]");
print("CASE4_END images=" + nImages);

// 5: RGB, with unequal channels: converted to grey by the server, with its warning.
newImage("colour", "RGB black", 16, 16, 1);
setColor(200, 60, 10);
fillRect(0, 0, 8, 16);
print("CASE5_BEGIN");
run("PhaseSR Super Resolve", "scale=2 server=" + server);
print("CASE5_END");
report("CASE5_RESULT");
print("ALL_DONE");
`;
  const macroFile = file('cases.ijm');
  writeFileSync(macroFile, macro);
  run = await runImageJ(ijDir, macroFile, { home, timeoutMs: 240_000 });
  assert.match(run.stdout, /ALL_DONE/, `the batch macro did not finish:\n${run.stdout}\n${run.stderr}`);
});

after(async () => {
  await srv?.server.close();
});

test('phasesr fiji-install puts the macro where ImageJ lists it as a command and says how to use it', () => {
  assert.ok(readdirSync(path.join(ijDir, 'plugins', 'PhaseSR')).includes('PhaseSR_Super_Resolve.ijm'));
  assert.match(installOut, /Plugins › PhaseSR › PhaseSR Super Resolve/);
  assert.match(installOut, /npx phasesr serve/);
  // ImageJ found the command (case 1 ran it by name), otherwise it reports "Unrecognized command".
  assert.doesNotMatch(run.stdout + run.stderr, /Unrecognized command/);
});

test('16-bit image with a calibration: 8x, 16-bit, titled <title>-SRx8, calibration / 8 in the same unit, pixels = phasesr sr', async () => {
  const r = report('CASE1_RESULT');
  assert.deepEqual([r.title, r.w, r.h, r.slices, r.bits, r.unit], ['cal16-SRx8', '384', '320', '1', '16', 'mm']);
  assert.ok(Math.abs(Number(r.pw) - 0.5 / 8) < 1e-9, `pixel width ${r.pw}`);
  assert.ok(Math.abs(Number(r.ph) - 0.4 / 8) < 1e-9, `pixel height ${r.ph}`);
  const got = await pixels(file('ij-cal16-x8.tif'));
  const ref = await pixels(await reference(file('cal16.tif'), 8));
  assert.deepEqual([got.w, got.h, got.dtype], [ref.w, ref.h, 'uint16']);
  assert.deepEqual(got.data, ref.data);
});

test('the original image is untouched: same title, size, calibration, file folder and pixels', () => {
  const b = report('CASE1_BEFORE');
  const a = report('CASE1_AFTER');
  assert.equal(b.title, 'cal16.tif');
  for (const k of ['title', 'w', 'h', 'bits', 'pw', 'ph', 'unit', 'dir', 'raw']) assert.equal(a[k], b[k], k);
  assert.equal(a.dir, `${dir}/`);
  assert.equal(a.images, '2', 'the original and the result');
});

test('a stack is super-resolved slice by slice with the recordable option string; exchange files are removed', async () => {
  const r = report('CASE2_RESULT');
  assert.deepEqual([r.title, r.w, r.h, r.slices, r.bits, r.unit], ['pair-SRx4', '96', '80', '2', '16', 'nm']);
  assert.deepEqual([Number(r.pw), Number(r.ph)], [650 / 4, 520 / 4]);
  for (const [i, name] of [
    [1, 'slice-a.tif'],
    [2, 'slice-b.tif'],
  ] as const) {
    const got = await pixels(file(`ij-pair-x4-${i}.tif`));
    const ref = await pixels(await reference(file(name), 4));
    assert.deepEqual([got.w, got.h], [96, 80]);
    assert.deepEqual(got.data, ref.data, `slice ${i}`);
  }
  assert.deepEqual(readdirSync(exchange), [], 'the macro deletes what it hands to the server');
});

test('server not running: the message names the URL and the command that starts it; nothing opens', () => {
  const msg = between('CASE3_BEGIN', 'CASE3_END');
  assert.match(msg, new RegExp(`not running at http://127\\.0\\.0\\.1:${deadPort}`));
  assert.match(msg, new RegExp(`npx phasesr serve --port ${deadPort}`));
  assert.match(msg, /in the phasesr folder/);
  assert.match(run.stdout, /CASE3_BEGIN images=(\d+)\s[\s\S]*CASE3_END images=\1\b/);
});

test("a folder outside the server's allowed folders: the server refuses and the macro shows its error text", () => {
  const msg = between('CASE4_BEGIN', 'CASE4_END');
  assert.match(msg, /SR_ERR_PATH_FORBIDDEN: .*is not inside an allowed folder \(start the server with --allow-dir DIR\)/);
  assert.match(run.stdout, /CASE4_BEGIN images=(\d+)\s[\s\S]*CASE4_END images=\1\b/);
  assert.deepEqual(readdirSync(outside), [], 'the refused exchange file is removed too');
});

test('an RGB image is converted to grey as `phasesr sr` does, and the conversion is reported in the log', () => {
  const msg = between('CASE5_BEGIN', 'CASE5_END');
  assert.match(msg, /PhaseSR Super Resolve: colour: warning: colour image converted to grey \(luma 0\.299 R/);
  const r = report('CASE5_RESULT');
  assert.deepEqual([r.title, r.w, r.h, r.bits], ['colour-SRx2', '32', '32', '8']);
});

test("one run() is one job on the server (ImageJ opens every URL twice): counted by the server's own counter", async () => {
  const health = (tag: string) =>
    (
      JSON.parse(
        run.stdout
          .split('\n')
          .find((l) => l.startsWith(`${tag} `))!
          .slice(tag.length + 1),
      ) as { stats: { srJobs: number } }
    ).stats.srJobs;
  assert.equal(health('CASE1_HEALTH_AFTER') - health('CASE1_HEALTH_BEFORE'), 1, 'a one-plane image');
  // All cases: 1 (case 1) + 2 (the two-slice stack) + 1 (RGB); the refused and server-down cases compute nothing.
  const all = (await (await fetch(`${srv.url}/health`)).json()) as { stats: { srJobs: number } };
  assert.equal(all.stats.srJobs, 4);
});
