// `phasesr train`: trains a model on a folder of high-resolution images (models/train/trainer.ts).
import { Command, Option } from 'commander';
import cliProgress from 'cli-progress';
import { InvalidArgumentError } from 'commander';
import { intOption, nonNegative, pitchList, positiveNumber } from '../fail';

function emaDecay(v: string): number {
  const n = nonNegative(v);
  if (n >= 1) throw new InvalidArgumentError('must be below 1.');
  return n;
}

function share(v: string): number {
  const n = nonNegative(v);
  if (n > 1) throw new InvalidArgumentError('must be a share between 0 and 1.');
  return n;
}

interface TrainFlags {
  data: string;
  val?: string;
  split?: string;
  preset: 'lite' | 'paper' | 'body';
  bodyMlp?: number;
  degrade: boolean;
  boxShare?: number;
  wideShare?: number;
  widePitches?: number[];
  pixelL1: number;
  lossMargin: number;
  ema: number;
  schedule: 'constant' | 'cosine';
  scheduleSteps?: number;
  lrWarmup: number;
  scale: string;
  out?: string;
  resume?: boolean;
  loss: 'full' | 'content' | 'adversarial';
  dpf: boolean;
  alpha: number;
  warmup?: number;
  steps: number;
  stepsPerEpoch: number;
  batch: number;
  crop?: number;
  lr: number;
  seed: number;
  workers?: number;
  backend: 'best' | 'wasm' | 'cpu';
  quiet?: boolean;
  init?: string;
}

