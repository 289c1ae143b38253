/**
 * Webhook request bodies: the schemas (also the OpenAPI document's) and their validation, which
 * reports every offending field at once. The URL rules need the outbound policy (the
 * installation's settings and the caller's role), so the service validates (the route only
 * documents the schema).
 */
import { z } from 'zod';
import { ValidationError, type FieldIssue } from '../../domain/errors.ts';
import { fieldIssuesFromZod, unstorableValues } from '../../domain/field-issues.ts';
import { endpointProblem, type OutboundRole } from '../../domain/outbound-policy.ts';

/** The events a webhook can subscribe to (`*`: all of them, including ones added later). */
export const WEBHOOK_EVENT_TYPES = [
  'job.completed',
  'job.failed',
  'job.canceled',
  'task.finished',
  'build.started',
  'build.completed',
  'build.failed',
  'workflow.terminated',
  'schedule.missed',
] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];
/** What a delivery can carry: a subscribed event, or the test event of `POST …/ping`. */
export type DeliveryEventType = WebhookEventType | 'ping';

export const DELIVERY_STATUSES = ['PENDING', 'SUCCEEDED', 'FAILED'] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

export const URL_MAX = 2048;

const url = z
  .string()
  .min(1)
  .max(URL_MAX)
  .describe('http:// or https:// URL without credentials, at most 2048 characters');
const eventTypes = z
  .array(z.enum([...WEBHOOK_EVENT_TYPES, '*']))
  .min(1)
  .max(WEBHOOK_EVENT_TYPES.length)
  .describe('Events to deliver; ["*"] for all');
const description = z.string().max(500).nullable();
const secret = z
  .string()
  .min(16)
  .max(256)
  .describe('Signing secret (16–256 characters); generated (whsec_…) when absent');

export const WebhookCreateBodySchema = z
  .strictObject({
    url,
    secret: secret.optional(),
    event_types: eventTypes,
    description: description.optional(),
    enabled: z.boolean().optional().describe('Default true'),
  })
  .meta({ id: 'WebhookCreate' });

export const WebhookUpdateBodySchema = z
  .strictObject({
    url: url.optional(),
    event_types: eventTypes.optional(),
    description: description.optional(),
    enabled: z.boolean().optional(),
    secret: secret.optional().describe('A new signing secret of your choice (shown back once)'),
    rotate_secret: z
      .boolean()
      .optional()
      .describe('true: generate a new signing secret (shown once in the answer)'),
  })
  .meta({ id: 'WebhookUpdate' });

export type WebhookCreateInput = z.output<typeof WebhookCreateBodySchema>;
export type WebhookUpdateInput = z.output<typeof WebhookUpdateBodySchema>;

export interface UrlPolicy {
  /**
   * Non-administrators may target internal networks: CHRONOVERSE_OUTBOUND_ALLOW_PRIVATE_NETWORKS
   * (or its deprecated webhooks-only alias CHRONOVERSE_WEBHOOKS_ALLOW_PRIVATE_NETWORKS).
   */
  allowPrivateNetworks: boolean;
  /** Ports of this server's listeners, never a target. @default none */
  ownPorts?: ReadonlySet<number>;
}

/**
 * What is wrong with a webhook URL for a user of `role` (null: nothing). Literal addresses and
 * known names are judged by the outbound policy here; other names at every delivery.
 */
export function urlProblem(text: string, policy: UrlPolicy, role: OutboundRole): string | null {
  let parsed: URL;
  try {
    parsed = new URL(text);
  } catch {
    return 'must be an absolute http:// or https:// URL';
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return 'must use http or https';
  if (parsed.username !== '' || parsed.password !== '')
    return 'must not contain credentials (user:password@)';
  if (parsed.hostname === '') return 'must name a host';
  return endpointProblem(text, role, {
    allowPrivateNetworks: policy.allowPrivateNetworks,
    ownPorts: policy.ownPorts ?? new Set(),
    ownAddresses: new Set(),
  });
}

function validate<S extends z.ZodType>(
  schema: S,
  body: unknown,
  policy: UrlPolicy,
  role: OutboundRole,
): z.output<S> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw ValidationError.single('', 'body must be a JSON object');
  }
  const raw = body as Record<string, unknown>;
  const issues: FieldIssue[] = unstorableValues(body);
  const parsed = schema.safeParse(body);
  if (!parsed.success) issues.push(...fieldIssuesFromZod(parsed.error.issues));
  if (typeof raw.url === 'string' && raw.url.length >= 1 && raw.url.length <= URL_MAX) {
    const problem = urlProblem(raw.url, policy, role);
    if (problem) issues.push({ path: 'url', message: problem });
  }
  if (Array.isArray(raw.event_types) && raw.event_types.includes('*') && raw.event_types.length > 1) {
    issues.push({ path: 'event_types', message: '"*" (all events) must be the only entry' });
  }
  if (raw.rotate_secret === true && raw.secret !== undefined) {
    issues.push({ path: 'rotate_secret', message: 'give either a secret or rotate_secret, not both' });
  }
  if (issues.length > 0 || !parsed.success) throw new ValidationError(issues);
  return parsed.data;
}

export function validateWebhookCreate(
  body: unknown,
  policy: UrlPolicy,
  role: OutboundRole,
): WebhookCreateInput {
  return validate(WebhookCreateBodySchema, body, policy, role);
}

export function validateWebhookUpdate(
  body: unknown,
  policy: UrlPolicy,
  role: OutboundRole,
): WebhookUpdateInput {
  return validate(WebhookUpdateBodySchema, body, policy, role);
}

/** Duplicates removed, in the catalogue's order ("*" stays alone). */
export function normalizeEventTypes(types: readonly string[]): string[] {
  if (types.includes('*')) return ['*'];
  return WEBHOOK_EVENT_TYPES.filter((t) => types.includes(t));
}
