/**
 * `npm run docs:config`: writes the configuration tables into README.md from
 * the schema (src/server/config.ts and each capability's config.ts).
 * test/config-schema.test.ts fails when the README and the schema differ.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { withConfigTable } from '../src/server/config-docs.ts';

const file = join(import.meta.dirname, '..', 'README.md');
const before = readFileSync(file, 'utf8');
const after = withConfigTable(before);
if (after === before) console.log('README.md: configuration table already up to date');
else {
  writeFileSync(file, after);
  console.log('README.md: configuration table regenerated');
}