export function trainCommand(): Command {
  return new Command('train')
    .description("train a model on high-resolution phase contrast images (the paper's GAN procedure)")
    .requiredOption(
      '--data <dir>',
      'folder of HR training images (TIFF 8/16-bit, PNG); with --split, the data root its paths are relative to',
    )
    .option('--val <dir>', 'folder of HR validation images: PSNR/SSIM every epoch, best model kept')
    .option(
      '--split <file>',
      'a split file (models/splits/phase-contrast.json): train on its train set, validate on its val set; its test set is never read',
    )
    .addOption(
      new Option('--preset <name>', 'architecture: body (the default: LR feature body + cascade), lite, paper')
        .choices(['body', 'lite', 'paper'])
        .default('body'),
    )
    .option(
      '--body-mlp <width>',
      "add a residual channel MLP of this hidden width after each of the LR body's blocks (1x1 -> LReLU -> 1x1; " +
        'no wider halo); with --init from a model without them, they start as the identity',
      intOption(1, 4096),
    )
    .option(
      '--no-degrade',
      'LR = box mean of each crop only (the paper), instead of a random microscope per crop (blur, sampling kernel, noise, bit depth, response)',
    )
    .option('--box-share <p>', 'with the random degradation: the share of crops whose LR stays exactly the box mean (default 0.9)', share)
    .option(
      '--wide-share <p>',
      'the share of crops taken from the training images recorded at other pixel pitches (cells at several sizes in ' +
        'pixels, as other microscopes record them; 0: none; default 0.5)',
      share,
    )
    .option(
      '--wide-pitches <list>',
      'the pixel pitches of the wide crops, comma-separated, each drawn equally often (below 1: a finer camera, the ' +
        'recording interpolated; default 0.5,0.75,1.25,1.5,2,3, less any that leaves an image smaller than the crop)',
      pitchList,
    )
    .option(
      '--pixel-l1 <w>',
      "weight of the pixel L1 added to the content loss at every level (0: the paper's DPF loss alone)",
      nonNegative,
      1,
    )
    .option(
      '--loss-margin <px>',
      "LR pixels at each crop edge left out of the content loss, where the model sees the crop's zero padding " +
        'rather than real neighbours as in a served tile (0: none)',
      intOption(0),
      0,
    )
    .option(
      '--ema <decay>',
      'decay of the moving average of the generator weights that validates and ships (0: off; below 1)',
      emaDecay,
      0.999,
    )
    .addOption(new Option('--schedule <s>', 'learning rate schedule').choices(['cosine', 'constant']).default('cosine'))
    .option(
      '--schedule-steps <n>',
      "length of the cosine schedule (default: --steps; with --resume: changes the run's schedule)",
      intOption(1),
    )
    .option('--lr-warmup <n>', 'linear learning-rate warm-up steps', intOption(0), 200)
    .addOption(new Option('--scale <n>', 'upscaling factor').choices(['2', '4', '8']).default('8'))
    .option('--out <dir>', 'run folder: checkpoint/, best/, history.json (default runs/<preset>-x<scale>)')
    .option('--resume', 'continue the run in --out from its last checkpoint')
    .option(
      '--init <model>',
      'start a new run from this model directory (same architecture; e.g. the best/ of a content-only run) instead of ' +
        'the seeded initialisation; fresh optimiser, lineage kept in the provenance',
    )
    .addOption(
      new Option('--loss <mode>', 'full = adversarial + alpha * content; the ablations: content, adversarial')
        .choices(['full', 'content', 'adversarial'])
        .default('full'),
    )
    .option('--no-dpf', 'single image input: no DPF enrichment, plain L1 per level instead of the DPF content loss')
    .option(
      '--alpha <x>',
      "weight of the content loss (1 = the paper's form; this mean-normalised content loss needs ~100, or the adversarial term wrecks PSNR: models/README.md)",
      positiveNumber,
      1,
    )
    .option(
      '--warmup <steps>',
      "content-only steps before the adversarial terms start (full loss; default 0; with --resume: changes the run's schedule)",
      intOption(0),
    )
    .option('--steps <n>', 'total generator steps (with --resume: the new total)', intOption(1), 2000)
    .option('--steps-per-epoch <n>', 'steps between validations and checkpoints', intOption(1), 200)
    .option('--batch <n>', 'crops per step (the paper used 1)', intOption(1, 256), 1)
    .option('--crop <px>', 'HR crop side (default 32 x scale: 256 for 8x)', intOption(16, 4096))
    .option('--lr <x>', 'Adam learning rate (beta1 0.9)', positiveNumber, 1e-4)
    .option('--seed <n>', 'seed of the initialisation and the crops', intOption(0), 1)
    .option(
      '--workers <n>',
      'gradient worker threads (default: cores, when the batch splits evenly and tfjs runs on wasm)',
      intOption(1, 64),
    )
    .addOption(
      new Option('--backend <b>', 'tfjs backend: best = tfjs-node-gpu, tfjs-node, then wasm')
        .choices(['best', 'wasm', 'cpu'])
        .default('best'),
    )
    .option('-q, --quiet', 'no progress bar')
    .addHelpText(
      'after',
      `
Pairs are made as in the paper: random crops of the HR images (8 flips/rotations), LR = area (box) mean
of each crop, targets of the 2x/4x levels by area downsampling too; intensities normalised by each
image's 0.1/99.9 percentiles (of its LR, as at inference). Validation runs the exported model through
the serving engine. Stop with Ctrl-C: a checkpoint is saved and --resume continues.

Example (the shipped model's command is in models/shipped/lite/README.md):
  phasesr train --data ../shared/data/phase-contrast/train --val ../shared/data/phase-contrast/val --out runs/lite`,
    )
    .action(async (f: TrainFlags) => {
      const { train, fmt } = await import('../../models/train/trainer');
      const scale = Number(f.scale) as 2 | 4 | 8;
      const bar =
        !f.quiet && process.stderr.isTTY
          ? new cliProgress.SingleBar(
              {
                stream: process.stderr,
                hideCursor: true,
                format: '{bar} {value}/{total} steps | {losses} | {sps} steps/s | ETA {eta_formatted}',
              },
              cliProgress.Presets.shades_classic,
            )
          : undefined;
      let started = false;
      let lastLine = 0;
      const log = (l: string) => {
        if (started) bar?.stop();
        process.stderr.write(`${l}\n`);
        started = false;
      };
      const stop = new AbortController();
      const onSignal = () => {
        if (!stop.signal.aborted) {
          log('stopping after this step (checkpoint)...');
          stop.abort();
        }
      };
      process.once('SIGINT', onSignal).once('SIGTERM', onSignal);
      const r = await train({
        data: f.data,
        ...(f.val ? { val: f.val } : {}),
        ...(f.split ? { split: f.split } : {}),
        degrade: f.degrade,
        ...(f.boxShare !== undefined ? { boxShare: f.boxShare } : {}),
        ...(f.wideShare !== undefined ? { wideShare: f.wideShare } : {}),
        ...(f.widePitches ? { widePitches: f.widePitches } : {}),
        pixelL1: f.pixelL1,
        lossMargin: f.lossMargin,
        ema: f.ema,
        schedule: f.schedule,
        lrWarmup: f.lrWarmup,
        ...(f.scheduleSteps ? { scheduleSteps: f.scheduleSteps } : {}),
        out: f.out ?? `runs/${f.preset}-x${scale}${f.dpf ? '' : '-nodpf'}`,
        preset: f.preset,
        ...(f.bodyMlp ? { bodyMlp: f.bodyMlp } : {}),
        scale,
        loss: f.loss,
        dpf: f.dpf,
        alpha: f.alpha,
        ...(f.warmup !== undefined ? { warmup: f.warmup } : {}),
        batch: f.batch,
        crop: f.crop ?? 32 * scale,
        lr: f.lr,
        seed: f.seed,
        stepsPerEpoch: f.stepsPerEpoch,
        steps: f.steps,
        resume: !!f.resume,
        ...(f.init ? { init: f.init } : {}),
        ...(f.workers ? { workers: f.workers } : {}),
        prefer: f.backend,
        command: `phasesr ${process.argv.slice(2).join(' ')}`,
        log,
        signal: stop.signal,
        onStep: (p) => {
          const payload = { losses: fmt(p.losses), sps: p.stepsPerSec.toFixed(3) };
          if (bar) {
            if (!started) bar.start(p.total, p.step, payload);
            else bar.update(p.step, payload);
            started = true;
          } else if (!f.quiet && Date.now() - lastLine > 30_000) {
            lastLine = Date.now();
            const eta = (p.total - p.step) / p.stepsPerSec;
            process.stderr.write(
              `step ${p.step}/${p.total}: ${payload.losses}, ${payload.sps} steps/s, ETA ${(eta / 60).toFixed(1)} min\n`,
            );
          }
        },
      }).finally(() => bar?.stop());
      process.stderr.write(
        `done: ${r.steps} steps on ${r.flavour}; ` +
          `best ${r.best ? `PSNR ${r.best.psnr.toFixed(2)} dB at step ${r.best.step}` : 'model = last step'} in ${r.out}/best\n`,
      );
    });
}
