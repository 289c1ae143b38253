import { Link } from 'react-router';
import type { Notification } from '../../api/notifications.ts';
import { KIND_STYLE, internalPath } from './kinds.ts';
import { formatAbsoluteTime, formatRelativeTime } from './relative-time.ts';

export interface NotificationItemProps {
  notification: Notification;
  now: Date;
  onMarkRead: (id: string) => void;
  /** Called when the user follows the deep link (the drawer closes; the item is marked read). */
  onFollow: (notification: Notification) => void;
  markPending?: boolean;
}

/** One notification. Every piece of server text is rendered as text, never as HTML. */
export function NotificationItem({
  notification: n,
  now,
  onMarkRead,
  onFollow,
  markPending,
}: NotificationItemProps) {
  const style = KIND_STYLE[n.kind] ?? KIND_STYLE.INFO;
  const href = internalPath(n.action_url);
  const unread = n.read_at === null;
  return (
    <li className={`notification notification-${style.tone}${unread ? ' notification-unread' : ''}`}>
      <span className="notification-icon" aria-hidden="true">
        {style.icon}
      </span>
      <div className="notification-body">
        <p className="notification-title">
          <span className="visually-hidden">
            {style.label}
            {unread ? ', unread' : ''}:{' '}
          </span>
          {href ? (
            <Link to={href} onClick={() => onFollow(n)}>
              {n.title}
            </Link>
          ) : (
            n.title
          )}
        </p>
        {n.message && <p className="notification-message">{n.message}</p>}
        <time className="notification-time" dateTime={n.created_at} title={formatAbsoluteTime(n.created_at)}>
          {formatRelativeTime(n.created_at, now)}
        </time>
      </div>
      {unread && (
        <button
          type="button"
          className="btn btn-ghost notification-mark"
          aria-label={`Mark “${n.title}” as read`}
          disabled={markPending}
          onClick={() => onMarkRead(n.id)}
        >
          <span aria-hidden="true">✓</span>
        </button>
      )}
    </li>
  );
}
