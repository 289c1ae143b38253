import { CONFIG_SCHEMA, isLeaf, type Config, type Leaf } from './schema.ts';

export class ConfigError extends Error {
  readonly problems: string[];
  constructor(problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.problems = problems;
  }
}

type Env = Record<string, string | undefined>;

/**
 * Resolves the whole tree from `env` (defaults: `process.env`) plus `overrides` (CLI flags and
 * tests, keyed by env variable name). Reports every bad value at once, then deep-freezes.
 */
export function loadConfig(env: Env = process.env, overrides: Env = {}): Config {
  const problems: string[] = [];
  const walk = (node: Record<string, unknown>, path: string): Record<string, unknown> => {
    const out: Record<string, unknown> = {};
    for (const [key, child] of Object.entries(node)) {
      const childPath = path ? `${path}.${key}` : key;
      if (isLeaf(child)) {
        const raw = overrides[child.env] ?? env[child.env];
        if (raw === undefined || raw === '') {
          out[key] = child.default;
          continue;
        }
        try {
          out[key] = child.parse(raw);
        } catch (err) {
          problems.push(`${child.env} (${childPath}) ${err instanceof Error ? err.message : String(err)}`);
        }
      } else {
        out[key] = walk(child as Record<string, unknown>, childPath);
      }
    }
    return out;
  };
  const config = walk(CONFIG_SCHEMA as unknown as Record<string, unknown>, '');
  if (problems.length > 0) throw new ConfigError(problems);
  return deepFreeze(config) as unknown as Config;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}

/** Every leaf with its dotted path, for `config print` and the generated documentation. */
export function listLeaves(): Array<{ path: string; leaf: Leaf<unknown> }> {
  const out: Array<{ path: string; leaf: Leaf<unknown> }> = [];
  const walk = (node: Record<string, unknown>, path: string) => {
    for (const [key, child] of Object.entries(node)) {
      const childPath = path ? `${path}.${key}` : key;
      if (isLeaf(child)) out.push({ path: childPath, leaf: child });
      else walk(child as Record<string, unknown>, childPath);
    }
  };
  walk(CONFIG_SCHEMA as unknown as Record<string, unknown>, '');
  return out;
}

/** Markdown reference of every setting (docs/configuration.md). */
/** A value as `config print` may show it: secrets masked (Leaf.secret), the rest as text. */
export function displayValue(leaf: Leaf<unknown>, value: unknown): string {
  const text = String(value);
  if (text === '' || leaf.secret === undefined) return text;
  if (leaf.secret === 'value') return '****';
  try {
    const url = new URL(text);
    if (url.password === '') return text;
    url.password = '****';
    return url.toString();
  } catch {
    return '****';
  }
}

export function renderConfigDocs(): string {
  const rows = listLeaves().map(({ path, leaf }) => {
    const def = leaf.default === '' ? '(empty)' : `\`${String(leaf.default)}\``;
    const secret = leaf.secret === undefined ? '' : ' *Secret: masked by `config print`.*';
    return `| \`${leaf.env}\` | \`${path}\` | ${def} | ${leaf.description}${secret} |`;
  });
  return [
    '# Configuration',
    '',
    'Generated from `src/config/schema.ts` by `npm run docs:config`; a test fails when this file is stale.',
    '',
    'Every setting is an environment variable. Invalid values stop the process at start with a message naming',
    'each offending variable (`chronoverse config check` validates without starting). Durations are written like',
    '`30s`, `15m`, `24h`; defaults of durations below are shown in milliseconds.',
    '',
    '| Variable | Path | Default | Description |',
    '| --- | --- | --- | --- |',
    ...rows,
    '',
  ].join('\n');
}
