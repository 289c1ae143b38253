/**
 * The header's bell: the unread count (kept current by the live stream, with a slow poll only while
 * the stream is down) and the drawer it opens. The drawer (dialog, tabs, focus management) is its own
 * chunk, fetched on the first open: the header on every first page load carries only the count.
 */
import { lazy, Suspense, useState } from 'react';
import { useNotifications } from '../../api/notifications.ts';
import { unreadCountOf } from './cache.ts';
import { bellLabel } from './kinds.ts';
import { useNotificationStream } from './stream.ts';
import './notifications.css';

const loadDrawer = () => import('./NotificationsDrawer.tsx');
const NotificationsDrawer = lazy(() => loadDrawer().then((m) => ({ default: m.NotificationsDrawer })));

export default function NotificationsBell() {
  const live = useNotificationStream();
  const unread = useNotifications('unread', { live });
  const count = unreadCountOf(unread.data);
  const [open, setOpen] = useState(false);
  const [opened, setOpened] = useState(false);
  return (
    <>
      <button
        type="button"
        className="btn btn-ghost notifications-bell"
        aria-label={bellLabel(count)}
        aria-haspopup="dialog"
        aria-expanded={open}
        // Fetch the drawer's chunk as soon as the user heads for the bell.
        onPointerEnter={() => void loadDrawer()}
        onFocus={() => void loadDrawer()}
        onClick={() => {
          setOpened(true);
          setOpen(true);
        }}
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
      {opened && (
        <Suspense fallback={null}>
          <NotificationsDrawer isOpen={open} onOpenChange={setOpen} live={live} />
        </Suspense>
      )}
    </>
  );
}
