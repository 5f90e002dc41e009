// Error type of the image I/O layer: a stable `code` that callers (CLI exit codes, HTTP statuses) can
// switch on, and a message meant for a person.
import type { ErrorCode } from '../error-codes';

/** Stable error codes of models/io (a subset of the one table, models/error-codes.ts). Match on these, never on message text. */
export type ImageErrorCode = Extract<
  ErrorCode,
  /** The file is missing, unreadable, or the output cannot be created/written. */
  | 'SR_ERR_IO'
  /** Empty, truncated or corrupt file, or not an image at all. */
  | 'SR_ERR_IMAGE_DECODE'
  /** The image has zero width or height. */
  | 'SR_ERR_IMAGE_EMPTY'
  /** Decodable but unsupported: sample type (int16, int32, float64, 1-bit ...), format or channel layout. */
  | 'SR_ERR_IMAGE_TYPE'
  /** A TIFF with several pages (stack) that is not a resolution pyramid. */
  | 'SR_ERR_IMAGE_MULTIPAGE'
  /** A region outside the image, or rows that do not fit what a writer was created for. */
  | 'SR_ERR_REGION'
  /** Output extension or dtype combination that cannot be written (e.g. float32 to PNG, .bmp). */
  | 'SR_ERR_OUTPUT_FORMAT'
>;

/** An error of the image I/O layer, with a stable {@link ImageErrorCode}. */
export class ImageError extends Error {
  /** Stable machine-readable code. */
  readonly code: ImageErrorCode;
  /** The file concerned, when there is one. */
  readonly path: string | undefined;

  constructor(code: ImageErrorCode, message: string, options?: { path?: string; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ImageError';
    this.code = code;
    this.path = options?.path;
  }
}

/** Maps a Node fs error to an SR_ERR_IO ImageError with a readable reason. */
export function ioError(path: string, action: string, err: unknown): ImageError {
  const e = err as NodeJS.ErrnoException;
  const reason =
    e?.code === 'ENOENT'
      ? 'no such file or directory'
      : e?.code === 'EACCES' || e?.code === 'EPERM'
        ? 'permission denied'
        : e?.code === 'EISDIR'
          ? 'is a directory'
          : e?.code === 'ENOSPC'
            ? 'no space left on device'
            : (e?.message ?? String(err));
  return new ImageError('SR_ERR_IO', `cannot ${action} ${path}: ${reason}`, { path, cause: err });
}
