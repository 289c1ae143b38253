/** How each notification kind looks: a glyph (decorative), a colour tone and a spoken label. */
import type { NotificationKind } from '../../api/notifications.ts';

export const KIND_STYLE: Record<NotificationKind, { icon: string; label: string; tone: string }> = {
  INFO: { icon: 'ℹ', label: 'Information', tone: 'info' },
  SUCCESS: { icon: '✓', label: 'Success', tone: 'success' },
  WARN: { icon: '!', label: 'Warning', tone: 'warning' },
  ERROR: { icon: '✕', label: 'Error', tone: 'danger' },
  ALERT: { icon: '▲', label: 'Alert', tone: 'danger' },
};

/**
 * Only same-origin paths become links ("/workflows/…"): an `action_url` is data from the server,
 * and a "javascript:" or "//evil.example" value must never reach an href.
 */
export function internalPath(url: string | null): string | null {
  if (!url || !url.startsWith('/') || url.startsWith('//') || url.startsWith('/\\')) return null;
  return url;
}

/** The bell's accessible name. */
export function bellLabel(unread: number): string {
  if (unread <= 0) return 'Notifications, none unread';
  return `Notifications, ${unread} unread`;
}
