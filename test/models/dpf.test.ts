// The DPF bank against the independently computed reference kernels, and J1 against tabulated values.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { besselJ1, somb } from '../../models/dpf/bessel';
import { DPF_COUNT, dpfBankHWIO, dpfKernel, dpfRadiusForLevel } from '../../models/dpf/dpf';
import { spectralNorm } from '../../models/dpf/spectral-norm';
import { SHARED } from '../helpers/shared';

const FIXTURE = path.join(SHARED, 'fixtures', 'dpf_reference.json');

test('J1 matches tabulated values to 1e-12', () => {
  // Abramowitz & Stegun / scipy.special.j1 values.
  const table: [number, number][] = [
    [0, 0],
    [0.5, 0.2422684576748739],
    [1, 0.44005058574493355],
    [2.5, 0.4970941024642741],
    [3.8317059702075125, 0],
    [10, 0.04347274616886144],
    [-1, -0.44005058574493355],
    [100, -0.07714535201411216],
  ];
  for (const [x, v] of table) assert.ok(Math.abs(besselJ1(x) - v) < 1e-12, `J1(${x}) = ${besselJ1(x)}, want ${v}`);
  assert.equal(somb(0), 1);
  assert.ok(Math.abs(somb(1) - (2 * besselJ1(Math.PI)) / Math.PI) < 1e-15);
});

test('spectral norm equals the largest singular value', () => {
  // diag(3, -5) rotated: singular values 5 and 3.
  const c = Math.cos(0.3),
    s = Math.sin(0.3);
  const a = [3 * c, -3 * s, -5 * s, -5 * c];
  assert.ok(Math.abs(spectralNorm(a, 2) - 5) < 1e-12);
  assert.ok(Math.abs(spectralNorm([1, 2, 3, 4, 5, 6, 7, 8, 10], 3) - 17.4125) < 1e-4);
});

test('DPF kernels match ../shared/fixtures/dpf_reference.json to 1e-6', (t) => {
  if (!existsSync(FIXTURE)) {
    t.skip(`reference fixture absent: ${FIXTURE}`);
    return;
  }
  const ref = JSON.parse(readFileSync(FIXTURE, 'utf8')) as { levels: Record<string, { m: number; kernel: number[][] }[]> };
  const radii = Object.keys(ref.levels)
    .map(Number)
    .sort((a, b) => a - b);
  assert.deepEqual(radii, [1, 2, 4]);
  let checked = 0;
  for (const r of radii) {
    const list = ref.levels[String(r)]!;
    assert.equal(list.length, 12);
    for (const e of list) {
      const k = dpfKernel(e.m, r);
      const want = e.kernel.flat();
      assert.equal(k.length, want.length);
      for (let i = 0; i < k.length; i++) assert.ok(Math.abs(k[i]! - want[i]!) <= 1e-6, `m=${e.m} r=${r} [${i}]: ${k[i]} vs ${want[i]}`);
      checked++;
    }
  }
  assert.equal(checked, 36);
});

test('kernels are radially symmetric and have spectral norm 1', () => {
  for (const r of [1, 2, 4, 8]) {
    const n = 2 * r + 1;
    for (let m = 1; m <= 12; m++) {
      const k = dpfKernel(m, r);
      assert.ok(Math.abs(spectralNorm(k, n) - 1) < 1e-12);
      for (let y = 0; y < n; y++) for (let x = 0; x < n; x++) assert.equal(k[y * n + x], k[x * n + (n - 1 - y)]);
    }
  }
});

test('radius per level doubles from level 1 on, and the HWIO bank holds kernel m at channel m-1', () => {
  assert.deepEqual([0, 1, 2, 3, 4].map(dpfRadiusForLevel), [1, 1, 2, 4, 8]);
  const bank = dpfBankHWIO(2);
  assert.deepEqual(bank.shape, [5, 5, 1, DPF_COUNT]);
  const k7 = dpfKernel(7, 2);
  for (let i = 0; i < 25; i++) assert.equal(bank.data[i * DPF_COUNT + 6], Math.fround(k7[i]!));
  assert.throws(() => dpfKernel(0, 1), RangeError);
  assert.throws(() => dpfKernel(13, 1), RangeError);
});
