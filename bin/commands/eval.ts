// `phasesr eval --data DIR`: PSNR/SSIM of bicubic, Lanczos-3 and models on a folder of HR images, by the
// protocol of docs/evaluation.md; prints the markdown tables and writes PREFIX.json and PREFIX.md.
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import type { EngineChoice } from '../../models/engine/backend';
import type { EvalEngineOptions } from '../../models/eval/eval-engine';
import { CONDITIONS, type Condition } from '../../models/degradation/conditions';
import { SPLIT_SETS, type SplitSet } from '../../models/splits/split';
import { DEFAULT_MODEL } from '../../models/registry';
import { engineOption } from '../engine-option';
import { intOption, pitchList } from '../fail';
import { CodedError } from '../../models/error-codes';

function collect(v: string, prev: string[]): string[] {
  return [...prev, v];
}

export function evalCommand(): Command {
  return new Command('eval')
    .description('score models against bicubic and Lanczos-3 (PSNR, SSIM) on a folder of HR images')
    .requiredOption('--data <dir>', 'folder of HR images (.png, .tif, .tiff; all of them, sorted by name); with --split, the data root')
    .option('--split <file>', 'score one set of a split file instead of a whole folder (models/splits/phase-contrast.json)')
    .addOption(new Option('--set <name>', "the split's set to score").choices([...SPLIT_SETS]).default('test'))
    .addOption(
      new Option(
        '--condition <c>',
        "how the LR is made: box = the paper's block mean; blur-noise = Gaussian PSF, centre sampling and 1% noise (a " +
          'microscope the training never drew); other-scope = the HR recorded with 2x wider pixels by an 8-bit camera, ' +
          'then the box mean (a stand-in for another lab)',
      )
        .choices([...CONDITIONS])
        .default('box'),
    )
    .option(
      '--scope-pitch <p>',
      "with --condition other-scope: the other camera's pixel pitch, in HR pixels (default 2; 0.5 <= p <= 4, not 1; below 1 the " +
        'recording is interpolated onto the finer grid)',
      (v) => {
        const [p, ...more] = pitchList(v);
        if (more.length) throw new InvalidArgumentError('one pitch per run.');
        return p;
      },
    )
    .addOption(new Option('--scale <n>', 'downsampling factor of the LR made from each HR').choices(['2', '4', '8']).default('8'))
    .addOption(
      new Option('--model <name|path>', 'body (the default), lite, paper or a model directory; repeat for several')
        .argParser(collect)
        .default([] as string[], DEFAULT_MODEL),
    )
    .option('--out <prefix>', 'write PREFIX.json and PREFIX.md', 'eval-results')
    .option('--tile <n>', 'tile side in LR pixels', intOption(8, 16384), 64)
    .option('--batch <n>', 'tiles per engine call', intOption(1, 64), 4)
    .addOption(engineOption())
    .option('--threads <n>', 'engine threads (default: all cores)', intOption(1, 256))
    .option('--figure <png>', 'also write LR | bicubic | model(s) | HR crops of one image as a PNG')
    .option('--figure-image <name>', 'which image of --data the figure shows (default: the first)')
    .option(
      '--native-figure <png>',
      'also write native | bicubic | model(s) at the scale, on the busiest region of a native image (no ground truth): --native-image',
    )
    .option('--native-image <file>', 'the native image of --native-figure (used as it is, not downsampled)')
    .addHelpText(
      'after',
      `
Each HR is cropped (top-left) to a multiple of the scale and averaged over scale x scale blocks into the LR
(rounded to the HR dtype). Bicubic, Lanczos-3 and each model upsample that LR; the model runs exactly as
'phasesr sr' runs it. The 2x and 4x cascade outputs are scored too, against the HR box-downsampled to
their size. Metrics on [0,1] through the reference's 0.1/99.9 percentiles: PSNR (range 1) and SSIM
(11x11 Gaussian, sigma 1.5, valid windows). Details: docs/evaluation.md.

Example:
  phasesr eval --data ../shared/data/phase-contrast/val --model lite --model runs/my-model --out results/val`,
    )
    .action(
      async (o: {
        nativeFigure?: string;
        nativeImage?: string;
        data: string;
        split?: string;
        set: SplitSet;
        condition: Condition;
        scopePitch?: number;
        scale: string;
        model: string[];
        out: string;
        tile: number;
        batch: number;
        engine?: EngineChoice;
        threads?: number;
        figure?: string;
        figureImage?: string;
      }) => {
        const { runEval } = await import('../../models/eval/run-eval');
        const { reportMarkdown } = await import('../../models/eval/report');
        // The scores and the figures run each model on the same engine (models/eval/eval-engine.ts).
        const engineOpts: EvalEngineOptions = { engine: o.engine, threads: o.threads };
        const report = await runEval({
          data: o.data,
          ...(o.split ? { split: { file: o.split, set: o.set } } : {}),
          condition: o.condition,
          ...(o.scopePitch ? { scopePitch: o.scopePitch } : {}),
          scale: Number(o.scale) as 2 | 4 | 8,
          models: o.model,
          tile: o.tile,
          batch: o.batch,
          ...engineOpts,
        });
        const md = reportMarkdown(report);
        const json = `${o.out}.json`;
        const mdFile = `${o.out}.md`;
        await mkdir(path.dirname(path.resolve(json)), { recursive: true });
        await writeFile(json, `${JSON.stringify(report, null, 1)}\n`);
        await writeFile(mdFile, md);
        process.stdout.write(md);
        process.stderr.write(`wrote ${json} and ${mdFile}\n`);
        if (o.nativeFigure) {
          if (!o.nativeImage) throw new CodedError('SR_ERR_USAGE', '--native-figure needs --native-image FILE');
          const { nativeFigure } = await import('../../models/eval/native-figure');
          await writeFile(
            o.nativeFigure,
            await nativeFigure(o.nativeImage, o.model.length ? o.model : [DEFAULT_MODEL], {
              scale: Number(o.scale) as 2 | 4 | 8,
              ...engineOpts,
            }),
          );
          process.stderr.write(`wrote ${o.nativeFigure}\n`);
        }
        if (o.figure) {
          const { splitFiles } = await import('../../models/splits/split');
          const { listEvalImages } = await import('../../models/eval/pairs');
          const files = o.split ? await splitFiles(o.split, o.data, o.set) : await listEvalImages(o.data);
          await writeFigure(
            o.figure,
            files,
            o.condition,
            Number(o.scale),
            o.model.length ? o.model : [DEFAULT_MODEL],
            engineOpts,
            o.figureImage,
          );
          process.stderr.write(`wrote ${o.figure}\n`);
        }
      },
    );
}

