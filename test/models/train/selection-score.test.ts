// The rule that picks a run's best/ (trainer.ts selectionScore): the mean gain over bicubic across every
// validation condition the epoch recorded, six for an 8x run.
import assert from 'node:assert/strict';
import test from 'node:test';
import type { EpochRecord } from '../../../models/train/checkpoint';
import { selectionScore } from '../../../models/train/trainer';

const base: EpochRecord = {
  epoch: 1,
  step: 10,
  psnr: 26,
  ssim: 0.8,
  bicubicPsnr: 23,
  losses: {},
  stepsPerSec: 1,
  adversarial: false,
  wallSec: 1,
};
const cond = (psnr: number, bicubicPsnr: number) => ({ psnr, ssim: 0.7, bicubicPsnr, bicubicSsim: 0.6 });

test('a run with the box condition only is scored by its box gain', () => {
  assert.equal(selectionScore(base), 3);
});

test('an 8x epoch is scored by the mean gain of its six conditions, each against its own bicubic', () => {
  const r: EpochRecord = {
    ...base,
    blurNoise: cond(24, 23), // +1
    otherScope: cond(22.5, 22), // +0.5
    otherScopeAt: [
      { pitch: 1.5, ...cond(24, 22.5) }, // +1.5
      { pitch: 0.75, ...cond(27, 24) }, // +3
      { pitch: 0.5, ...cond(27, 24.5) }, // +2.5
    ],
  };
  assert.equal(selectionScore(r), (3 + 1 + 0.5 + 1.5 + 3 + 2.5) / 6);
  // A model that is better on box alone but loses elsewhere does not win.
  const boxOnly: EpochRecord = { ...r, psnr: 26.5, otherScopeAt: r.otherScopeAt!.map((c) => ({ ...c, psnr: c.psnr - 0.2 })) };
  assert.ok(selectionScore(boxOnly) < selectionScore(r));
});
