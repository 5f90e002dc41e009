// sharp decode recipes per sample type and channel layout, and the conversion of colour to one grey channel.
// Recipes matter: without an explicit colour space sharp converts raw output to 8-bit sRGB (ENGINE-NOTES).
import type { Sharp, OutputInfo } from 'sharp';

import { ImageError } from './errors';
import type { PixelDtype } from './types';

/** How to pull raw samples of one file out of sharp. */
export interface DecodeRecipe {
  dtype: PixelDtype;
  /** Channels the recipe yields: 1, 2 (grey+alpha), 3 (RGB) or 4 (RGBA). */
  colour: boolean;
}

/** sharp input options: no pixel limit (we stream huge images), fail on truncation/corruption. */
export const SHARP_INPUT = { limitInputPixels: false, failOn: 'error' } as const;

/** Applies the colour space / channel selection and raw depth of a recipe. */
export function applyRecipe(img: Sharp, r: DecodeRecipe): Sharp {
  if (r.dtype === 'float32') return img.extractChannel(0).raw({ depth: 'float' }); // float is grey-only
  if (r.dtype === 'uint16') return img.toColourspace(r.colour ? 'rgb16' : 'grey16').raw({ depth: 'ushort' });
  return img.toColourspace(r.colour ? 'srgb' : 'b-w').raw({ depth: 'uchar' });
}

/** Result of decoding to grey: samples, and whether colour channels differed anywhere. */
export interface GreyPixels {
  data: Float32Array;
  channelsDiffer: boolean;
}

/**
 * Decodes a sharp pipeline (already cropped, if wanted) with a recipe into one grey Float32 channel.
 * Colour -> Rec.601 luma 0.299 R + 0.587 G + 0.114 B on the stored values (the convention of PIL, OpenCV
 * and ImageJ's "weighted" conversion), not rounded; alpha is ignored. Equal channels come back unchanged.
 */
export async function decodeGrey(img: Sharp, r: DecodeRecipe, what: string): Promise<GreyPixels> {
  let out: { data: Buffer; info: OutputInfo };
  try {
    out = await applyRecipe(img, r).toBuffer({ resolveWithObject: true });
  } catch (err) {
    throw new ImageError('SR_ERR_IMAGE_DECODE', `cannot decode ${what}: ${(err as Error).message}`, { path: what, cause: err });
  }
  const { data, info } = out;
  const n = info.width * info.height;
  const ch = info.channels;
  const src =
    r.dtype === 'float32'
      ? new Float32Array(data.buffer, data.byteOffset, n * ch)
      : r.dtype === 'uint16'
        ? new Uint16Array(data.buffer, data.byteOffset, n * ch)
        : new Uint8Array(data.buffer, data.byteOffset, n * ch);
  const grey = new Float32Array(n);
  let differ = false;
  if (ch < 3) {
    for (let i = 0; i < n; i++) grey[i] = src[i * ch]!;
  } else {
    for (let i = 0, j = 0; i < n; i++, j += ch) {
      const R = src[j]!,
        G = src[j + 1]!,
        B = src[j + 2]!;
      if (R !== G || G !== B) {
        differ = true;
        grey[i] = 0.299 * R + 0.587 * G + 0.114 * B;
      } else grey[i] = R;
    }
  }
  return { data: grey, channelsDiffer: differ };
}
