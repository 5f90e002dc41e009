// The command as a user meets it, in the full ImageJ 1.53t window (under xvfb-run): chosen like a menu
// item (IJ.doCommand) with the Macro Recorder open, its dialog accepted with Enter. The dialog's defaults are
// the options remembered from an earlier session (IJ_Prefs.txt: the test server's random port, scale 4, and
// the OS temp folder that older versions remembered as the exchange folder), so the result shows they were
// read; the temp folder, which the server no longer opens, gives way to the server's own exchange folder; the
// Recorder shows the recordable call; quitting keeps them remembered.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { writeImage } from '../../models';
import { installMacro } from '../../fiji-bridge/install';
import { synthImage } from '../helpers/image';
import { tempDir } from '../helpers/shared';
import { startServer, type TestServer } from '../server/helpers';
import { ijString, runImageJ, type ImageJRun } from './imagej';

const dir = tempDir('phasesr-fiji-dialog-test-');
const ijDir = path.join(dir, 'ImageJ');
const home = path.join(dir, 'home');
const prefsFile = path.join(home, '.imagej', 'IJ_Prefs.txt');
const outFile = path.join(dir, 'out.txt');
let srv: TestServer;
let run: ImageJRun;
let out: Record<string, string>;

/** Java properties escaping, as ImageJ writes IJ_Prefs.txt. */
const prop = (v: string) => v.replace(/[:=\\]/g, (c) => `\\${c}`);

before(async () => {
  mkdirSync(path.join(ijDir, 'plugins'), { recursive: true });
  mkdirSync(path.join(ijDir, 'macros'), { recursive: true });
  mkdirSync(path.dirname(prefsFile), { recursive: true });
  await installMacro(ijDir);
  srv = await startServer();
  writeFileSync(prefsFile, `.phasesr.server=${prop(srv.url)}\n.phasesr.scale=4\n.phasesr.folder=${prop(`${os.tmpdir()}/`)}\n`);
  const input = path.join(dir, 'cells.tif');
  await writeImage(
    input,
    { width: 40, height: 32, dtype: 'uint16', data: Uint16Array.from(synthImage(40, 32, 3), Math.round) },
    { pixelSize: { x: 0.5, y: 0.5, unit: 'mm' } },
  );

  const macro = `
open(${ijString(input)});
run("Record...");
call("ij.IJ.doCommand", "PhaseSR Super Resolve");
// The command runs in its own thread, like a menu click; the Recorder gets its line when it has finished.
recorded = "";
t0 = getTime();
while (indexOf(recorded, "PhaseSR Super Resolve") < 0 && getTime() - t0 < 120000) {
  wait(250);
  if (isOpen("Recorder")) { selectWindow("Recorder"); recorded = getInfo("window.contents"); }
}
// The line is recorded when the dialog closes; the result appears (calibrated) when the command ends.
unit = "";
while (unit != "mm" && getTime() - t0 < 120000) {
  wait(250);
  if (isOpen("cells-SRx4")) { selectImage("cells-SRx4"); getVoxelSize(pw, ph, pd, unit); }
}
s = "recorded=" + String.trim(replace(recorded, "\\n", " ")) + "\\n";
if (isOpen("cells-SRx4")) {
  selectImage("cells-SRx4");
  getVoxelSize(pw, ph, pd, unit);
  s = s + "title=" + getTitle() + "\\nw=" + getWidth() + "\\nh=" + getHeight() + "\\npw=" + d2s(pw, 9) + "\\nunit=" + unit + "\\n";
}
titles = getList("image.titles");
s = s + "titles=" + String.join(titles) + "\\n";
close("*");
File.saveString(s, ${ijString(outFile)});
run("Quit");
`;
  const macroFile = path.join(dir, 'dialog.ijm');
  writeFileSync(macroFile, macro);
  run = await runImageJ(ijDir, macroFile, { home, timeoutMs: 150_000, pressEnterUntil: outFile });
  assert.ok(existsSync(outFile), `the macro wrote nothing:\n${run.stdout}\n${run.stderr}`);
  out = Object.fromEntries(
    readFileSync(outFile, 'utf8')
      .split('\n')
      .filter((l) => l.includes('='))
      .map((l) => {
        const i = l.indexOf('=');
        return [l.slice(0, i), l.slice(i + 1)];
      }),
  );
});

after(async () => {
  await srv?.server.close();
});

test('the dialog opens with the remembered server and scale; OK super-resolves with them', () => {
  assert.equal(out.title, 'cells-SRx4', `images: ${out.titles}; ImageJ said:\n${run.stdout}\n${run.stderr}`);
  assert.deepEqual([out.w, out.h, out.unit], ['160', '128', 'mm']);
  assert.equal(Number(out.pw), 0.5 / 4);
});

test("the Macro Recorder records the call with every option, ready for batch macros (folder empty: the server's exchange folder)", () => {
  assert.equal(out.recorded?.trim(), `run("PhaseSR Super Resolve", "server=${srv.url} scale=4 model=[] folder=[]");`);
});

test('the options are still remembered after ImageJ quits (written to IJ_Prefs.txt)', () => {
  const prefs = readFileSync(prefsFile, 'utf8');
  assert.match(prefs, new RegExp(`^\\.phasesr\\.server=${prop(srv.url).replace(/[\\.]/g, (c) => `\\${c}`)}$`, 'm'));
  assert.match(prefs, /^\.phasesr\.scale=4$/m);
  // The old default, the OS temp folder, is no longer remembered: empty means the server's exchange folder.
  assert.doesNotMatch(prefs, /^\.phasesr\.folder=.+$/m);
});
