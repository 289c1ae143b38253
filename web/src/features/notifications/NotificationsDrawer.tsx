/**
 * The notifications drawer: a modal dialog from the side (react-aria: focus trapped inside and
 * returned to the bell on close, Escape and a click outside close it) with two tabs, Unread and All.
 */
import { useEffect, useState } from 'react';
import { Dialog, Heading, Modal, ModalOverlay, Tab, TabList, TabPanel, Tabs } from 'react-aria-components';
import {
  useMarkNotificationsRead,
  useNotifications,
  type Notification,
  type NotificationList,
} from '../../api/notifications.ts';
import { ErrorMessage } from '../../components/ErrorMessage.tsx';
import { Spinner } from '../../components/Spinner.tsx';
import { unreadCountOf } from './cache.ts';
import { NotificationItem } from './NotificationItem.tsx';
import './notifications.css';

/** Re-renders relative times once a minute (mounted only while the drawer is open). */
function useNow(): Date {
  const [now, setNow] = useState(() => new Date());
  useEffect(() => {
    const timer = setInterval(() => setNow(new Date()), 60_000);
    return () => clearInterval(timer);
  }, []);
  return now;
}

function NotificationListView({
  list,
  live,
  now,
  onFollow,
}: {
  list: NotificationList;
  live: boolean;
  now: Date;
  onFollow: (n: Notification) => void;
}) {
  const query = useNotifications(list, { live });
  const mark = useMarkNotificationsRead();
  const items = query.data?.pages.flatMap((p) => p.notifications) ?? [];
  if (query.isPending) return <Spinner />;
  if (query.isError) return <ErrorMessage error={query.error} title="Could not load notifications" />;
  return (
    <>
      {mark.isError && <ErrorMessage error={mark.error} title="Could not mark as read" />}
      {items.length === 0 ? (
        <p className="notifications-empty">
          {list === 'unread' ? 'You are all caught up.' : 'No notifications yet.'}
        </p>
      ) : (
        <ul
          className="notifications-list"
          aria-label={list === 'unread' ? 'Unread notifications' : 'All notifications'}
        >
          {items.map((n) => (
            <NotificationItem
              key={n.id}
              notification={n}
              now={now}
              markPending={mark.isPending}
              onMarkRead={(id) => mark.mutate({ ids: [id] })}
              onFollow={(followed) => {
                if (followed.read_at === null) mark.mutate({ ids: [followed.id] });
                onFollow(followed);
              }}
            />
          ))}
        </ul>
      )}
      {query.hasNextPage && (
        <button
          type="button"
          className="btn btn-secondary notifications-more"
          disabled={query.isFetchingNextPage}
          aria-busy={query.isFetchingNextPage || undefined}
          onClick={() => void query.fetchNextPage()}
        >
          Load older notifications
        </button>
      )}
    </>
  );
}

export interface NotificationsDrawerProps {
  isOpen: boolean;
  onOpenChange: (open: boolean) => void;
  live: boolean;
}

export function NotificationsDrawer({ isOpen, onOpenChange, live }: NotificationsDrawerProps) {
  return (
    <ModalOverlay isOpen={isOpen} onOpenChange={onOpenChange} isDismissable className="drawer-overlay">
      <Modal className="drawer">
        <Dialog className="drawer-dialog" aria-labelledby="notifications-title">
          <DrawerContent live={live} close={() => onOpenChange(false)} />
        </Dialog>
      </Modal>
    </ModalOverlay>
  );
}

function DrawerContent({ live, close }: { live: boolean; close: () => void }) {
  const [tab, setTab] = useState<NotificationList>('unread');
  const unread = useNotifications('unread', { live });
  const count = unreadCountOf(unread.data);
  const markAll = useMarkNotificationsRead();
  const now = useNow();
  return (
    <>
      <div className="drawer-header">
        <Heading slot="title" id="notifications-title" className="drawer-title">
          Notifications
        </Heading>
        <span className="notifications-live muted" role="status">
          {live ? 'Live' : 'Reconnecting…'}
        </span>
        <button type="button" className="btn btn-ghost" onClick={close} aria-label="Close notifications">
          <span aria-hidden="true">✕</span>
        </button>
      </div>
      <div className="drawer-actions">
        <button
          type="button"
          className="btn btn-secondary"
          disabled={count === 0 || markAll.isPending}
          aria-busy={markAll.isPending || undefined}
          onClick={() => markAll.mutate({ all: true })}
        >
          Mark all as read
        </button>
      </div>
      {markAll.isError && <ErrorMessage error={markAll.error} title="Could not mark as read" />}
      <Tabs selectedKey={tab} onSelectionChange={(key) => setTab(key as NotificationList)}>
        <TabList aria-label="Notification lists" className="tabs-list">
          <Tab id="unread" className="tab">
            Unread{count > 0 ? ` (${count})` : ''}
          </Tab>
          <Tab id="all" className="tab">
            All
          </Tab>
        </TabList>
        <TabPanel id="unread" className="tab-panel">
          <NotificationListView list="unread" live={live} now={now} onFollow={close} />
        </TabPanel>
        <TabPanel id="all" className="tab-panel">
          <NotificationListView list="all" live={live} now={now} onFollow={close} />
        </TabPanel>
      </Tabs>
    </>
  );
}
