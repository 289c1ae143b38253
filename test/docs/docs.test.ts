/** Documentation that is generated from, or must match, the code. */
import { readdir, readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listLeaves, renderConfigDocs } from '../../src/config/load.ts';
import { CONTAINER_CAPABILITIES } from '../../src/domain/container-policy.ts';
import { ERROR_CODES } from '../../src/domain/errors.ts';
import { ERROR_KINDS, JOB_STATES, JOB_TRIGGERS } from '../../src/domain/job-state.ts';
import { NOTIFICATION_KINDS } from '../../src/domain/notification-content.ts';
import { NOTIFICATION_PREFERENCES } from '../../src/domain/user-input.ts';
import { HTTP_METHODS, WORKFLOW_KINDS } from '../../src/domain/workflow-input.ts';
import { BUILD_STATUSES, WORKFLOW_STATUSES } from '../../src/domain/workflow-status.ts';
import { GATEWAY_ERROR_CODES } from '../../src/gateway/problem.ts';
import { createTestGateway, type TestGateway } from '../helpers/harness.ts';

/** Every setting's environment variable (src/config/schema.ts). */
const SETTINGS = new Set(listLeaves().map(({ leaf }) => leaf.env));

/**
 * Environment variables the documentation names that are not Chronoverse settings, and why. A name
 * here must not be a setting, and must still be named somewhere (no stale entries).
 */
const NOT_SETTINGS: Record<string, string> = {
  CHRONOVERSE_TEST_PG_URL: 'read by the test suite (test/helpers/postgres.ts), not by Chronoverse',
  CHRONOVERSE_HTTP_PORT: 'deploy/.env: the host port deploy/compose.yaml publishes the load balancer on',
  CHRONOVERSE_WEBHOOK_SECRET: "the receiver's own variable in docs/webhooks.md's verification example",
  CHRONOVERSE_URL:
    'read by the client commands (src/cli/client/context.ts), not the server: the server to talk to',
  CHRONOVERSE_TOKEN:
    'read by the client commands (src/cli/client/context.ts), not the server: the token to send',
  POSTGRES_PASSWORD: 'deploy/.env: the password deploy/compose.yaml creates the postgres container with',
  DOCKER_GID: 'deploy/.env: the group owning the Docker socket, which the compose containers join',
  GATEWAY_URL: "written to cluster.env by scripts/local-cluster.sh for the user's shell",
  TOKEN: "a shell variable of the README's walkthrough (the session token)",
  WF: "a shell variable of the README's walkthrough (a workflow id)",
  EDITOR: "the user's editor",
  KEY: 'a placeholder: `KEY=PEM` lines',
};

/** Upper-case words in code spans that are values, not variables (besides API_VALUES). */
const NOT_VARIABLES: Record<string, string> = {
  CONTAINER_RUNTIME_UNAVAILABLE: "a job error's code",
  OUTBOUND_REFUSED: "a job error's code",
  CONTAINER_POLICY_REFUSED: "a job error's code",
  DEAD: "an outbox row's status",
  // Linux capabilities Docker grants by default and our containers do not (docs/operations.md).
  NET_RAW: 'a Linux capability',
  MKNOD: 'a Linux capability',
  SETFCAP: 'a Linux capability',
  SETPCAP: 'a Linux capability',
  FSETID: 'a Linux capability',
  SYS_CHROOT: 'a Linux capability',
  AUDIT_WRITE: 'a Linux capability',
};

/** The API's enumerations (src/domain): statuses, kinds, methods and the like are no variables. */
const API_VALUES = new Set<string>([
  ...WORKFLOW_STATUSES,
  ...BUILD_STATUSES,
  ...WORKFLOW_KINDS,
  ...HTTP_METHODS,
  ...JOB_STATES,
  ...JOB_TRIGGERS,
  ...ERROR_KINDS,
  ...NOTIFICATION_KINDS,
  ...NOTIFICATION_PREFERENCES,
  ...CONTAINER_CAPABILITIES,
]);

/**
 * Variable names a Markdown text mentions: every CHRONOVERSE_* name; upper-case code spans
 * (`PORT`); assignments (NAME=…) and expansions ($NAME, ${NAME}); and, inside fenced code blocks,
 * upper-case identifiers with an underscore (DOCKER_GID in a shell comment).
 */
