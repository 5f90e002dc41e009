// Report labels name what was evaluated: every training run has a best/, so its label keeps the run folder.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { modelLabels } from '../../../models/eval/run-eval';

test("model labels: presets, directory names, a run's best/ or checkpoint/ with its run folder, repeats numbered", () => {
  assert.deepEqual(modelLabels(['lite', 'runs/a/best', 'runs/b/best/model.json', 'runs/b/checkpoint', 'x/mymodel', 'y/mymodel', 'lite']), [
    'lite',
    'a/best',
    'b/best',
    'b/checkpoint',
    'mymodel',
    'mymodel#2',
    'lite#2',
  ]);
});
