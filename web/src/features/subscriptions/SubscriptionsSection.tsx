/**
 * "Notify me" on a workflow page: per channel (in-app, email), what decides now (this workflow's
 * own subscription, the one for all workflows, or the default: the notification preference for
 * in-app, nothing for email), the events as checkboxes, saved as this workflow's subscription;
 * "Use the default" removes it. Says so when the installation sends no email.
 *
 * Webhook: the caller's WEBHOOK subscriptions of this workflow with their endpoint's name, and a
 * form choosing one of their endpoints (GET /webhooks) and its events. Administrators also get
 * "Subscribe someone else": a user picker (GET /admin/users), a channel and events, and the list of
 * the other users' subscriptions to this workflow with a remove button (docs/notifications.md).
 */
import { useState } from 'react';
import { useMe } from '../../api/auth.ts';
import {
  SUBSCRIPTION_CHANNELS,
  SUBSCRIPTION_EVENTS,
  WEBHOOK_EVENTS,
  type Effective,
  type Subscription,
  type SubscriptionChannel,
  type User,
  type Webhook,
  useDeleteSubscription,
  useInstallationUsers,
  useMyWebhooks,
  useSaveSubscription,
  useWorkflowSubscriptions,
} from '../../api/subscriptions.ts';
import { Button } from '../../components/Button.tsx';
import { ErrorMessage } from '../../components/ErrorMessage.tsx';
import { Checkbox, Select } from '../../components/Field.tsx';
import { Spinner } from '../../components/Spinner.tsx';

const CHANNEL_LABEL: Record<SubscriptionChannel, string> = {
  IN_APP: 'In-app',
  EMAIL: 'Email',
  WEBHOOK: 'Webhook',
};

const EVENT_LABEL: Record<(typeof SUBSCRIPTION_EVENTS)[number], string> = {
  'job.failed': 'A job fails',
  'job.recovered': 'A job succeeds after a failure',
  'job.completed': 'A job completes',
  'job.canceled': 'A job is canceled',
  'build.started': 'A build starts',
  'build.completed': 'A build completes',
  'build.failed': 'A build fails',
  'workflow.terminated': 'The workflow is terminated',
  'schedule.missed': 'A scheduled run has not started in time',
};

function sourceText(e: Effective): string {
  if (e.source === 'WORKFLOW') return 'Set for this workflow.';
  if (e.source === 'ALL_WORKFLOWS') return 'From your setting for all workflows.';
  return e.channel === 'IN_APP'
    ? 'From your notification preference (profile).'
    : 'Off unless you choose events.';
}

function expand(events: string[]): string[] {
  return events.includes('*') ? [...SUBSCRIPTION_EVENTS] : events;
}

function ChannelForm({
  workflowId,
  effective,
  ownId,
}: {
  workflowId: string;
  effective: Effective;
  ownId: string | null;
}) {
  const [chosen, setChosen] = useState<string[]>(expand(effective.events));
  const save = useSaveSubscription(workflowId);
  const remove = useDeleteSubscription(workflowId);
  const label = CHANNEL_LABEL[effective.channel];
  const toggle = (event: string) => (e: { target: { checked: boolean } }) =>
    setChosen((c) => (e.target.checked ? [...c, event] : c.filter((x) => x !== event)));
  return (
    <fieldset aria-label={label}>
      <legend>{label}</legend>
      <p className="muted">{sourceText(effective)}</p>
      {SUBSCRIPTION_EVENTS.map((event) => (
        <Checkbox
          key={event}
          label={EVENT_LABEL[event]}
          checked={chosen.includes(event)}
          onChange={toggle(event)}
        />
      ))}
      <ErrorMessage error={save.error ?? remove.error} title="Could not save" />
      <div className="row">
        <Button
          variant="primary"
          pending={save.isPending}
          onClick={() =>
            save.mutate({
              channel: effective.channel,
              events: SUBSCRIPTION_EVENTS.filter((e) => chosen.includes(e)),
            })
          }
        >
          {`Save ${label.toLowerCase()} for this workflow`}
        </Button>
        {ownId ? (
          <Button variant="ghost" pending={remove.isPending} onClick={() => remove.mutate(ownId)}>
            Use the default
          </Button>
        ) : null}
      </div>
    </fieldset>
  );
}

/** The events of a subscription, in words. */
function eventsText(events: readonly string[]): string {
  if (events.includes('*')) return 'every event';
  if (events.length === 0) return 'nothing (muted)';
  return events.join(', ');
}

