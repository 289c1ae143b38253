import { describe, expect, it } from 'vitest';
import { resolveModules, UnknownRoleError } from './roles.ts';

describe('resolveModules', () => {
  it('defaults to all, dependencies first', () => {
    expect(resolveModules([])).toEqual([
      'db',
      'executor',
      'users',
      'workflows',
      'jobs',
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
    expect(resolveModules(['gateway'])).toEqual(['db', 'users', 'workflows', 'jobs', 'gateway']);
    expect(resolveModules(['workflow-worker'])).toEqual(['db', 'outbox-relay', 'workflow-worker']);
  });
  it('names the known roles when one is unknown', () => {
    expect(() => resolveModules(['scheduler-x'])).toThrow(UnknownRoleError);
    expect(() => resolveModules(['scheduler-x'])).toThrow(
      /known roles: gateway, users, workflows, jobs, outbox-relay, scheduler, workflow-worker, executor, joblogs/,
    );
  });
});