function variablesIn(text: string): Set<string> {
  const found = new Set<string>();
  const patterns = [
    /\bCHRONOVERSE_[A-Z0-9_]*[A-Z0-9]\b/g,
    /`([A-Z][A-Z0-9_]*)`/g,
    /(?<![\w.-])([A-Z][A-Z0-9_]*)=/g,
    /\$\{?([A-Z][A-Z0-9_]*)/g,
  ];
  for (const pattern of patterns) for (const m of text.matchAll(pattern)) found.add(m[1] ?? m[0]);
  for (const block of text.matchAll(/^```[^\n]*\n([\s\S]*?)^```/gm)) {
    for (const m of block[1]!.matchAll(/\b[A-Z][A-Z0-9]*_[A-Z0-9_]*[A-Z0-9]\b/g)) found.add(m[0]);
  }
  return found;
}

/** Names that are neither a setting nor explained above, with the files naming them. */
function unexplained(files: Map<string, string>, pick: (text: string) => Iterable<string>): string[] {
  const out: string[] = [];
  for (const [file, text] of files) {
    for (const name of pick(text)) {
      const explained = name in NOT_SETTINGS || name in NOT_VARIABLES || API_VALUES.has(name);
      if (!SETTINGS.has(name) && !explained) {
        out.push(`${file}: ${name}`);
      }
    }
  }
  return out.sort();
}

async function readAll(paths: string[]): Promise<Map<string, string>> {
  return new Map(await Promise.all(paths.map(async (p) => [p, await readFile(p, 'utf8')] as const)));
}

const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;

/**
 * The routes docs/api.md lists in its tables: `METHOD /path` code spans in a row's first cell,
 * relative to the base path, without their query string. `…/rest` abbreviates a longer route of
 * the same document: it is expanded through the route whose tail `rest` starts with.
 */
function documentedRoutes(text: string): string[] {
  const cited: string[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('|')) continue;
    const firstCell = line.slice(1).split(/(?<!\\)\|/)[0] ?? '';
    const spans = firstCell.matchAll(new RegExp(`\`(${METHODS.join('|')}) ([^\`\\s]+)\``, 'g'));
    for (const [, method, path] of spans) cited.push(`${method} ${path!.replace(/\\/g, '').split('?')[0]}`);
  }
  const full = cited.map((r) => r.split(' ')[1]!).filter((p) => p.startsWith('/'));
  return cited.map((route) => {
    const [method, path] = route.split(' ') as [string, string];
    if (!path.startsWith('…/')) return route;
    const rest = path.slice(1);
    const expansions = new Set<string>();
    for (const candidate of full) {
      const segments = candidate.split('/');
      for (let i = 1; i < segments.length; i++) {
        const tail = `/${segments.slice(i).join('/')}`;
        if (rest === tail || rest.startsWith(`${tail}/`)) {
          expansions.add(`${segments.slice(0, i).join('/')}${rest}`);
        }
      }
    }
    if (expansions.size !== 1) return `${method} ${path} (no single route it abbreviates)`;
    return `${method} ${[...expansions][0]}`;
  });
}

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

  describe('environment variables', () => {
    const checked = ['README.md', 'docs/deployment.md', 'docs/operations.md'];

    it('every variable README.md, docs/deployment.md and docs/operations.md name is a setting (or explained)', async () => {
      expect(unexplained(await readAll(checked), variablesIn)).toEqual([]);
    });

    it('every CHRONOVERSE_* name in any Markdown document is a setting (or explained)', async () => {
      const docs = (await readdir('docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`);
      const files = await readAll(['README.md', 'CONTRIBUTING.md', ...docs]);
      const chronoverseNames = (text: string) =>
        [...text.matchAll(/\bCHRONOVERSE_[A-Z0-9_]*[A-Z0-9]\b/g)].map((m) => m[0]);
      expect(unexplained(files, chronoverseNames)).toEqual([]);
    });

    it('the explanations are of names that are not settings, and are still used', async () => {
      const docs = (await readdir('docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`);
      const files = await readAll(['README.md', 'CONTRIBUTING.md', ...docs]);
      const named = new Set<string>();
      for (const [file, text] of files) {
        for (const name of variablesIn(text)) {
          if (checked.includes(file) || name.startsWith('CHRONOVERSE_')) named.add(name);
        }
      }
      const explained = [...Object.keys(NOT_SETTINGS), ...Object.keys(NOT_VARIABLES)];
      expect(explained.filter((name) => SETTINGS.has(name))).toEqual([]);
      expect(explained.filter((name) => !named.has(name))).toEqual([]);
    });
  });

  describe('docs/api.md', () => {
    let gw: TestGateway;
    let served: Set<string>;

    beforeAll(async () => {
      gw = await createTestGateway('pglite');
      const res = await gw.app.inject({ method: 'GET', url: '/api/v1/openapi.json' });
      const doc = res.json<{ paths: Record<string, Record<string, unknown>> }>();
      served = new Set(
        Object.entries(doc.paths).flatMap(([path, operations]) =>
          Object.keys(operations)
            .filter((m) => (METHODS as readonly string[]).includes(m.toUpperCase()))
            .map((m) => `${m.toUpperCase()} ${path}`),
        ),
      );
    });
    afterAll(() => gw?.close());

    it('every route its tables list is in the OpenAPI document the gateway serves', async () => {
      const text = await readFile('docs/api.md', 'utf8');
      expect(text).toContain('Base path `/api/v1`');
      const routes = documentedRoutes(text);
      // The parser finds the tables (a sanity floor, far below the real count).
      expect(routes.length).toBeGreaterThan(30);
      expect(routes.filter((r) => !served.has(r.replace(' /', ' /api/v1/')))).toEqual([]);
    });
  });
});
