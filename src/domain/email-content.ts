/**
 * The email a notification becomes: subject, plain text and HTML, rendered by one pure function
 * from the same content as the in-app notification (src/domain/notification-content.ts), so the
 * two channels never tell different stories. Links are absolute: the dashboard's public address
 * (CHRONOVERSE_PUBLIC_URL) + the notification's `action_url`.
 *
 * What a message may hold is what the in-app notification holds: names, statuses, exit codes and
 * the (clipped) error text. Never a workflow's payload (heartbeat headers, container environment)
 * — facts do not carry it — nor anything of the SMTP configuration.
 */
import type { NotificationContent } from './notification-content.ts';

export interface EmailMessage {
  subject: string;
  text: string;
  html: string;
}

export interface EmailInput {
  content: Pick<NotificationContent, 'kind' | 'title' | 'message' | 'action_url'>;
  /** Why the reader gets it: the event name(s) they subscribed to, e.g. `job.failed`. */
  event: string;
  /** The dashboard's address without a trailing slash, e.g. `https://chronoverse.example.com`. */
  publicUrl: string;
  /** The workflow's name (null when unknown: deleted). */
  workflowName: string | null;
  /**
   * Dashboard path of the workflow, where its subscriptions are edited; null for a subscriber who
   * does not own it (an administrator subscribed them): the footer points at their subscriptions.
   */
  workflowPath: string | null;
}

const SUBJECT_MAX = 200;

export function renderEmail(input: EmailInput): EmailMessage {
  const base = input.publicUrl.replace(/\/+$/, '');
  // No links for a subscriber who does not own the workflow: its pages are 404s for them.
  const link = input.content.action_url === null ? null : `${base}${input.content.action_url}`;
  const manage =
    input.workflowPath === null ? `${base}/api/v1/subscriptions` : `${base}${input.workflowPath}`;
  const about = input.workflowName === null ? '' : `: ${oneLine(input.workflowName)}`;
  const subject = clip(`[Chronoverse] ${input.content.title}${about}`, SUBJECT_MAX);
  const why =
    input.workflowPath === null
      ? `You get this email because an administrator subscribed you to ${input.event} notifications for this workflow.`
      : `You get this email because you subscribed to ${input.event} notifications for this workflow.`;
  const stop =
    input.workflowPath === null
      ? `Your subscriptions (delete one to stop these emails): ${manage}`
      : `Change or stop them: ${manage}`;
  const text = [
    input.content.message,
    '',
    ...(link === null ? [] : [`Open it: ${link}`, '']),
    '--',
    why,
    stop,
    '',
  ].join('\n');
  const open = link === null ? '' : `<p><a href="${escapeHtml(link)}">Open it in Chronoverse</a></p>\n`;
  const footer =
    input.workflowPath === null
      ? `${escapeHtml(why)} Your subscriptions (delete one to stop these emails): <a href="${escapeHtml(manage)}">${escapeHtml(manage)}</a>.`
      : `${escapeHtml(why)} <a href="${escapeHtml(manage)}">Change or stop them</a>.`;
  const html = `<!doctype html>
<html><body style="font-family: sans-serif; line-height: 1.4">
<h2 style="margin: 0 0 12px">${escapeHtml(input.content.title)}</h2>
<p>${escapeHtml(input.content.message)}</p>
${open}<hr>
<p style="color: #666; font-size: 12px">${footer}</p>
</body></html>
`;
  return { subject, text, html };
}

export function escapeHtml(s: string): string {
  return s
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

function oneLine(s: string): string {
  return s.replace(/\s+/g, ' ').trim();
}

function clip(s: string, max: number): string {
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

/**
 * The password reset email: the one-time link and how long it works. It names no account
 * detail beyond the address it is sent to, and says what to do when the reader did not ask.
 */
export function renderPasswordResetEmail(input: { link: string; validMinutes: number }): EmailMessage {
  const subject = '[Chronoverse] Reset your password';
  const intro = 'Someone (hopefully you) asked to reset the password of your Chronoverse account.';
  const action = `Choose a new password within ${input.validMinutes} minutes; the link works once:`;
  const ignore =
    'If you did not ask, ignore this email: your password stays as it is. Setting a new one signs out every session and revokes every token of the account.';
  const text = [intro, '', action, input.link, '', ignore, ''].join('\n');
  const html = `<!doctype html>
<html><body style="font-family: sans-serif; line-height: 1.4">
<p>${escapeHtml(intro)}</p>
<p>${escapeHtml(action)}</p>
<p><a href="${escapeHtml(input.link)}">${escapeHtml(input.link)}</a></p>
<p style="color: #666; font-size: 12px">${escapeHtml(ignore)}</p>
</body></html>
`;
  return { subject, text, html };
}
