import { describe, expect, it } from 'vitest';
import {
  FINAL_JOB_STATUSES,
  WORKFLOW_EVENT_TYPES,
  type JobFinishedPayload,
  type WorkflowFacts,
} from './events.ts';
import {
  forSubscriber,
  MAX_DETAIL_CHARS,
  NOTIFICATION_KINDS,
  notificationFor,
  wantedBy,
  type NotificationContent,
  type NotificationFact,
} from './notification-content.ts';
import { NOTIFICATION_PREFERENCES } from './user-input.ts';

const WF = '0196a000-0000-7000-8000-000000000001';
const JOB = '0196a000-0000-7000-8000-000000000002';
const USER = '0196a000-0000-7000-8000-000000000003';
const AT = '2026-11-23T10:00:00.123Z';

function job(over: Partial<JobFinishedPayload> = {}): JobFinishedPayload {
  return {
    job_id: JOB,
    workflow_id: WF,
    user_id: USER,
    generation: 2,
    status: 'COMPLETED',
    trigger: 'AUTOMATIC',
    attempts: 1,
    scheduled_at: '2026-11-23T10:00:00+00:00',
    started_at: '2026-11-23T10:00:00.5+00:00',
    completed_at: '2026-11-23T10:00:01+00:00',
    exit_code: null,
    http_status_code: null,
    error_code: null,
    error_message: null,
    log_lines: 0,
    bulk: false,
    ...over,
  };
}

const base = {
  workflow_id: WF,
  user_id: USER,
  generation: 2,
  name: 'site up',
  kind: 'HEARTBEAT' as const,
  at: AT,
};
const workflowFacts: { [T in keyof WorkflowFacts]: WorkflowFacts[T] } = {
  BUILD_STARTED: { ...base, kind: 'CONTAINER', image: 'alpine:3.20' },
  BUILD_COMPLETED: base,
  BUILD_FAILED: { ...base, reason: 'image alpine:nope not found' },
  WORKFLOW_TERMINATED: { ...base, reason: 'manual', consecutive_failures: 0, max_consecutive_failures: 3 },
  SCHEDULE_MISSED: {
    ...base,
    incident_id: '0193a7c2-5b7e-7c1a-9d1e-3f2b8a6c4d10',
    cause: 'SCHEDULER_DOWN',
    due_at: AT,
    reason: 'its fire time of 2026-11-23T10:00:00.000Z had not started after 60 s: no scheduler ran it',
  },
};

const jobFact = (
  over: Partial<JobFinishedPayload> = {},
  name: string | null = 'site up',
): NotificationFact => ({
  type: 'JOB_FINISHED',
  payload: job(over),
  workflowName: name,
});

function made(fact: NotificationFact): NotificationContent {
  const n = notificationFor(fact);
  if (!n) throw new Error('expected a notification');
  return n;
}

