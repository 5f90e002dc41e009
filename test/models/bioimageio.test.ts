// `phasesr export --bioimageio`: the zip a user gets is a bioimage.io model package (format 0.5) whose yaml
// validates against the spec's JSON Schema (ajv), whose ONNX weights reproduce its test outputs from its
// test input on onnxruntime-node (the yaml's preprocessing redone here, the spec's default tolerances), and
// whose sha256 entries match its files. Halo, opset and outputs follow the model, not constants.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { before, test } from 'node:test';

import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { unzipSync } from 'fflate';
import * as ort from 'onnxruntime-node';
import { parse } from 'yaml';

import { DEFAULT_MODEL, generatorParams, haloFor, parseConfig, PRESETS, resolveModel, saveModel } from '../../models';
import { validationSection } from '../../models/bioimageio/documentation';
import { decodeNpy } from '../../models/bioimageio/npy';
import { bioimageioPackage } from '../../models/bioimageio/package';
import { ONNX_OPSET } from '../../models/engine/onnx-export';
import { randomWeights } from '../../models/params';
import { phasesr } from '../helpers/cli';
import { SHARED, tempDir } from '../helpers/shared';

// biome-ignore lint/suspicious/noExplicitAny: an rdf.yaml is read as loose YAML; each test checks the fields it needs
type Rdf = Record<string, any>;
const dir = tempDir('phasesr-bioimageio-');
const zipFile = path.join(dir, 'phasesr-lite.zip');
let files: Record<string, Uint8Array>;
let rdf: Rdf;

before(async () => {
  const r = await phasesr(['export', '--bioimageio', zipFile], { timeoutMs: 300_000 });
  assert.equal(r.code, 0, r.stderr);
  files = unzipSync(new Uint8Array(await readFile(zipFile)));
  rdf = parse(new TextDecoder().decode(files['bioimageio.yaml']));
});

function validator() {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats(ajv);
  // The pydantic-generated schema names two formats of its own: relative and local file paths.
  ajv.addFormat('path', true).addFormat('file-path', true);
  const schema = JSON.parse(readFileSync(path.join(SHARED, 'specs', 'bioimageio', 'bioimageio_schema.json'), 'utf8'));
  const whole = ajv.compile(schema);
  const model05 = ajv.compile({ $ref: '#/$defs/bioimageio__spec__model__v0_5__ModelDescr', $defs: schema.$defs });
  return { whole, model05 };
}

test('bioimageio.yaml validates against the bioimage.io JSON Schema (model 0.5) with ajv; a broken copy does not', () => {
  const { whole, model05 } = validator();
  assert.ok(model05(rdf), JSON.stringify(model05.errors?.slice(0, 5)));
  assert.ok(whole(rdf), JSON.stringify(whole.errors?.slice(0, 5)));
  assert.equal(rdf.format_version.startsWith('0.5'), true);
  const broken = structuredClone(rdf);
  broken.weights.onnx.opset_version = 3;
  assert.equal(model05(broken), false, 'opset 3 is below the schema minimum');
  const noAxes = structuredClone(rdf);
  delete noAxes.inputs[0].axes;
  assert.equal(model05(noAxes), false);
});

test('the zip is a plain zip (Python zipfile reads it) and every sha256 in the yaml matches its file', () => {
  const listed = execFileSync('/usr/bin/python3', [
    '-c',
    'import sys,zipfile; z=zipfile.ZipFile(sys.argv[1]); assert z.testzip() is None; print("\\n".join(z.namelist()))',
    zipFile,
  ])
    .toString()
    .trim()
    .split('\n');
  assert.deepEqual(listed.sort(), Object.keys(files).sort());
  const refs: { source: string; sha256: string }[] = [];
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      if (typeof o.source === 'string' && typeof o.sha256 === 'string') refs.push({ source: o.source, sha256: o.sha256 });
      Object.values(o).forEach(walk);
    }
  };
  walk(rdf);
  assert.deepEqual(refs.map((r) => r.source).sort(), [
    'test_input.npy',
    'test_output_y2.npy',
    'test_output_y4.npy',
    'test_output_y8.npy',
    'weights.onnx',
  ]);
  for (const r of refs) {
    assert.ok(files[r.source], `${r.source} is in the zip`);
    assert.equal(createHash('sha256').update(files[r.source]!).digest('hex'), r.sha256, r.source);
  }
  for (const f of [rdf.documentation, ...rdf.covers]) assert.ok(files[f], `${f} is in the zip`);
});

/** numpy.percentile's default ('linear') of all values: written here apart from models/io/percentiles.ts. */
function percentile(values: Float32Array, p: number): number {
  const s = Float64Array.from(values).sort();
  const pos = (p / 100) * (s.length - 1);
  const lo = Math.floor(pos);
  return lo + 1 < s.length ? s[lo]! + (s[lo + 1]! - s[lo]!) * (pos - lo) : s[lo]!;
}

