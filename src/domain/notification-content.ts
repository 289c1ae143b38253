/**
 * What a user is told about a fact (src/domain/events.ts): the pure mapping fact → in-app
 * notification, and the preference filter. No I/O: the consumer (src/workers/notifications)
 * looks up what a fact lacks (a job's workflow name) and stores the result.
 *
 * - Every notification carries a `dedupe_key` from the fact's natural identity (the job id; the
 *   workflow id + generation; for a termination also its time, since an edited workflow can be
 *   terminated again within one generation), so a fact delivered twice, or published twice under
 *   two message ids, makes one notification (UNIQUE (user_id, dedupe_key)).
 * - `alert` marks what the ALERTS preference keeps: failures and terminations (job failed, build
 *   failed, workflow terminated). The original system hid job failures from its default
 *   preference; ours does not.
 * - A job canceled together with its workflow (`bulk`) makes no notification: the workflow's own
 *   WORKFLOW_TERMINATED (or the edit the user just made) tells the user, once.
 */
import type {
  BuildFailedPayload,
  BuildStartedPayload,
  JobFinishedPayload,
  ScheduleMissedPayload,
  WorkflowFacts,
  WorkflowTerminatedPayload,
} from './events.ts';
import type { NotificationPreference } from './user-input.ts';

export const NOTIFICATION_KINDS = ['INFO', 'SUCCESS', 'WARN', 'ERROR', 'ALERT'] as const;
export type NotificationKind = (typeof NOTIFICATION_KINDS)[number];

export const NOTIFICATION_ENTITY_TYPES = ['WORKFLOW', 'JOB'] as const;
export type NotificationEntityType = (typeof NOTIFICATION_ENTITY_TYPES)[number];

export interface NotificationContent {
  user_id: string;
  /** One notification per (user_id, dedupe_key), however often the fact is delivered. */
  dedupe_key: string;
  kind: NotificationKind;
  title: string;
  /** Plain text. */
  message: string;
  entity_type: NotificationEntityType;
  entity_id: string;
  /**
   * Dashboard deep link: `/workflows/<id>` or `/workflows/<id>/jobs/<job_id>`; null for a
   * subscriber who does not own the workflow (see forSubscriber).
   */
  action_url: string | null;
  /** Kept by the ALERTS preference (failures and terminations). */
  alert: boolean;
}

/** A fact as the consumer hands it over; a job fact with its workflow's name when still known. */
export type NotificationFact =
  | { type: 'JOB_FINISHED'; payload: JobFinishedPayload; workflowName: string | null }
  | { [T in keyof WorkflowFacts]: { type: T; payload: WorkflowFacts[T] } }[keyof WorkflowFacts];

/** Longest free text taken from a fact (error messages, build reasons) before it is cut. */
export const MAX_DETAIL_CHARS = 500;

/** The notification a fact makes, or null when it makes none (a bulk cancel). */
export function notificationFor(fact: NotificationFact): NotificationContent | null {
  switch (fact.type) {
    case 'JOB_FINISHED':
      return jobFinished(fact.payload, fact.workflowName);
    case 'BUILD_STARTED':
      return buildStarted(fact.payload);
    case 'BUILD_COMPLETED':
      return workflowNotification(fact.payload, `BUILD_COMPLETED:${key(fact.payload)}`, {
        kind: 'SUCCESS',
        title: 'Build completed',
        message: `Workflow ${quote(fact.payload.name)} is built and will run on its schedule.`,
        alert: false,
      });
    case 'BUILD_FAILED':
      return buildFailed(fact.payload);
    case 'WORKFLOW_TERMINATED':
      return terminated(fact.payload);
    case 'SCHEDULE_MISSED':
      return scheduleMissed(fact.payload);
  }
}

const MISSED_TITLES: Record<ScheduleMissedPayload['cause'], string> = {
  SCHEDULER_DOWN: 'Scheduled run missed: no scheduler ran it',
  EXECUTORS_SATURATED: 'Scheduled run missed: no executor took it',
  NOT_BUILT: 'Scheduled run missed: the workflow is not built',
};

/** One ALERT per incident (its id is the dedupe key): no repeat while the incident lasts. */
function scheduleMissed(p: ScheduleMissedPayload): NotificationContent {
  return workflowNotification(p, `SCHEDULE_MISSED:${p.incident_id}`, {
    kind: 'ALERT',
    title: MISSED_TITLES[p.cause],
    message: `Workflow ${quote(p.name)}: ${sentence(p.reason)}`,
    alert: true,
  });
}

/**
 * The notification as a subscriber who does not own the workflow gets it (an administrator
 * subscribed them, src/domain/subscriptions.ts): the same text, addressed to them, without a deep
 * link. The workflow's pages stay its owner's (404 for anyone else, the subscription grants no
 * access), so a link would only lead to "not found". Same dedupe key: one per (fact, user).
 */
export function forSubscriber(content: NotificationContent, userId: string): NotificationContent {
  return { ...content, user_id: userId, action_url: null };
}

/** Whether a user with `preference` gets a notification. */
export function wantedBy(
  preference: NotificationPreference,
  content: Pick<NotificationContent, 'alert'>,
): boolean {
  if (preference === 'ALL') return true;
  if (preference === 'ALERTS') return content.alert;
  return false;
}