describe('notificationFor: jobs', () => {
  it('completed: SUCCESS on the job, with HTTP status, deep link and job dedupe key', () => {
    expect(made(jobFact({ http_status_code: 200 }))).toEqual({
      user_id: USER,
      dedupe_key: `JOB_FINISHED:${JOB}`,
      kind: 'SUCCESS',
      title: 'Job completed',
      message: 'A job of "site up" completed (HTTP 200).',
      entity_type: 'JOB',
      entity_id: JOB,
      action_url: `/workflows/${WF}/jobs/${JOB}`,
      alert: false,
    });
  });

  it('completed container job: exit code; manual run said so', () => {
    expect(made(jobFact({ exit_code: 0, trigger: 'MANUAL' })).message).toBe(
      'A job of "site up" (manual run) completed (exit code 0).',
    );
  });

  it('failed: ERROR and alert, with attempts, HTTP status, error code and message', () => {
    const n = made(
      jobFact({
        status: 'FAILED',
        attempts: 3,
        http_status_code: 500,
        error_code: 'UNEXPECTED_STATUS',
        error_message: 'expected HTTP 200, got 500',
      }),
    );
    expect(n.kind).toBe('ERROR');
    expect(n.alert).toBe(true);
    expect(n.title).toBe('Job failed');
    expect(n.message).toBe(
      'A job of "site up" failed after 3 attempts (HTTP 500): UNEXPECTED_STATUS: expected HTTP 200, got 500.',
    );
  });

  it('failed container job with only an exit code, or only a message', () => {
    expect(made(jobFact({ status: 'FAILED', exit_code: 2, error_code: 'NON_ZERO_EXIT' })).message).toBe(
      'A job of "site up" failed (exit code 2): NON_ZERO_EXIT.',
    );
    expect(made(jobFact({ status: 'FAILED', error_message: 'boom\n  at line 2' })).message).toBe(
      'A job of "site up" failed: boom at line 2.',
    );
    expect(made(jobFact({ status: 'FAILED' })).message).toBe('A job of "site up" failed.');
  });

  it('a very long error message is cut', () => {
    const n = made(jobFact({ status: 'FAILED', error_message: 'x'.repeat(10_000) }));
    expect(n.message.length).toBeLessThan(MAX_DETAIL_CHARS + 100);
    expect(n.message).toContain('…');
  });

  it('canceled by a user: WARN, not an alert; before or while running', () => {
    const pending = made(jobFact({ status: 'CANCELED', started_at: null }));
    expect(pending.kind).toBe('WARN');
    expect(pending.alert).toBe(false);
    expect(pending.message).toBe('A job of "site up" was canceled before it started.');
    expect(made(jobFact({ status: 'CANCELED', exit_code: 137 })).message).toBe(
      'A job of "site up" was canceled while running (exit code 137).',
    );
  });

  it('canceled together with its workflow (bulk): no notification, whatever the status', () => {
    for (const status of FINAL_JOB_STATUSES) {
      expect(notificationFor(jobFact({ status, bulk: true }))).toBeNull();
    }
  });

  it('a deleted workflow is named as such', () => {
    expect(made(jobFact({}, null)).message).toBe('A job of a deleted workflow completed.');
  });

  it('workflow names are shown on one line', () => {
    expect(made(jobFact({}, 'two\nlines')).message).toBe('A job of "two lines" completed.');
  });
});

describe('forSubscriber', () => {
  it('addresses the same text to another user, with the same dedupe key and no deep link', () => {
    const content = made(jobFact({ status: 'FAILED', http_status_code: 503 }));
    const theirs = forSubscriber(content, 'user-b');
    expect(theirs).toEqual({ ...content, user_id: 'user-b', action_url: null });
    expect(content.user_id).toBe(USER);
  });
});

describe('notificationFor: workflows', () => {
  const fact = <T extends keyof WorkflowFacts>(type: T, over: Partial<WorkflowFacts[T]> = {}) =>
    ({ type, payload: { ...workflowFacts[type], ...over } }) as NotificationFact;

  it('build started: INFO, with the image for a container', () => {
    expect(made(fact('BUILD_STARTED'))).toEqual({
      user_id: USER,
      dedupe_key: `BUILD_STARTED:${WF}:2`,
      kind: 'INFO',
      title: 'Build started',
      message: 'Building workflow "site up": preparing image alpine:3.20.',
      entity_type: 'WORKFLOW',
      entity_id: WF,
      action_url: `/workflows/${WF}`,
      alert: false,
    });
    expect(made(fact('BUILD_STARTED', { kind: 'HEARTBEAT', image: null })).message).toBe(
      'Building workflow "site up".',
    );
  });

  it('build completed: SUCCESS', () => {
    const n = made(fact('BUILD_COMPLETED'));
    expect([n.kind, n.title, n.alert, n.dedupe_key]).toEqual([
      'SUCCESS',
      'Build completed',
      false,
      `BUILD_COMPLETED:${WF}:2`,
    ]);
    expect(n.message).toBe('Workflow "site up" is built and will run on its schedule.');
  });

  it('build failed: ERROR and alert, with the reason', () => {
    const n = made(fact('BUILD_FAILED'));
    expect([n.kind, n.title, n.alert, n.dedupe_key]).toEqual([
      'ERROR',
      'Build failed',
      true,
      `BUILD_FAILED:${WF}:2`,
    ]);
    expect(n.message).toBe(
      'Workflow "site up" could not be built: image alpine:nope not found. Fix it and edit the workflow to build it again.',
    );
  });

  it('terminated by the user: WARN, an alert (a termination)', () => {
    const n = made(fact('WORKFLOW_TERMINATED'));
    expect([n.kind, n.title, n.alert, n.dedupe_key]).toEqual([
      'WARN',
      'Workflow terminated',
      true,
      `WORKFLOW_TERMINATED:${WF}:2:${AT}`,
    ]);
    expect(n.action_url).toBe(`/workflows/${WF}`);
  });

  it('terminated automatically: ALERT, one message saying why and what to do', () => {
    const n = made(
      fact('WORKFLOW_TERMINATED', { reason: 'auto', consecutive_failures: 3, max_consecutive_failures: 3 }),
    );
    expect(n.kind).toBe('ALERT');
    expect(n.alert).toBe(true);
    expect(n.message).toBe(
      'Workflow "site up" was terminated after 3 consecutive failed jobs (limit 3). Fix it and edit the workflow to resume.',
    );
    expect(
      made(
        fact('WORKFLOW_TERMINATED', { reason: 'auto', consecutive_failures: 1, max_consecutive_failures: 1 }),
      ).message,
    ).toContain('after 1 consecutive failed job (limit 1)');
  });

  it('a later termination of the same generation is another notification', () => {
    const first = made(fact('WORKFLOW_TERMINATED'));
    const second = made(fact('WORKFLOW_TERMINATED', { at: '2026-11-23T11:00:00.000Z' }));
    expect(first.dedupe_key).not.toBe(second.dedupe_key);
  });

  it('every workflow fact makes a notification keyed on workflow and generation', () => {
    // SCHEDULE_MISSED is keyed on its incident instead (below).
    for (const type of WORKFLOW_EVENT_TYPES.filter((t) => t !== 'SCHEDULE_MISSED')) {
      const a = made(fact(type));
      const b = made(fact(type, { generation: 3 }));
      expect(NOTIFICATION_KINDS).toContain(a.kind);
      expect(a.dedupe_key.startsWith(`${type}:${WF}:2`)).toBe(true);
      expect(a.dedupe_key).not.toBe(b.dedupe_key);
      expect(a.title).not.toBe('');
    }
  });
});

