// Pixel size from hand-made ImageJ, OME-XML, cm/inch-resolution TIFFs, and unit normalisation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { ImageSource } from '../../../models/io/image-source';
import { normaliseUnit, pixelSizeFromTiffPage } from '../../../models/io/metadata';
import { readTiffInfo } from '../../../models/io/tiff-tags';
import { buildTiff, bytesOf, tempDir, type RawPage } from './helpers';

const near = (a: number, b: number): boolean => Math.abs(a - b) < 1e-9 * Math.max(1, Math.abs(b));

async function sizeOf(dir: string, name: string, page: Partial<RawPage>): Promise<ReturnType<typeof pixelSizeFromTiffPage>> {
  const p = join(dir, name);
  writeFileSync(p, buildTiff([{ width: 3, height: 2, data: bytesOf(new Uint16Array(6)), ...page }]));
  return pixelSizeFromTiffPage((await readTiffInfo(p)).pages[0]!);
}

test('normaliseUnit: micron spellings -> µm, others as given', () => {
  for (const u of ['micron', 'microns', 'um', 'µm', '\u03bcm', '\\u00B5m', ' Micron ']) assert.equal(normaliseUnit(u), 'µm', u);
  assert.equal(normaliseUnit('nm'), 'nm');
  assert.equal(normaliseUnit('inch'), 'inch');
});

test('ImageJ description: unit + X/YResolution as pixels per unit', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const a = await sizeOf(dir, 'ij.tif', {
      description: 'ImageJ=1.54f\nunit=micron\nspacing=2\n',
      xResolution: [20, 13],
      yResolution: [40, 13],
      resolutionUnit: 1,
    });
    assert.equal(a.source, 'imagej');
    assert.ok(near(a.pixelSize!.x, 0.65) && near(a.pixelSize!.y, 0.325) && a.pixelSize!.unit === 'µm');
    const esc = await sizeOf(dir, 'ij2.tif', { description: 'ImageJ=1.54f\nunit=\\u00B5m\n', xResolution: [2, 1], yResolution: [2, 1] });
    assert.equal(esc.pixelSize!.unit, 'µm');
    assert.ok(near(esc.pixelSize!.x, 0.5));
    const nm = await sizeOf(dir, 'ij3.tif', { description: 'ImageJ=1.54f\nunit=nm\n', xResolution: [1, 100], yResolution: [1, 100] });
    assert.deepEqual(nm.pixelSize, { x: 100, y: 100, unit: 'nm' });
    const px = await sizeOf(dir, 'ij4.tif', { description: 'ImageJ=1.54f\nunit=pixel\n', xResolution: [1, 1], yResolution: [1, 1] });
    assert.equal(px.pixelSize, undefined);
  } finally {
    cleanup();
  }
});

test('OME-XML description: PhysicalSizeX/Y with and without units', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const ome = (attrs: string): string =>
      `<?xml version="1.0" encoding="UTF-8"?><OME xmlns="http://www.openmicroscopy.org/Schemas/OME/2016-06"><Image ` +
      `ID="Image:0"><Pixels ID="Pixels:0" DimensionOrder="XYZCT" Type="uint16" SizeX="3" SizeY="2" SizeZ="1" SizeC="1" ` +
      `SizeT="1" ${attrs}><TiffData/></Pixels></Image></OME>`;
    const a = await sizeOf(dir, 'o1.ome.tif', { description: ome('PhysicalSizeX="0.1625" PhysicalSizeY="0.2"') });
    assert.equal(a.source, 'ome');
    assert.deepEqual(a.pixelSize, { x: 0.1625, y: 0.2, unit: 'µm' });
    const b = await sizeOf(dir, 'o2.ome.tif', { description: ome('PhysicalSizeX="65" PhysicalSizeXUnit="nm"') });
    assert.deepEqual(b.pixelSize, { x: 65, y: 65, unit: 'nm' });
    const c = await sizeOf(dir, 'o3.ome.tif', { description: ome('PhysicalSizeX="0.5" PhysicalSizeXUnit="&#181;m"') });
    assert.deepEqual(c.pixelSize, { x: 0.5, y: 0.5, unit: 'µm' });
  } finally {
    cleanup();
  }
});

test('plain TIFF resolution: cm and inch converted to µm; software-default dpi ignored', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const cm = await sizeOf(dir, 'cm.tif', { xResolution: [15385, 1], yResolution: [20000, 1], resolutionUnit: 3 });
    assert.equal(cm.source, 'tiff-resolution');
    assert.ok(near(cm.pixelSize!.x, 1e4 / 15385) && near(cm.pixelSize!.y, 0.5) && cm.pixelSize!.unit === 'µm');
    const inch = await sizeOf(dir, 'in.tif', { xResolution: [50800, 1], yResolution: [50800, 1], resolutionUnit: 2 });
    assert.ok(near(inch.pixelSize!.x, 0.5));
    const dflt = await sizeOf(dir, 'def.tif', { xResolution: [50800, 1], yResolution: [50800, 1] }); // unit absent = inch
    assert.ok(near(dflt.pixelSize!.x, 0.5));
    const d72 = await sizeOf(dir, '72.tif', { xResolution: [72, 1], yResolution: [72, 1], resolutionUnit: 2 });
    assert.equal(d72.pixelSize, undefined);
    assert.deepEqual(d72.warnings, []);
    const vips = await sizeOf(dir, 'vips.tif', { xResolution: [10, 1], yResolution: [10, 1], resolutionUnit: 3 });
    assert.equal(vips.pixelSize, undefined);
    const none = await sizeOf(dir, 'none.tif', { xResolution: [3, 1], yResolution: [3, 1], resolutionUnit: 1 });
    assert.equal(none.pixelSize, undefined);
    assert.equal((await sizeOf(dir, 'bare.tif', {})).pixelSize, undefined);
  } finally {
    cleanup();
  }
});

test('ImageSource exposes the pixel size of an ImageJ TIFF', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const p = join(dir, 'ij.tif');
    writeFileSync(
      p,
      buildTiff([
        {
          width: 3,
          height: 2,
          data: bytesOf(new Uint16Array(6)),
          description: 'ImageJ=1.54f\nunit=micron\n',
          xResolution: [4, 1],
          yResolution: [4, 1],
        },
      ]),
    );
    const src = await ImageSource.open(p);
    assert.deepEqual(src.pixelSize, { x: 0.25, y: 0.25, unit: 'µm' });
    await src.close();
  } finally {
    cleanup();
  }
});
