import { describe, expect, it } from 'vitest';
import { resolveModules, UnknownRoleError } from './roles.ts';

describe('resolveModules', () => {
  it('defaults to all, dependencies first', () => {
    expect(resolveModules([])).toEqual([
      'db',
      'analytics',
      'analytics-processor',
      'executor',
      'users',
      'workflows',
      'jobs',
      'notifications',
      'gateway',
      'joblogs',
      'outbox-relay',
      'scheduler',
      'workflow-worker',
    ]);
    expect(resolveModules(['all'])).toEqual(resolveModules([]));
  });
  it('pulls in what a role needs', () => {
    expect(resolveModules(['workflows'])).toEqual(['db', 'workflows']);
    expect(resolveModules(['gateway'])).toEqual([
      'db',
      'users',
      'workflows',
      'jobs',
      'notifications',
      'analytics',
      'gateway',
    ]);
    expect(resolveModules(['workflow-worker'])).toEqual(['db', 'outbox-relay', 'workflow-worker']);
  });
  it('leaves remote services and the relay out in the distributed profile', () => {
    const distributed = {
      remoteServices: ['users', 'workflows', 'jobs', 'notifications', 'analytics'] as const,
      kafka: true,
    };
    expect(resolveModules(['gateway'], distributed)).toEqual(['gateway']);
    expect(resolveModules(['gateway'], { remoteServices: ['users'], kafka: true })).toEqual([
      'db',
      'workflows',
      'jobs',
      'notifications',
      'analytics',
      'gateway',
    ]);
    expect(resolveModules(['workflow-worker'], distributed)).toEqual(['db', 'workflow-worker']);
    expect(resolveModules(['workflow-worker'], { remoteServices: [], kafka: false })).toEqual([
      'db',
      'outbox-relay',
      'workflow-worker',
    ]);
  });
  it('names the known roles when one is unknown', () => {
    expect(() => resolveModules(['scheduler-x'])).toThrow(UnknownRoleError);
    expect(() => resolveModules(['scheduler-x'])).toThrow(
      /known roles: gateway, users, workflows, jobs, notifications, analytics, outbox-relay, scheduler, workflow-worker, executor, joblogs, analytics-processor/,
    );
  });
});
