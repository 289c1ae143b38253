/**
 * The payload of one task, per kind: a HEARTBEAT's HTTP request, a CONTAINER's image and command.
 * A single-task workflow's payload is one of these; a DAG's tasks each carry one
 * (dag-definition.ts). The zod schemas are the single source for validation and the OpenAPI
 * document.
 */
import { z } from 'zod';
import type { FieldIssue } from './errors.ts';
import { fieldIssuesFromZod, unstorableValues } from './field-issues.ts';
import { parseDuration } from './duration.ts';

export type Validated<T> = { ok: true; value: T } | { ok: false; issues: FieldIssue[] };

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** What one task runs: an HTTP request or a container. A workflow is one task, or a DAG of them. */
export const TASK_KINDS = ['HEARTBEAT', 'CONTAINER'] as const;
export type TaskKind = (typeof TASK_KINDS)[number];

export const HTTP_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;

const durationString = (maxMs: number, maxText: string) =>
  z
    .string()
    .max(32)
    .superRefine((text, ctx) => {
      const ms = parseDuration(text);
      if (ms === null)
        ctx.addIssue({ code: 'custom', message: 'must be a duration such as "30s", "5m" or "1h30m"' });
      else if (ms <= 0) ctx.addIssue({ code: 'custom', message: 'must be greater than zero' });
      else if (ms > maxMs) ctx.addIssue({ code: 'custom', message: `must be at most ${maxText}` });
    });

function isHttpUrl(text: string): boolean {
  try {
    const url = new URL(text);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== '';
  } catch {
    return false;
  }
}

// RFC 9110 token characters for header names; values must not smuggle line breaks.
const headerName = z
  .string()
  .regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,256}$/, 'must be a valid HTTP header name');
const headerValue = z
  .string()
  .max(8192)
  .regex(/^[^\r\n\0]*$/, 'must not contain line breaks');

export const HeartbeatPayloadSchema = z
  .object({
    endpoint: z.string().max(2048).refine(isHttpUrl, 'must be an http:// or https:// URL'),
    method: z.enum(HTTP_METHODS).default('GET'),
    headers: z
      .record(headerName, z.union([headerValue, z.array(headerValue).max(32)]))
      .refine((h) => Object.keys(h).length <= 64, 'must have at most 64 headers')
      .default({}),
    body: z.string().max(65_536).nullable().default(null),
    expected_status_code: z.number().int().min(100).max(599).default(200),
    timeout: durationString(5 * 60_000, '5m').default('10s'),
  })
  .strict()
  .superRefine((p, ctx) => {
    if (p.body !== null && (p.method === 'GET' || p.method === 'HEAD')) {
      ctx.addIssue({ code: 'custom', path: ['body'], message: `is not allowed with method ${p.method}` });
    }
  })
  .meta({
    id: 'HeartbeatPayload',
    description: 'An HTTP request whose answer must have the expected status.',
  });
export type HeartbeatPayload = z.output<typeof HeartbeatPayloadSchema>;

