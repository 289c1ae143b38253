import { describe, expect, it } from 'vitest';
import {
  decidingSubscription,
  jobEvents,
  normalizeEvents,
  otherSubscribers,
  subscribed,
  workflowFactEvents,
  type SubscriptionRule,
} from './subscriptions.ts';

const U = 'user-1';
const W = 'wf-1';

describe('decidingSubscription', () => {
  const all: SubscriptionRule = { user_id: U, workflow_id: null, channel: 'EMAIL', events: ['job.failed'] };
  const own: SubscriptionRule = { user_id: U, workflow_id: W, channel: 'EMAIL', events: [] };
  const inApp: SubscriptionRule = { user_id: U, workflow_id: W, channel: 'IN_APP', events: ['*'] };
  const other: SubscriptionRule = { user_id: 'user-2', workflow_id: W, channel: 'EMAIL', events: ['*'] };

  it("takes the workflow's own subscription over the all-workflows one, whatever the order", () => {
    expect(decidingSubscription([all, own], U, 'EMAIL', W)).toBe(own);
    expect(decidingSubscription([own, all], U, 'EMAIL', W)).toBe(own);
  });

  it('falls back to the all-workflows subscription, else to none (the default)', () => {
    expect(decidingSubscription([all, own], U, 'EMAIL', 'wf-2')).toBe(all);
    expect(decidingSubscription([inApp, other], U, 'EMAIL', W)).toBeNull();
  });

  it('looks only at the channel asked and the user asked', () => {
    expect(decidingSubscription([inApp, own], U, 'IN_APP', W)).toBe(inApp);
    expect(decidingSubscription([other], U, 'EMAIL', W)).toBeNull();
  });
});

describe('otherSubscribers', () => {
  const owner: SubscriptionRule = { user_id: U, workflow_id: W, channel: 'EMAIL', events: ['*'] };
  const b: SubscriptionRule = { user_id: 'user-2', workflow_id: W, channel: 'EMAIL', events: ['job.failed'] };
  const bAll: SubscriptionRule = { user_id: 'user-2', workflow_id: null, channel: 'EMAIL', events: ['*'] };
  const bInApp: SubscriptionRule = { user_id: 'user-2', workflow_id: W, channel: 'IN_APP', events: ['*'] };
  const c: SubscriptionRule = { user_id: 'user-3', workflow_id: 'wf-2', channel: 'EMAIL', events: ['*'] };

  it("takes only other users' subscriptions to this workflow itself, on this channel", () => {
    expect(otherSubscribers([owner, b, bAll, bInApp, c], U, 'EMAIL', W)).toEqual([b]);
    expect(otherSubscribers([owner, b, bAll, bInApp, c], U, 'IN_APP', W)).toEqual([bInApp]);
  });

  it('never counts the owner, nor an all-workflows subscription (that one is about their own)', () => {
    expect(otherSubscribers([owner, bAll], U, 'EMAIL', W)).toEqual([]);
    expect(otherSubscribers([b], 'user-2', 'EMAIL', W)).toEqual([]);
  });
});

describe('events', () => {
  it('names job facts, a recovery being also a completion; bulk cancels are none', () => {
    expect(jobEvents({ status: 'FAILED', bulk: false }, false)).toEqual(['job.failed']);
    expect(jobEvents({ status: 'COMPLETED', bulk: false }, false)).toEqual(['job.completed']);
    expect(jobEvents({ status: 'COMPLETED', bulk: false }, true)).toEqual(['job.completed', 'job.recovered']);
    expect(jobEvents({ status: 'CANCELED', bulk: false }, false)).toEqual(['job.canceled']);
    expect(jobEvents({ status: 'CANCELED', bulk: true }, false)).toEqual([]);
  });

  it('names workflow facts as webhooks do', () => {
    expect(workflowFactEvents('BUILD_FAILED')).toEqual(['build.failed']);
    expect(workflowFactEvents('WORKFLOW_TERMINATED')).toEqual(['workflow.terminated']);
  });

  it('matches by any event, or *; [] and an event-less fact match nothing', () => {
    expect(subscribed(['job.recovered'], ['job.completed', 'job.recovered'])).toBe(true);
    expect(subscribed(['job.failed'], ['job.completed'])).toBe(false);
    expect(subscribed(['*'], ['build.started'])).toBe(true);
    expect(subscribed([], ['job.failed'])).toBe(false);
    expect(subscribed(['*'], [])).toBe(false);
  });

  it('stores events without repeats in catalogue order, * alone', () => {
    expect(normalizeEvents(['workflow.terminated', 'job.failed', 'job.failed'])).toEqual([
      'job.failed',
      'workflow.terminated',
    ]);
    expect(normalizeEvents(['job.failed', '*'])).toEqual(['*']);
    expect(normalizeEvents([])).toEqual([]);
  });
});
