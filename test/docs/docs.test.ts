/** Documentation that is generated from, or must match, the code. */
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { renderConfigDocs } from '../../src/config/load.ts';
import { ERROR_CODES } from '../../src/domain/errors.ts';
import { GATEWAY_ERROR_CODES } from '../../src/gateway/problem.ts';

describe('docs', () => {
  it('docs/configuration.md is generated from the current schema (run `npm run docs:config`)', async () => {
    expect(await readFile('docs/configuration.md', 'utf8')).toBe(renderConfigDocs());
  });

  it('docs/errors.md lists exactly the error codes the code can produce', async () => {
    const text = await readFile('docs/errors.md', 'utf8');
    const documented = new Set([...text.matchAll(/^\| `(CV_[A-Z_]+)`\s*\|/gm)].map((m) => m[1]));
    const produced = new Set<string>([...ERROR_CODES, ...GATEWAY_ERROR_CODES]);
    expect([...documented].sort()).toEqual([...produced].sort());
  });
});