async function writeFigure(
  file: string,
  files: string[],
  condition: Condition,
  scale: number,
  models: string[],
  engineOpts: EvalEngineOptions,
  image?: string,
): Promise<void> {
  const { loadEvalPair } = await import('../../models/eval/pairs');
  const { modelLevels, resizeBaseline } = await import('../../models/eval/evaluate');
  const { makeFigure, nearestUp } = await import('../../models/eval/figure');
  const { resolveModel } = await import('../../models/registry');
  const { evalEngine } = await import('../../models/eval/eval-engine');
  const pick = image ? files.find((f) => path.basename(f) === image) : files[0];
  if (!pick) throw new Error(`--figure-image ${image} is not among the images scored`);
  const pair = await loadEvalPair(pick, scale, condition);
  const panels = [
    { label: `LR (1/${scale})`, data: nearestUp(pair) },
    { label: 'bicubic', data: await resizeBaseline(pair, 'cubic'), scored: true },
  ];
  for (const spec of models) {
    const m = await resolveModel(spec);
    const backend = await evalEngine(m, engineOpts);
    try {
      panels.push({ label: `phasesr ${path.basename(spec)}`, data: (await modelLevels(backend, pair)).at(-1)!, scored: true });
    } finally {
      await backend.dispose();
    }
  }
  panels.push({ label: `HR ${path.basename(pick)}`, data: pair.hr });
  await mkdir(path.dirname(path.resolve(file)), { recursive: true });
  await writeFile(file, await makeFigure(pair, panels));
}