/** An endpoint as people know it: its description, else its URL. */
function hookName(hook: Webhook | undefined, id: string): string {
  if (!hook) return `webhook ${id}`;
  return hook.description ? `${hook.description} (${hook.url})` : hook.url;
}

function EventBoxes({
  events,
  chosen,
  setChosen,
}: {
  events: readonly (typeof SUBSCRIPTION_EVENTS)[number][];
  chosen: string[];
  setChosen: (update: (c: string[]) => string[]) => void;
}) {
  return (
    <>
      {events.map((event) => (
        <Checkbox
          key={event}
          label={EVENT_LABEL[event]}
          checked={chosen.includes(event)}
          onChange={(e) =>
            setChosen((c) => (e.target.checked ? [...c, event] : c.filter((x) => x !== event)))
          }
        />
      ))}
    </>
  );
}

/** The caller's WEBHOOK subscriptions of this workflow, and one more (or a change) on one of their endpoints. */
function WebhookForm({
  workflowId,
  mine,
  effective,
}: {
  workflowId: string;
  mine: Subscription[];
  effective: Effective[];
}) {
  const hooks = useMyWebhooks();
  const save = useSaveSubscription(workflowId);
  const remove = useDeleteSubscription(workflowId);
  const [target, setTarget] = useState('');
  const [chosen, setChosen] = useState<string[]>([]);
  const list = hooks.data?.webhooks ?? [];
  const byId = new Map(list.map((h) => [h.id, h]));
  const pick = (id: string) => {
    setTarget(id);
    // Start from what decides for that endpoint now (its subscription, else its event_types).
    const now = effective.find((e) => e.channel === 'WEBHOOK' && e.target === id);
    setChosen(now ? expand(now.events).filter((e) => e !== 'job.recovered') : []);
  };
  return (
    <fieldset aria-label="Webhook">
      <legend>Webhook</legend>
      {mine.length > 0 ? (
        <ul aria-label="Webhook subscriptions">
          {mine.map((s) => (
            <li key={s.id}>
              {`${hookName(byId.get(s.target ?? ''), s.target ?? '')}: ${eventsText(s.events)}`}{' '}
              <Button variant="ghost" pending={remove.isPending} onClick={() => remove.mutate(s.id)}>
                {`Remove ${hookName(byId.get(s.target ?? ''), s.target ?? '')}`}
              </Button>
            </li>
          ))}
        </ul>
      ) : (
        <p className="muted">
          No webhook of yours is subscribed to this workflow: each takes its own event types.
        </p>
      )}
      {hooks.isPending ? (
        <Spinner label="Loading your webhooks" />
      ) : hooks.isError ? (
        <ErrorMessage error={hooks.error} title="Your webhooks could not be loaded" />
      ) : list.length === 0 ? (
        <p className="muted">You have no webhooks (create one with POST /api/v1/webhooks).</p>
      ) : (
        <>
          <Select
            label="Endpoint"
            value={target}
            onChange={(e) => pick(e.target.value)}
            options={[
              { value: '', label: 'Choose one of your webhooks' },
              ...list.map((h) => ({ value: h.id, label: hookName(h, h.id) })),
            ]}
          />
          {target ? <EventBoxes events={WEBHOOK_EVENTS} chosen={chosen} setChosen={setChosen} /> : null}
          <ErrorMessage error={save.error ?? remove.error} title="Could not save" />
          <Button
            variant="primary"
            pending={save.isPending}
            disabled={!target}
            onClick={() =>
              save.mutate({
                channel: 'WEBHOOK',
                target,
                events: WEBHOOK_EVENTS.filter((e) => chosen.includes(e)),
              })
            }
          >
            Save webhook for this workflow
          </Button>
        </>
      )}
    </fieldset>
  );
}

