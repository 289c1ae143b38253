/**
 * The administrator's policies on what a workflow may ask for, checked at create and at edit for
 * the caller's role as stored now: a heartbeat's endpoint under the outbound policy (literal
 * addresses and known names; names are decided again at every connection by the executor), a
 * container's registry, network and resources under the container policy. A refusal is a 400
 * naming the field (`payload.endpoint`, `payload.image`, `payload.network`, `payload.resources.*`,
 * `payload.timeout`) and, for ceilings and settings, the setting that governs it.
 */
import type { Kysely, Transaction } from 'kysely';
import {
  CONTAINER_POLICY_DEFAULTS,
  containerPolicyIssues,
  type ContainerPolicy,
} from '../../domain/container-policy.ts';
import { ValidationError, type FieldIssue } from '../../domain/errors.ts';
import { endpointProblem, type OutboundRole, type OutboundRules } from '../../domain/outbound-policy.ts';
import type {
  ContainerPayload,
  HeartbeatPayload,
  WorkflowKind,
  WorkflowPayload,
} from '../../domain/workflow-input.ts';
import type { DB } from '../../platform/db/schema.ts';

export interface WorkflowPolicy {
  outbound: OutboundRules;
  containers: ContainerPolicy;
}

export const WORKFLOW_POLICY_DEFAULTS: WorkflowPolicy = {
  outbound: { allowPrivateNetworks: false, ownPorts: new Set(), ownAddresses: new Set() },
  containers: CONTAINER_POLICY_DEFAULTS,
};

/** The caller's role now; an account that is gone counts as a user. */
export async function roleOf(db: Kysely<DB> | Transaction<DB>, userId: string): Promise<OutboundRole> {
  const row = await db.selectFrom('users').select('role').where('id', '=', userId).executeTakeFirst();
  return row?.role === 'admin' ? 'admin' : 'user';
}

/** Every way `payload` breaks the policies for `role`, as field issues. */
export function policyIssues(
  kind: WorkflowKind,
  payload: WorkflowPayload,
  role: OutboundRole,
  policy: WorkflowPolicy,
): FieldIssue[] {
  if (kind === 'DAG') {
    // Each task as if it were a workflow of its own, its issues under its place in the DAG. (A
    // templated endpoint is checked again when rendered: the outbound guard checks every request.)
    const dag = payload as { tasks?: unknown[]; finally?: unknown[] };
    return (['tasks', 'finally'] as const).flatMap((list) =>
      ((dag[list] ?? []) as { kind: 'HEARTBEAT' | 'CONTAINER'; payload: WorkflowPayload }[]).flatMap(
        (task, i) =>
          policyIssues(task.kind, task.payload, role, policy).map((issue) => ({
            ...issue,
            path: `payload.${list}.${i}.${issue.path}`,
          })),
      ),
    );
  }
  if (kind === 'HEARTBEAT') {
    const problem = endpointProblem((payload as HeartbeatPayload).endpoint, role, policy.outbound);
    return problem ? [{ path: 'payload.endpoint', message: problem }] : [];
  }
  return containerPolicyIssues(payload as ContainerPayload, role, policy.containers);
}

/** Throws the 400 of every policy problem of `payload` for this user. */
export async function assertWithinPolicy(
  db: Kysely<DB> | Transaction<DB>,
  userId: string,
  kind: WorkflowKind,
  payload: WorkflowPayload,
  policy: WorkflowPolicy,
): Promise<void> {
  const issues = policyIssues(kind, payload, await roleOf(db, userId), policy);
  if (issues.length > 0) throw new ValidationError(issues);
}