describe('wantedBy', () => {
  const expected = {
    ALL: { alert: true, other: true },
    ALERTS: { alert: true, other: false },
    NONE: { alert: false, other: false },
  } as const;
  it.each(NOTIFICATION_PREFERENCES)('%s', (preference) => {
    expect(wantedBy(preference, { alert: true })).toBe(expected[preference].alert);
    expect(wantedBy(preference, { alert: false })).toBe(expected[preference].other);
  });

  it('ALERTS keeps exactly job failures, build failures and terminations', () => {
    const facts: [NotificationFact, boolean][] = [
      [jobFact({ status: 'COMPLETED' }), false],
      [jobFact({ status: 'FAILED' }), true],
      [jobFact({ status: 'CANCELED' }), false],
      [{ type: 'BUILD_STARTED', payload: workflowFacts.BUILD_STARTED }, false],
      [{ type: 'BUILD_COMPLETED', payload: workflowFacts.BUILD_COMPLETED }, false],
      [{ type: 'BUILD_FAILED', payload: workflowFacts.BUILD_FAILED }, true],
      [{ type: 'WORKFLOW_TERMINATED', payload: workflowFacts.WORKFLOW_TERMINATED }, true],
      [
        {
          type: 'WORKFLOW_TERMINATED',
          payload: { ...workflowFacts.WORKFLOW_TERMINATED, reason: 'auto', consecutive_failures: 3 },
        },
        true,
      ],
    ];
    for (const [fact, kept] of facts) expect(wantedBy('ALERTS', made(fact))).toBe(kept);
  });
});

describe('notificationFor: schedule.missed', () => {
  it('one ALERT per incident, naming the cause', () => {
    const n = made({ type: 'SCHEDULE_MISSED', payload: workflowFacts.SCHEDULE_MISSED });
    expect(n).toMatchObject({
      kind: 'ALERT',
      alert: true,
      title: 'Scheduled run missed: no scheduler ran it',
      dedupe_key: 'SCHEDULE_MISSED:0193a7c2-5b7e-7c1a-9d1e-3f2b8a6c4d10',
      action_url: `/workflows/${WF}`,
    });
    expect(n.message).toContain('no scheduler ran it');
    const other = made({
      type: 'SCHEDULE_MISSED',
      payload: {
        ...workflowFacts.SCHEDULE_MISSED,
        incident_id: '0193a7c2-5b7e-7c1a-9d1e-3f2b8a6c4d11',
        cause: 'EXECUTORS_SATURATED',
      },
    });
    expect(other.dedupe_key).not.toBe(n.dedupe_key);
    expect(other.title).toBe('Scheduled run missed: no executor took it');
  });
});
