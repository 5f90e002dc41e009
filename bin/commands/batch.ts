// `phasesr batch IN... --out DIR`: super-resolves many files on a running server (`phasesr serve`) over
// the WebSocket batch API, one after another. Resumable: an output that exists is complete (results are
// written to .partial and renamed), so a second run skips it. Exit codes: 0 all done (or already done),
// 1 some files failed (summary on stderr), 2 usage, 3 no server reachable, 130 interrupted.
import { mkdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { Command, Option } from 'commander';
import { checkInputFile, positiveNumber, UsageError } from '../fail';
import { progressBar } from '../progress';
import { CodedError } from '../../models/error-codes';

export const EXIT_SOME_FAILED = 1;
export const EXIT_NO_SERVER = 3;

interface BatchCliOptions {
  out: string;
  server: string;
  scale: string;
  model?: string;
  token?: string;
  float32?: boolean;
  pixelSize?: number;
  quiet?: boolean;
}

export function batchCommand(): Command {
  return new Command('batch')
    .description('super-resolve many images on a running phasesr server (resumable: existing outputs are skipped)')
    .argument('<in...>', 'input images (TIFF 8/16-bit or float32, PNG, JPEG)')
    .requiredOption('--out <dir>', 'output folder (created if missing); outputs are NAME-xSCALE.tif')
    .option('--server <url>', 'the server (ws://host:port or http://host:port)', 'ws://127.0.0.1:8080')
    .addOption(new Option('--scale <n>', 'upscaling factor').choices(['2', '4', '8']).default('8'))
    .option('--model <name>', 'the model the server must be running (it runs one; default: whichever)')
    .addOption(new Option('--token <t>', 'access token of a server bound beyond loopback').env('PHASESR_TOKEN'))
    .option('--float32', 'write raw float32 model output')
    .option('--pixel-size <um>', 'input pixel size in µm, when the files do not say it', positiveNumber)
    .option('-q, --quiet', 'only errors and the summary')
    .addHelpText(
      'after',
      `
Start a server first (another terminal):  npx phasesr serve
Outputs keep the input's dtype; the pixel size is divided by the scale. Exit codes: 0 all done,
1 some failed (listed), 2 usage, 3 no server reachable, 130 interrupted.

Example:
  phasesr batch data/*.tif --out sr/ --scale 8`,
    )
    .action(async (inputs: string[], o: BatchCliOptions) => {
      process.exitCode = await runBatch(inputs, o);
    });
}

async function runBatch(inputs: string[], o: BatchCliOptions): Promise<number> {
  const scale = Number(o.scale) as 2 | 4 | 8;
  const jobs = planOutputs(inputs, o.out, scale);
  mkdirSync(o.out, { recursive: true });
  const todo = jobs.filter((j) => !isComplete(j.output));
  const skipped = jobs.length - todo.length;
  const say = (line: string) => {
    if (!o.quiet) process.stderr.write(`${line}\n`);
  };
  if (todo.length === 0) {
    say(`all ${jobs.length} outputs already exist in ${o.out}: nothing to do`);
    return 0;
  }

  const { PhasesrClient, PhasesrClientError } = await import('../../server/client/phasesr-client');
  let client;
  try {
    client = await PhasesrClient.connect(o.server, { client: 'phasesr batch', ...(o.token ? { token: o.token } : {}) });
  } catch (e) {
    const err = e as InstanceType<typeof PhasesrClientError>;
    const hint =
      err.code === 'ECONNREFUSED' || err.code === 'ENOTFOUND' || err.code === 'EHOSTUNREACH'
        ? `\nStart one in another terminal with:  npx phasesr serve${portHint(o.server)}\nthen run this command again.`
        : err.code === 'SR_ERR_UNAUTHORIZED'
          ? '\nPass the token the server printed: --token TOKEN (or PHASESR_TOKEN).'
          : '';
    process.stderr.write(`phasesr: error: cannot reach the phasesr server at ${o.server}: ${err.message} [${err.code}]${hint}\n`);
    return EXIT_NO_SERVER;
  }
  if (skipped > 0) say(`skipping ${skipped} of ${jobs.length} (outputs already exist)`);

  const stop = new AbortController();
  const onSignal = (sig: NodeJS.Signals) => stop.abort(new CodedError('SR_ERR_INTERRUPTED', `interrupted by ${sig}`));
  process.once('SIGINT', onSignal).once('SIGTERM', onSignal);
  const bar = o.quiet ? undefined : progressBar('tiles');
  const failed: { input: string; message: string }[] = [];
  let done = 0;
  try {
    for (const [i, job] of todo.entries()) {
      if (stop.signal.aborted) break;
      const tag = `[${i + 1}/${todo.length}] ${job.input}`;
      if (!bar) say(`${tag}: uploading`);
      let lastStage = '';
      try {
        const r = await client.batch(job.input, {
          scale,
          output: job.output,
          signal: stop.signal,
          ...(o.model ? { model: o.model } : {}),
          ...(o.float32 ? { float32: true } : {}),
          ...(o.pixelSize ? { pixelSizeUm: o.pixelSize } : {}),
          onProgress: (p) => {
            if (p.stage === 'inference') bar?.update(p.done, p.total);
            if (!bar && p.stage !== lastStage && p.stage !== 'upload') say(`${tag}: ${p.stage}`);
            lastStage = p.stage;
          },
        });
        const m = r.result;
        const line =
          `${tag} -> ${job.output} ` +
          `(${m.width}x${m.height} ${m.dtype}${m.pixelSize ? `, ${m.pixelSize.x.toPrecision(4)} ${m.pixelSize.unit}/px` : ''}) ` +
          `in ${(m.ms / 1000).toFixed(1)} s`;
        if (bar) bar.interrupt(line);
        else say(line);
        // Shown even with -q, as `phasesr sr` shows them: the output is not what a grey input would give.
        for (const w of m.warnings ?? []) {
          if (bar) bar.interrupt(`${tag}: warning: ${w}`);
          else process.stderr.write(`${tag}: warning: ${w}\n`);
        }
        done++;
      } catch (e) {
        if (stop.signal.aborted) break;
        const err = e as { message?: string; code?: string };
        const message = `${err.message ?? String(e)}${err.code ? ` [${err.code}]` : ''}`;
        failed.push({ input: job.input, message });
        const line = `${tag}: failed: ${message}`;
        if (bar) bar.interrupt(line);
        else process.stderr.write(`${line}\n`);
        if (client.closed) {
          for (const rest of todo.slice(i + 1))
            failed.push({ input: rest.input, message: 'not done: the connection to the server was lost' });
          break;
        }
      }
    }
  } finally {
    bar?.stop();
    process.off('SIGINT', onSignal).off('SIGTERM', onSignal);
    await client.close();
  }
  if (stop.signal.aborted) {
    process.stderr.write(`phasesr: interrupted after ${done} of ${todo.length}; run the same command again to resume\n`);
    return 130;
  }
  const summary = `${done} done, ${skipped} skipped (already done), ${failed.length} failed`;
  if (failed.length === 0) {
    say(summary);
    return 0;
  }
  process.stderr.write(`phasesr batch: ${summary}:\n${failed.map((f) => `  ${f.input}: ${f.message}`).join('\n')}\n`);
  return EXIT_SOME_FAILED;
}

/** Output path per input; two inputs that would write the same output are a usage error. */
function planOutputs(inputs: string[], outDir: string, scale: number): { input: string; output: string }[] {
  const seen = new Map<string, string>();
  return inputs.map((input) => {
    const base = path.basename(input);
    const stem = base.includes('.') ? base.slice(0, base.lastIndexOf('.')) : base;
    const output = path.join(outDir, `${stem}-x${scale}.tif`);
    const other = seen.get(output);
    if (other !== undefined)
      throw new UsageError(`${other} and ${input} would both be written to ${output}; batch them into different --out folders`);
    seen.set(output, input);
    checkInputFile(
      input,
      `pass the image files in it, e.g. phasesr batch ${path.join(input, '*.tif')} --out ${outDir} (your shell expands the pattern)`,
    );
    return { input, output };
  });
}

/** Outputs appear by rename only when complete, so an existing non-empty file is a finished one. */
function isComplete(file: string): boolean {
  try {
    return statSync(file).size > 0;
  } catch {
    return false;
  }
}

function portHint(server: string): string {
  try {
    const port = new URL(server.includes('://') ? server : `ws://${server}`).port;
    return port && port !== '8080' ? ` --port ${port}` : '';
  } catch {
    return '';
  }
}