// Docker image reference: [registry[:port]/]path[:tag][@sha256:digest].
const IMAGE_REFERENCE =
  /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9.-]*[a-zA-Z0-9])?(?::[0-9]{1,5})?\/)?[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$/;

const commandArgs = z.array(z.string().max(16_384)).max(256);

/** Most artifacts one CONTAINER payload may declare. */
export const MAX_ARTIFACTS = 20;

/** An artifact's name: part of its storage key and of download file names, so a safe slug. */
export const ARTIFACT_NAME = /^[a-z0-9][a-z0-9._-]{0,62}$/;

const artifactName = z
  .string()
  .regex(
    ARTIFACT_NAME,
    'must be 1–63 lower-case letters, digits, ".", "_" or "-", starting with a letter or digit',
  );

const containerPath = z
  .string()
  .max(1024)
  .startsWith('/', 'must be an absolute path')
  // `..` would let a path name something other than what it reads as; NUL ends it early.
  .refine((p) => !p.split('/').includes('..'), 'must not contain ".." segments')
  .refine((p) => !p.includes('\0'), 'must not contain NUL characters');

/**
 * When an artifact is collected, by how the container's process ended (GitLab CI's
 * `artifacts:when`, upper-case as our other enums): ALWAYS (the default), ON_SUCCESS (exit 0),
 * ON_FAILURE (a non-zero exit, a kill, a timeout). A canceled attempt is neither a success nor a
 * failure: only ALWAYS collects it.
 */
export const ARTIFACT_WHEN = ['ALWAYS', 'ON_SUCCESS', 'ON_FAILURE'] as const;
export type ArtifactWhen = (typeof ARTIFACT_WHEN)[number];

/** How an attempt's process ended, as far as artifact collection cares. */
export type ProcessEnd = 'succeeded' | 'failed' | 'canceled';

/** Whether an artifact declared with `when` (absent: ALWAYS) is collected after this end. */
export function collectsOn(when: ArtifactWhen | undefined, end: ProcessEnd): boolean {
  switch (when ?? 'ALWAYS') {
    case 'ALWAYS':
      return true;
    case 'ON_SUCCESS':
      return end === 'succeeded';
    case 'ON_FAILURE':
      return end === 'failed';
  }
}

export const ArtifactDeclarationSchema = z
  .object({
    name: artifactName,
    path: containerPath,
    // Optional rather than defaulted: payloads stored before it existed read back unchanged.
    when: z
      .enum(ARTIFACT_WHEN)
      .optional()
      .describe(
        'ALWAYS (absent: the default), ON_SUCCESS (exit 0) or ON_FAILURE (non-zero exit, kill, timeout); a cancel collects only with ALWAYS.',
      ),
  })
  .strict()
  .meta({
    id: 'ArtifactDeclaration',
    description:
      'A file or directory the container leaves behind, copied out as a tar archive after the attempt.',
  });

/** `<task>.<artifact>`: a task name (TASK_NAME in dag-definition.ts) has no dot, so the first one splits. */
export const INPUT_FROM = /^([a-z0-9][a-z0-9_-]{0,62})\.([a-z0-9][a-z0-9._-]{0,62})$/;

/** Most inputs one CONTAINER task may declare. */
export const MAX_INPUTS = 20;

export const InputDeclarationSchema = z
  .object({
    from: z.string().regex(INPUT_FROM, 'must be "<task>.<artifact>", such as "build.report"'),
    path: containerPath.refine((p) => p.replace(/\/+$/, '') !== '', 'must not be the root directory'),
  })
  .strict()
  .meta({
    id: 'InputDeclaration',
    description:
      "An upstream task's artifact, put at `path` in the container before it starts (a DAG task only).",
  });

/** The task and artifact an input's `from` names (it passed INPUT_FROM). */
export function inputSource(from: string): { task: string; artifact: string } {
  const dot = from.indexOf('.');
  return { task: from.slice(0, dot), artifact: from.slice(dot + 1) };
}

const inputDeclarations = z
  .array(InputDeclarationSchema)
  .max(MAX_INPUTS, `must have at most ${MAX_INPUTS} inputs`)
  .superRefine((list, ctx) => {
    const seen = new Set<string>();
    list.forEach((input, i) => {
      const path = input.path.replace(/\/+$/, '');
      if (seen.has(path)) {
        ctx.addIssue({ code: 'custom', path: [i, 'path'], message: `repeats the path "${path}"` });
      }
      seen.add(path);
    });
  });

/** A retention such as "7d" or "36h": whole days, or a duration. */
export function parseRetention(text: string): number | null {
  const days = /^(\d{1,5})d$/.exec(text);
  return days ? Number(days[1]) * 86_400_000 : parseDuration(text);
}

/** Longest `artifact_retention` (ten years). */
export const MAX_ARTIFACT_RETENTION_DAYS = 3650;

export const artifactRetention = z
  .string()
  .max(32)
  .superRefine((text, ctx) => {
    const ms = parseRetention(text);
    if (ms === null)
      ctx.addIssue({
        code: 'custom',
        message: 'must be a number of days such as "7d" or a duration such as "36h"',
      });
    else if (ms < 60_000) ctx.addIssue({ code: 'custom', message: 'must be at least 1m' });
    else if (ms > MAX_ARTIFACT_RETENTION_DAYS * 86_400_000)
      ctx.addIssue({ code: 'custom', message: `must be at most ${MAX_ARTIFACT_RETENTION_DAYS}d` });
  });

const artifactDeclarations = z
  .array(ArtifactDeclarationSchema)
  .max(MAX_ARTIFACTS, `must have at most ${MAX_ARTIFACTS} artifacts`)
  .superRefine((list, ctx) => {
    const seen = new Set<string>();
    list.forEach((a, i) => {
      if (seen.has(a.name)) {
        ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `repeats the name "${a.name}"` });
      }
      seen.add(a.name);
    });
  });

