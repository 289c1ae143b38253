/**
 * "Notify me" on a workflow page: per channel (in-app, email), what decides now (this workflow's
 * own subscription, the one for all workflows, or the default: the notification preference for
 * in-app, nothing for email), the events as checkboxes, saved as this workflow's subscription;
 * "Use the default" removes it. Says so when the installation sends no email.
 */
import { useState } from 'react';
import {
  SUBSCRIPTION_CHANNELS,
  SUBSCRIPTION_EVENTS,
  type Effective,
  type SubscriptionChannel,
  useDeleteSubscription,
  useSaveSubscription,
  useWorkflowSubscriptions,
} from '../../api/subscriptions.ts';
import { Button } from '../../components/Button.tsx';
import { ErrorMessage } from '../../components/ErrorMessage.tsx';
import { Checkbox } from '../../components/Field.tsx';
import { Spinner } from '../../components/Spinner.tsx';

// WEBHOOK subscriptions are made through the API for now (docs/notifications.md); this section edits IN_APP and EMAIL.
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

export function SubscriptionsSection({ workflowId }: { workflowId: string }) {
  const subs = useWorkflowSubscriptions(workflowId);
  return (
    <section aria-labelledby="subscriptions-heading">
      <h2 id="subscriptions-heading">Notify me</h2>
      {subs.isPending ? (
        <Spinner label="Loading notification settings" />
      ) : subs.isError ? (
        <ErrorMessage error={subs.error} title="The notification settings could not be loaded" />
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
              const own = subs.data.subscriptions.find(
                (s) => s.channel === channel && s.workflow_id === workflowId,
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
          </div>
        </>
      )}
    </section>
  );
}