test('onnxruntime-node reproduces every test output from the test input (yaml preprocessing, default tolerances)', async () => {
  const input = decodeNpy(files['test_input.npy']!);
  const pre = rdf.inputs[0].preprocessing;
  assert.deepEqual(
    pre.map((p: Rdf) => p.id),
    ['scale_range'],
  );
  const k = pre[0].kwargs;
  assert.deepEqual([k.min_percentile, k.max_percentile], [0.1, 99.9]);
  const lo = percentile(input.data, k.min_percentile),
    hi = percentile(input.data, k.max_percentile);
  const x = input.data.map((v) => (v - lo) / (hi - lo + k.eps));
  const session = await ort.InferenceSession.create(files['weights.onnx']!);
  try {
    assert.deepEqual(session.inputNames, [rdf.inputs[0].id]);
    assert.deepEqual(
      session.outputNames,
      rdf.outputs.map((o: Rdf) => o.id),
      'outputs described in the graph order',
    );
    const run = async (data: Float32Array) => session.run({ [session.inputNames[0]!]: new ort.Tensor('float32', data, input.shape) });
    const out = await run(x);
    const raw = await run(input.data); // without the preprocessing: must fail the same comparison
    for (const o of rdf.outputs as Rdf[]) {
      const expected = decodeNpy(files[o.test_tensor.source]!);
      const got = out[o.id]!;
      assert.deepEqual([...got.dims], expected.shape);
      const mismatched = (a: Float32Array) =>
        a.reduce((n, v, i) => n + (Math.abs(v - expected.data[i]!) > 1e-3 + 1e-3 * Math.abs(expected.data[i]!) ? 1 : 0), 0);
      assert.ok(
        mismatched(got.data as Float32Array) * 1e6 <= 100 * expected.data.length,
        `${o.id}: more than 100 mismatched elements per million`,
      );
      assert.ok(mismatched(raw[o.id]!.data as Float32Array) > expected.data.length / 2, `${o.id}: the check can fail`);
    }
  } finally {
    await session.release();
  }
});

test('axes, halo, scales and opset follow the model (models/tiling.ts, the ONNX file); cites and the Validation section', async () => {
  // The package holds the default model (export's default), whatever preset that is.
  const shipped = await resolveModel(DEFAULT_MODEL);
  const halo = haloFor(shipped.config);
  const [b, c, y, xAxis] = rdf.inputs[0].axes;
  assert.deepEqual([b.type, c.type, y.id, xAxis.id], ['batch', 'channel', 'y', 'x']);
  assert.ok(y.size.min > 2 * halo && y.size.step > 0);
  for (const o of rdf.outputs as Rdf[]) {
    const s = Number(o.id.slice(1));
    const oy = o.axes[2];
    assert.deepEqual(
      { ...oy, id: undefined },
      { id: undefined, type: 'space', size: { tensor_id: 'lr', axis_id: 'y' }, scale: 1 / s, halo: halo * s },
    );
  }
  assert.equal(rdf.outputs.at(-1).axes[3].scale, 1 / shipped.config.scale);
  assert.equal(rdf.weights.onnx.opset_version, ONNX_OPSET);
  assert.deepEqual(
    rdf.cite.map((x: Rdf) => x.doi),
    ['10.1007/978-3-030-00934-2_39', '10.1016/j.softx.2019.02.007'],
  );
  const readme = new TextDecoder().decode(files['README.md']);
  const card = await readFile(path.join(shipped.dir, 'README.md'), 'utf8');
  const section = validationSection(card)!;
  assert.ok(section.length > 100 && readme.includes(`# Validation\n\n${section}`));
  assert.match(readme, /bioimageio test phasesr-lite\.zip/);
  assert.equal(readFileSync(zipFile).subarray(0, 4).toString('hex'), '504b0304');
});

test('another architecture (4x, 1 conv a module, no DPF, untrained, no card) gets its own halo, outputs and cites', async () => {
  const cfg = parseConfig({ ...PRESETS.lite(4), name: 'tiny4', widths: [8, 8, 8], convsPerModule: 1, dpf: false });
  const mdir = path.join(dir, 'tiny4');
  await saveModel(mdir, cfg, randomWeights(generatorParams(cfg), 3), {
    trained: false,
    description: 'random weights for tests',
    created: new Date(0).toISOString(),
  });
  const m = await resolveModel(mdir);
  const { files: f, description: d } = (await bioimageioPackage(m, { zipName: 't.zip', license: 'MIT', authors: ['t'] })) as {
    files: Map<string, Uint8Array>;
    description: Rdf;
  };
  assert.notEqual(haloFor(cfg), haloFor(PRESETS.lite(8)));
  assert.deepEqual(
    d.outputs.map((o: Rdf) => [o.id, o.axes[2].halo, o.axes[2].scale]),
    [
      ['y2', haloFor(cfg) * 2, 0.5],
      ['y4', haloFor(cfg) * 4, 0.25],
    ],
  );
  assert.equal(d.inputs[0].axes[2].size.min, 2 * haloFor(cfg) + d.inputs[0].axes[2].size.step);
  assert.deepEqual(
    d.cite.map((x: Rdf) => x.doi),
    ['10.1007/978-3-030-00934-2_39'],
    'not trained on Usiigaci: no data citation',
  );
  assert.ok(validator().model05(d));
  assert.match(new TextDecoder().decode(f.get('README.md')), /\*\*These weights are not trained\*\*[\s\S]*# Validation\n\nNo model card/);
});

test('export without --out or --bioimageio is a usage error (exit 2)', async () => {
  const r = await phasesr(['export']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /SR_ERR_USAGE/);
});