export const ContainerPayloadSchema = z
  .object({
    image: z
      .string()
      .max(255)
      .regex(
        IMAGE_REFERENCE,
        'must be an image reference such as "alpine:3.20" or "ghcr.io/org/app@sha256:…"',
      ),
    cmd: commandArgs.nullable().default(null),
    entrypoint: commandArgs.nullable().default(null),
    env: z
      .record(
        z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,255}$/, 'must be an environment variable name'),
        z.string().max(32_768),
      )
      .refine((e) => Object.keys(e).length <= 256, 'must have at most 256 variables')
      .default({}),
    workdir: z.string().max(1024).startsWith('/', 'must be an absolute path').nullable().default(null),
    timeout: durationString(60 * 60_000, '1h').default('30s'),
    resources: z
      .object({
        cpus: z.number().min(0.01).max(64).nullable().default(null),
        memory_mb: z.number().int().min(6).max(262_144).nullable().default(null),
        pids: z.number().int().min(1).max(32_768).nullable().default(null),
      })
      .strict()
      .default({ cpus: null, memory_mb: null, pids: null })
      .describe('Limits; null means the executor default.'),
    network: z
      .enum(['none', 'bridge'])
      .default('none')
      .describe('"bridge" only for administrators, unless the administrator allows it.'),
    read_only_root_fs: z
      .boolean()
      .default(false)
      .describe('Mount the image read-only; /tmp stays writable (a 64 MiB tmpfs).'),
    user: z
      .string()
      .max(32)
      .superRefine((u, ctx) => {
        if (!/^\d{1,10}(?::\d{1,10})?$/.test(u)) {
          ctx.addIssue({
            code: 'custom',
            message: 'must be a numeric "uid" or "uid:gid", such as "1000:1000"',
          });
        } else if (u.split(':').some((n) => Number(n) > 2_147_483_647)) {
          ctx.addIssue({ code: 'custom', message: 'must have a uid and gid of at most 2147483647' });
        }
      })
      .nullable()
      .default(null)
      .describe("Run as this uid[:gid] instead of the image's user; null keeps the image's."),
    // Optional rather than defaulted: payloads stored before it existed read back unchanged.
    artifacts: artifactDeclarations
      .optional()
      .describe(
        'Files or directories to keep after each attempt, by default whatever its outcome (docs/artifacts.md). Unique names; at most 20.',
      ),
    inputs: inputDeclarations
      .optional()
      .describe(
        "Upstream tasks' artifacts to put into the container before it starts; only in a DAG task (docs/artifacts.md). At most 20.",
      ),
    artifact_retention: artifactRetention
      .optional()
      .describe(
        'How long this workflow\'s artifacts are kept, such as "7d" (absent: CHRONOVERSE_ARTIFACTS_RETENTION).',
      ),
  })
  .strict()
  .meta({ id: 'ContainerPayload', description: 'A container run through the Docker Engine API.' });
export type ContainerPayload = z.output<typeof ContainerPayloadSchema>;

export type TaskPayload = HeartbeatPayload | ContainerPayload;

const PAYLOAD_SCHEMAS = { HEARTBEAT: HeartbeatPayloadSchema, CONTAINER: ContainerPayloadSchema } as const;

/** The payload type of one kind. */
export type PayloadOf<K extends TaskKind> = z.output<(typeof PAYLOAD_SCHEMAS)[K]>;

/** Validates a payload (object or JSON string) for `kind`, issues prefixed with `payload`. */
export function validatePayload(kind: TaskKind, raw: unknown): Validated<TaskPayload> {
  let value = raw;
  if (typeof raw === 'string') {
    try {
      value = JSON.parse(raw);
    } catch {
      return { ok: false, issues: [{ path: 'payload', message: 'is not valid JSON' }] };
    }
  }
  if (!isPlainObject(value)) {
    return {
      ok: false,
      issues: [{ path: 'payload', message: 'must be an object (or a JSON string of one)' }],
    };
  }
  if (typeof raw === 'string') {
    // A JSON-string payload hides its strings from the body-wide check; look inside it here.
    const unstorable = unstorableValues(value, 'payload');
    if (unstorable.length > 0) return { ok: false, issues: unstorable };
  }
  const parsed = PAYLOAD_SCHEMAS[kind].safeParse(value);
  if (!parsed.success) return { ok: false, issues: fieldIssuesFromZod(parsed.error.issues, 'payload') };
  return { ok: true, value: parsed.data };
}

/** validatePayload, typed for one kind (the value was parsed by that kind's schema). */
export function validatePayloadOf<K extends TaskKind>(kind: K, raw: unknown): Validated<PayloadOf<K>> {
  return validatePayload(kind, raw) as Validated<PayloadOf<K>>;
}
