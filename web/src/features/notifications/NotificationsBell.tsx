/**
 * The header's bell: the unread count (kept current by the live stream, with a slow poll only while
 * the stream is down) and the drawer it opens.
 */
import { useState } from 'react';
import { useNotifications } from '../../api/notifications.ts';
import { unreadCountOf } from './cache.ts';
import { bellLabel } from './kinds.ts';
import { NotificationsDrawer } from './NotificationsDrawer.tsx';
import { useNotificationStream } from './stream.ts';
import './notifications.css';

export default function NotificationsBell() {
  const live = useNotificationStream();
  const unread = useNotifications('unread', { live });
  const count = unreadCountOf(unread.data);
  const [open, setOpen] = useState(false);
  return (
    <>
      <button
        type="button"
        className="btn btn-ghost notifications-bell"
        aria-label={bellLabel(count)}
        aria-haspopup="dialog"
        aria-expanded={open}
        onClick={() => setOpen(true)}
      >
        <svg aria-hidden="true" viewBox="0 0 24 24" width="20" height="20" focusable="false">
          <path
            fill="currentColor"
            d="M12 22a2.5 2.5 0 0 0 2.45-2h-4.9A2.5 2.5 0 0 0 12 22Zm7-6V11a7 7 0 0 0-5.5-6.84V3.5a1.5 1.5 0 0 0-3 0v.66A7 7 0 0 0 5 11v5l-2 2v1h18v-1l-2-2Z"
          />
        </svg>
        {count > 0 && (
          <span className="notifications-count" aria-hidden="true">
            {count > 99 ? '99+' : count}
          </span>
        )}
      </button>
      <NotificationsDrawer isOpen={open} onOpenChange={setOpen} live={live} />
    </>
  );
}
