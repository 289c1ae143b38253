/** Rewrites the DST matrix section of docs/scheduling.md from test/domain/dst-matrix.ts. */
import { readFile, writeFile } from 'node:fs/promises';
import { withMatrix } from '../test/domain/dst-matrix.ts';

const path = 'docs/scheduling.md';
await writeFile(path, withMatrix(await readFile(path, 'utf8')));