function jobFinished(p: JobFinishedPayload, workflowName: string | null): NotificationContent | null {
  if (p.bulk) return null;
  const of = workflowName === null ? 'A job of a deleted workflow' : `A job of ${quote(workflowName)}`;
  const manual = p.trigger === 'MANUAL' ? ' (manual run)' : p.trigger === 'BACKFILL' ? ' (backfill run)' : '';
  const base = {
    user_id: p.user_id,
    dedupe_key: `JOB_FINISHED:${p.job_id}`,
    entity_type: 'JOB' as const,
    entity_id: p.job_id,
    action_url: `/workflows/${p.workflow_id}/jobs/${p.job_id}`,
  };
  switch (p.status) {
    case 'COMPLETED':
      return {
        ...base,
        kind: 'SUCCESS',
        title: 'Job completed',
        message: `${of}${manual} completed${outcome(p)}.`,
        alert: false,
      };
    case 'FAILED': {
      const attempts = p.attempts > 1 ? ` after ${p.attempts} attempts` : '';
      const error = errorText(p);
      return {
        ...base,
        kind: 'ERROR',
        title: 'Job failed',
        message: `${of}${manual} failed${attempts}${outcome(p)}${error ? `: ${error}` : ''}.`,
        alert: true,
      };
    }
    case 'CANCELED':
      return {
        ...base,
        kind: 'WARN',
        title: 'Job canceled',
        message:
          p.started_at === null
            ? `${of}${manual} was canceled before it started.`
            : `${of}${manual} was canceled while running${outcome(p)}.`,
        alert: false,
      };
  }
}

function buildStarted(p: BuildStartedPayload): NotificationContent {
  return workflowNotification(p, `BUILD_STARTED:${key(p)}`, {
    kind: 'INFO',
    title: 'Build started',
    message:
      p.image !== null
        ? `Building workflow ${quote(p.name)}: preparing image ${p.image}.`
        : `Building workflow ${quote(p.name)}.`,
    alert: false,
  });
}

function buildFailed(p: BuildFailedPayload): NotificationContent {
  return workflowNotification(p, `BUILD_FAILED:${key(p)}`, {
    kind: 'ERROR',
    title: 'Build failed',
    message: `Workflow ${quote(p.name)} could not be built: ${sentence(p.reason)} Fix it and edit the workflow to build it again.`,
    alert: true,
  });
}

function terminated(p: WorkflowTerminatedPayload): NotificationContent {
  const dedupe = `WORKFLOW_TERMINATED:${key(p)}:${p.at}`;
  if (p.reason === 'auto') {
    return workflowNotification(p, dedupe, {
      kind: 'ALERT',
      title: 'Workflow terminated after repeated failures',
      message: `Workflow ${quote(p.name)} was terminated after ${p.consecutive_failures} consecutive failed ${p.consecutive_failures === 1 ? 'job' : 'jobs'} (limit ${p.max_consecutive_failures}). Fix it and edit the workflow to resume.`,
      alert: true,
    });
  }
  return workflowNotification(p, dedupe, {
    kind: 'WARN',
    title: 'Workflow terminated',
    message: `Workflow ${quote(p.name)} was terminated; its pending jobs were canceled. Edit the workflow to resume.`,
    alert: true,
  });
}

function workflowNotification(
  p: { workflow_id: string; user_id: string },
  dedupeKey: string,
  content: Pick<NotificationContent, 'kind' | 'title' | 'message' | 'alert'>,
): NotificationContent {
  return {
    user_id: p.user_id,
    dedupe_key: dedupeKey,
    entity_type: 'WORKFLOW',
    entity_id: p.workflow_id,
    action_url: `/workflows/${p.workflow_id}`,
    ...content,
  };
}

function key(p: { workflow_id: string; generation: number }): string {
  return `${p.workflow_id}:${p.generation}`;
}

/** ` (HTTP 200)`, ` (exit code 1)`, both, or nothing. */
function outcome(p: JobFinishedPayload): string {
  const parts: string[] = [];
  if (p.http_status_code !== null) parts.push(`HTTP ${p.http_status_code}`);
  if (p.exit_code !== null) parts.push(`exit code ${p.exit_code}`);
  return parts.length > 0 ? ` (${parts.join(', ')})` : '';
}

/** `CODE: message`, either alone, or empty. */
function errorText(p: JobFinishedPayload): string {
  const message = p.error_message === null ? '' : clip(oneLine(p.error_message));
  if (p.error_code !== null && message !== '') return `${p.error_code}: ${message}`;
  return p.error_code ?? message;
}

/** Free text as one line ending with a full stop. */
function sentence(text: string): string {
  const line = clip(oneLine(text)) || 'unknown reason';
  return /[.!?]$/.test(line) ? line : `${line}.`;
}

function quote(name: string): string {
  return `"${oneLine(name)}"`;
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

function clip(text: string): string {
  return text.length > MAX_DETAIL_CHARS ? `${text.slice(0, MAX_DETAIL_CHARS - 1)}…` : text;
}

/**
 * A completed job whose workflow's previous finished job had failed (`job.recovered`,
 * src/domain/subscriptions.ts): the same notification, said as a recovery.
 */
export function asRecovered(content: NotificationContent): NotificationContent {
  return {
    ...content,
    title: 'Job recovered',
    message: `${content.message} The previous run had failed; this one succeeded.`,
  };
}
