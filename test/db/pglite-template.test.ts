/**
 * The PGlite template (src/platform/db/pglite-template.ts): a new data directory seeded from it is
 * a complete, migrated database that keeps what is written to it; a directory with anything in it
 * is never touched; only an open that asks for it seeds.
 */
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/platform/db/database.ts';
import { migrate } from '../../src/platform/db/migrate.ts';
import { buildTemplate, seedFromTemplate, templatePath } from '../../src/platform/db/pglite-template.ts';

let root: string;

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'cv-template-'));
  // A no-op when `npm ci` made it already.
  await buildTemplate((dataDir) => openDatabase({ url: '', dataDir, poolSize: 1 }));
}, 180_000);

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('the PGlite template', () => {
  it('seeds a missing data directory with every migration applied, and the data written stays', async () => {
    const dataDir = path.join(root, 'missing', 'data');
    const first = await openDatabase({ url: '', dataDir, poolSize: 1, seedFromTemplate: true });
    try {
      expect(first.seededFromTemplate).toBe(true);
      expect((await migrate(first.db)).applied).toEqual([]);
      await sql`insert into users (id, email, password_hash, role) values (gen_random_uuid(), 'a@example.com', 'x', 'user')`.execute(
        first.db,
      );
    } finally {
      await first.close();
    }
    const again = await openDatabase({ url: '', dataDir, poolSize: 1, seedFromTemplate: true });
    try {
      expect(again.seededFromTemplate).toBe(false);
      const { rows } = await sql<{ n: number }>`select count(*)::int as n from users`.execute(again.db);
      expect(rows[0]?.n).toBe(1);
    } finally {
      await again.close();
    }
    // No copy left beside it.
    expect((await readdir(path.dirname(dataDir))).filter((f) => f.includes('.seed-'))).toEqual([]);
  }, 120_000);

  it('seeds an empty directory, never one with files in it', async () => {
    const empty = path.join(root, 'empty');
    await mkdir(empty, { recursive: true });
    expect(await seedFromTemplate(empty)).toBe(true);
    expect(await readdir(empty)).toContain('PG_VERSION');
    // The whole tree, byte for byte, with each file's and directory's mode (the copy is parallel).
    const tree = async (dir: string) => {
      const out: Array<[string, number, string]> = [];
      for (const rel of (await readdir(dir, { recursive: true })).sort()) {
        const st = await stat(path.join(dir, rel));
        const body = st.isFile() ? (await readFile(path.join(dir, rel))).toString('base64') : '';
        out.push([rel, st.mode, body]);
      }
      return out;
    };
    const template = await tree(await templatePath());
    expect(template.length).toBeGreaterThan(100);
    expect(await tree(empty)).toEqual(template);

    const used = path.join(root, 'used');
    await mkdir(used, { recursive: true });
    await writeFile(path.join(used, 'keep.txt'), 'mine');
    expect(await seedFromTemplate(used)).toBe(false);
    expect(await readdir(used)).toEqual(['keep.txt']);
  });

  it('is not used unless the open asks for it (migrate, users create)', async () => {
    const dataDir = path.join(root, 'plain');
    const database = await openDatabase({ url: '', dataDir, poolSize: 1 });
    try {
      expect(database.seededFromTemplate).toBe(false);
      expect((await migrate(database.db)).applied).toContain('0001_initial');
    } finally {
      await database.close();
    }
  }, 180_000);
});
