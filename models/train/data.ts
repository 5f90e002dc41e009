// Training data: whole HR images held in memory already normalised, random square crops with one of the
// 8 flips/rotations, and the LR made from each crop by area (box) downsampling, as the paper did.
import path from 'node:path';
import { boxDownsample, listEvalImages, percentilesOf } from '../eval/pairs';
import { ImageSource } from '../io/image-source';
import { normalise } from '../io/normalisation';
import { applyResponse, degrade, drawDegradation, LEGACY_BOX_SHARE } from '../degradation/random-degradation';
import { downsample, pitchResample } from '../degradation/resample';
import type { Mulberry32 } from '../params';
import { NORMALISATION_PERCENTILES } from '../pipeline/run-sr';

/** One training image, normalised: 0 and 1 are its 0.1 and 99.9 percentiles (of its LR, see loadTrainImage). */
export interface TrainImage {
  name: string;
  width: number;
  height: number;
  data: Float32Array;
  low: number;
  high: number;
}

/**
 * Loads an HR image whole. The percentiles are those of its area-downsampled (LR) version: at inference
 * the model sees an LR image normalised by the LR's own percentiles, so training uses the same rule.
 */
/** The image files of a folder (sorted), as evaluation lists them. */
export const listImages = listEvalImages;

export async function loadTrainImage(file: string, scale: number): Promise<TrainImage> {
  return (await loadTrainImageAt(file, scale, [1]))[0]!;
}

/**
 * The image once per pitch, read and decoded once: pitch 1 is the file as recorded, another the same field
 * as a camera with pitch times wider pixels records it (pitchResample; at 2, the 'other-scope' HR without 8-bit).
 */
export async function loadTrainImageAt(file: string, scale: number, pitches: readonly number[]): Promise<TrainImage[]> {
  const src = await ImageSource.open(file);
  try {
    const whole = await src.readRegion(0, 0, src.width, src.height);
    const out: TrainImage[] = [];
    for (const pitch of pitches) {
      const w2 = pitch !== 1 ? pitchResample(whole, src.width, src.height, pitch) : undefined;
      const [raw, width, height, dtype] = w2
        ? [w2.data, w2.width, w2.height, 'float32' as const]
        : [whole, src.width, src.height, src.dtype];
      const lr = boxDownsample(raw, width, height, scale, dtype);
      const { low, high } = await percentilesOf(
        lr,
        Math.floor(width / scale),
        Math.floor(height / scale),
        dtype,
        NORMALISATION_PERCENTILES,
      );
      out.push({ name: path.basename(file), width, height, data: normalise(raw, low, high), low, high });
    }
    return out;
  } finally {
    await src.close();
  }
}

/**
 * A size x size crop at (x, y) under one of the 8 symmetries of the square: bit 0 flips left-right,
 * bit 1 flips top-bottom, bit 2 transposes (applied last). Box downsampling commutes with all of them
 * for crops aligned to the scale, which the alignment test relies on.
 */
export function cropAt(
  img: TrainImage,
  x: number,
  y: number,
  size: number,
  variant: number,
  out = new Float32Array(size * size),
): Float32Array {
  if (x < 0 || y < 0 || x + size > img.width || y + size > img.height) {
    throw new RangeError(`crop ${size}x${size} at (${x},${y}) is outside ${img.name} (${img.width}x${img.height})`);
  }
  const fx = variant & 1,
    fy = variant & 2,
    tr = variant & 4;
  for (let r = 0; r < size; r++) {
    for (let c = 0; c < size; c++) {
      let sr = tr ? c : r,
        sc = tr ? r : c;
      if (fx) sc = size - 1 - sc;
      if (fy) sr = size - 1 - sr;
      out[r * size + c] = img.data[(y + sr) * img.width + x + sc]!;
    }
  }
  return out;
}

/**
 * The training images at wider pixel pitches (--wide-pitches, each image once per pitch, so a uniform draw
 * of an image is a uniform draw of a pitch), and the share of crops drawn from them (--wide-share).
 */
export interface WideImages {
  images: TrainImage[];
  share: number;
}

/**
 * `batch` random crops (random image, position and symmetry), packed NHWC [batch, size, size, 1]; with
 * `wide`, that share of the crops comes from the wide-pixel images, so cells are seen at several sizes in pixels.
 */
export function randomCrops(images: TrainImage[], rng: Mulberry32, size: number, batch: number, wide?: WideImages): Float32Array {
  const out = new Float32Array(batch * size * size);
  for (let b = 0; b < batch; b++) {
    // No draw without wide images, so runs without them replay the same stream as before the option.
    const from = wide && wide.share > 0 && rng.next() < wide.share ? wide.images : images;
    const img = from[Math.floor(rng.next() * from.length)]!;
    const x = Math.floor(rng.next() * (img.width - size + 1));
    const y = Math.floor(rng.next() * (img.height - size + 1));
    const variant = Math.floor(rng.next() * 8);
    cropAt(img, x, y, size, variant, out.subarray(b * size * size, (b + 1) * size * size));
  }
  return out;
}

/** A training batch: HR crops [batch, size, size, 1] and their LR [batch, size/scale, size/scale, 1]. */
export interface TrainBatch {
  hr: Float32Array;
  lr: Float32Array;
}

/**
 * `batch` random crops and their LR: the box mean (the paper), or with `randomDegradation` a degradation
 * drawn per crop (models/degradation/random-degradation.ts), which may also change the HR's response;
 * `boxShare` of those crops keep the plain box mean.
 */
export function trainingBatch(
  images: TrainImage[],
  rng: Mulberry32,
  size: number,
  batch: number,
  scale: number,
  randomDegradation: boolean,
  boxShare = LEGACY_BOX_SHARE,
  wide?: WideImages,
): TrainBatch {
  const hr = randomCrops(images, rng, size, batch, wide);
  const px = size * size;
  const lpx = px / (scale * scale);
  const lr = new Float32Array(batch * lpx);
  for (let b = 0; b < batch; b++) {
    let crop = hr.subarray(b * px, (b + 1) * px);
    if (randomDegradation) {
      const d = drawDegradation(rng, scale, boxShare);
      crop = applyResponse(crop, d);
      hr.set(crop, b * px);
      lr.set(degrade(crop, size, scale, d, rng), b * lpx);
    } else lr.set(downsample(crop, size, size, scale, 'box'), b * lpx);
  }
  return { hr, lr };
}
