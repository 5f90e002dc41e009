// Writes the synthetic sample to a file (TIFF or PNG) with its pixel size: one place for `phasesr sample`
// and `phasesr start`.
import { writeImage } from '../io/write-image';
import { makeSample, type SampleImage } from './sample';

export async function writeSampleFile(path: string, opts: { width: number; height: number; seed?: number }): Promise<SampleImage> {
  const s = makeSample(opts);
  await writeImage(
    path,
    { width: s.width, height: s.height, dtype: 'uint16', data: s.data },
    {
      pixelSize: { x: s.pixelSizeUm, y: s.pixelSizeUm, unit: 'µm' },
    },
  );
  return s;
}
