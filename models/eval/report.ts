// The evaluation report as markdown (printed and written beside the JSON).
import type { EvalReport, LevelResult } from './run-eval';

function fmtPsnr(v: number): string {
  return Number.isFinite(v) ? v.toFixed(2) : v > 0 ? 'inf' : String(v);
}

function fmtGain(v: number): string {
  if (!Number.isFinite(v)) return fmtPsnr(v);
  const s = v.toFixed(2);
  return v >= 0 && !s.startsWith('-') ? `+${s}` : s;
}

function table(level: LevelResult, metric: 'psnr' | 'ssim'): string[] {
  const cols = level.methods.map((m) => m.method);
  const fmt = metric === 'psnr' ? fmtPsnr : (v: number) => v.toFixed(4);
  const lines = [`| image | ${cols.join(' | ')} |`, `|---|${cols.map(() => '---:').join('|')}|`];
  const names = level.methods[0]?.images.map((s) => s.image) ?? [];
  names.forEach((name, i) => {
    lines.push(`| ${name} | ${level.methods.map((m) => fmt(m.images[i]![metric])).join(' | ')} |`);
  });
  lines.push(`| **mean** | ${level.methods.map((m) => `**${fmt(m.mean[metric])}**`).join(' | ')} |`);
  if (metric === 'psnr') lines.push(`| gain over bicubic (dB) | ${level.methods.map((m) => fmtGain(m.gainOverBicubicDb)).join(' | ')} |`);
  return lines;
}

/** Markdown: one section per cascade level (the requested scale first), a PSNR and an SSIM table each. */
export function reportMarkdown(r: EvalReport): string {
  const out: string[] = [
    `# phasesr eval: ${r.scale}x, ${r.images.length} image(s)`,
    '',
    `Data: \`${r.data}\` (${r.created}). Protocol: docs/evaluation.md — HR cropped top-left to a multiple of ${r.scale}; ` +
      `LR = ${r.scale}x${r.scale} box mean rounded to the HR dtype; reference and SR mapped to [0,1] through the ` +
      `reference's 0.1/99.9 percentiles (clipped); PSNR with data range 1; SSIM with an 11x11 Gaussian window (σ 1.5), valid positions.`,
    '',
    `Images (HR after the crop -> LR): ${r.images.map((i) => `${i.name} ${i.width}x${i.height} -> ${i.lrWidth}x${i.lrHeight}`).join(', ')}.`,
    '',
    'Models:',
    ...r.models.map((m) => `- \`${m.label}\` (${m.engine}): ${m.summary}`),
  ];
  for (const level of r.levels) {
    out.push(
      '',
      `## ${level.upscale}x of the LR vs ${level.reference}`,
      '',
      'PSNR (dB)',
      '',
      ...table(level, 'psnr'),
      '',
      'SSIM',
      '',
      ...table(level, 'ssim'),
    );
  }
  return `${out.join('\n')}\n`;
}