/** Administrators: subscribe another user of the installation, and see or remove theirs. */
function OthersForm({ workflowId, me, others }: { workflowId: string; me: User; others: Subscription[] }) {
  const users = useInstallationUsers(true);
  const save = useSaveSubscription(workflowId);
  const remove = useDeleteSubscription(workflowId);
  const [userId, setUserId] = useState('');
  const [channel, setChannel] = useState<'IN_APP' | 'EMAIL'>('IN_APP');
  const [chosen, setChosen] = useState<string[]>(['job.failed']);
  const list = (users.data?.users ?? []).filter((u) => u.id !== me.id);
  const email = new Map((users.data?.users ?? []).map((u) => [u.id, u.email]));
  return (
    <fieldset aria-label="Subscribe someone else">
      <legend>Subscribe someone else</legend>
      <p className="muted">
        As an administrator you may subscribe any user to this workflow. They get the events chosen, without
        access to the workflow. Webhooks: the user subscribes their own.
      </p>
      {others.length > 0 ? (
        <ul aria-label="Other users' subscriptions">
          {others.map((s) => {
            const who = email.get(s.user_id) ?? s.user_id;
            return (
              <li key={s.id}>
                {`${who} · ${CHANNEL_LABEL[s.channel]}: ${eventsText(s.events)}`}{' '}
                <Button variant="ghost" pending={remove.isPending} onClick={() => remove.mutate(s.id)}>
                  {`Remove ${who} ${CHANNEL_LABEL[s.channel].toLowerCase()}`}
                </Button>
              </li>
            );
          })}
        </ul>
      ) : null}
      {users.isPending ? (
        <Spinner label="Loading users" />
      ) : users.isError ? (
        <ErrorMessage error={users.error} title="The users could not be loaded" />
      ) : (
        <>
          <Select
            label="User"
            value={userId}
            onChange={(e) => setUserId(e.target.value)}
            options={[
              { value: '', label: 'Choose a user' },
              ...list.map((u) => ({ value: u.id, label: u.email })),
            ]}
          />
          <Select
            label="Channel"
            value={channel}
            onChange={(e) => setChannel(e.target.value === 'EMAIL' ? 'EMAIL' : 'IN_APP')}
            options={SUBSCRIPTION_CHANNELS.map((c) => ({ value: c, label: CHANNEL_LABEL[c] }))}
          />
          <EventBoxes events={SUBSCRIPTION_EVENTS} chosen={chosen} setChosen={setChosen} />
          <ErrorMessage error={save.error ?? remove.error} title="Could not subscribe" />
          <Button
            variant="primary"
            pending={save.isPending}
            disabled={!userId}
            onClick={() =>
              save.mutate({
                channel,
                user_id: userId,
                events: SUBSCRIPTION_EVENTS.filter((e) => chosen.includes(e)),
              })
            }
          >
            Subscribe
          </Button>
        </>
      )}
    </fieldset>
  );
}

export function SubscriptionsSection({ workflowId }: { workflowId: string }) {
  const subs = useWorkflowSubscriptions(workflowId);
  const me = useMe();
  const meId = me.data?.id;
  return (
    <section aria-labelledby="subscriptions-heading">
      <h2 id="subscriptions-heading">Notify me</h2>
      {subs.isPending || me.isPending ? (
        <Spinner label="Loading notification settings" />
      ) : subs.isError ? (
        <ErrorMessage error={subs.error} title="The notification settings could not be loaded" />
      ) : me.isError || !me.data ? (
        <ErrorMessage error={me.error} title="The notification settings could not be loaded" />
      ) : (
        <>
          {!subs.data.email_enabled ? (
            <p className="muted">
              Email is off on this installation (no SMTP server): email choices are kept but nothing is sent.
            </p>
          ) : null}
          <div className="row">
            {SUBSCRIPTION_CHANNELS.map((channel) => {
              const effective = subs.data.effective?.find((e) => e.channel === channel) ?? {
                channel,
                source: 'DEFAULT' as const,
                events: [],
                target: null,
              };
              // An administrator's listing holds other users' subscriptions too: the form is the caller's.
              const own = subs.data.subscriptions.find(
                (s) => s.channel === channel && s.workflow_id === workflowId && s.user_id === meId,
              );
              // Keyed on what decides: saving or resetting shows the new state.
              return (
                <ChannelForm
                  key={`${channel}:${effective.source}:${effective.events.join(',')}`}
                  workflowId={workflowId}
                  effective={effective}
                  ownId={own?.id ?? null}
                />
              );
            })}
            <WebhookForm
              workflowId={workflowId}
              mine={subs.data.subscriptions.filter(
                (s) => s.channel === 'WEBHOOK' && s.workflow_id === workflowId && s.user_id === meId,
              )}
              effective={subs.data.effective ?? []}
            />
          </div>
          {me.data.role === 'admin' ? (
            <OthersForm
              workflowId={workflowId}
              me={me.data}
              others={subs.data.subscriptions.filter((s) => s.user_id !== meId)}
            />
          ) : null}
        </>
      )}
    </section>
  );
}
