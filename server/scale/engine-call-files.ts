// One engine call of a whole-image job (the batch API on a `--no-local-engine` server) passes its pixels
// through the shared folder, as block jobs do, never through Redis: the server writes the normalised input
// (n x h x w float32) to calls/<id>.in, a worker writes every level's output to calls/<id>.out (a JSON
// header of the levels' shapes and origins, then their float32 data) by an atomic rename, and the server reads it back.
import { readFile, rename, writeFile } from 'node:fs/promises';

import type { LevelBatch } from '../../models';

export async function writeCallInput(file: string, input: Float32Array): Promise<void> {
  await writeFile(file, Buffer.from(input.buffer, input.byteOffset, input.byteLength));
}

export async function readCallInput(file: string, length: number): Promise<Float32Array> {
  const buf = await readFile(file);
  if (buf.byteLength !== length * 4) throw new Error(`${file}: ${buf.byteLength} bytes, expected ${length * 4}`);
  const data = new Float32Array(length);
  new Uint8Array(data.buffer).set(buf);
  return data;
}

export async function writeCallOutput(file: string, levels: LevelBatch[]): Promise<void> {
  const head = Buffer.from(
    JSON.stringify(levels.map(({ scale, height, width, data, origin }) => ({ scale, height, width, length: data.length, origin }))),
  );
  const len = Buffer.alloc(4);
  len.writeUInt32LE(head.byteLength, 0);
  const tmp = `${file}.${process.pid}.partial`;
  await writeFile(tmp, Buffer.concat([len, head, ...levels.map((l) => Buffer.from(l.data.buffer, l.data.byteOffset, l.data.byteLength))]));
  await rename(tmp, file);
}

export async function readCallOutput(file: string): Promise<LevelBatch[]> {
  const buf = await readFile(file);
  const n = buf.readUInt32LE(0);
  const shapes = JSON.parse(buf.subarray(4, 4 + n).toString()) as (Omit<LevelBatch, 'data'> & { length: number })[];
  let at = 4 + n;
  return shapes.map(({ scale, height, width, length, origin }) => {
    const data = new Float32Array(length);
    new Uint8Array(data.buffer).set(buf.subarray(at, at + length * 4));
    at += length * 4;
    return { scale, height, width, data, origin };
  });
}
