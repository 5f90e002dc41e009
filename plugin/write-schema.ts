// Writes plugin/manifest.schema.json from the zod schema (npm run plugin:schema); a test checks it is current.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { manifestJsonSchema } from './manifest-schema';

export const SCHEMA_FILE = path.join(path.dirname(fileURLToPath(import.meta.url)), 'manifest.schema.json');
export const schemaText = (): string => `${JSON.stringify(manifestJsonSchema(), null, 2)}\n`;

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  writeFileSync(SCHEMA_FILE, schemaText());
  process.stdout.write(`wrote ${SCHEMA_FILE}\n`);
}
