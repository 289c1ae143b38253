/** "Notify me" on a workflow page against the subscriptions API (docs/api.md "Subscriptions"). */
import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import { json, renderAt, stubFetch } from '../../test/render.tsx';
import { SubscriptionsSection } from './SubscriptionsSection.tsx';

const PATH = '/api/v1/workflows/w1/subscriptions';
const ME = { id: 'u-me', email: 'me@example.com', role: 'user', notification_preference: 'ALERTS' };
const me =
  (role = 'user') =>
  () =>
    json(200, { ...ME, role });
const noHooks = () => json(200, { webhooks: [], cursor: null });

function gateway(emailEnabled: boolean) {
  let own: { id: string; events: string[] } | null = null;
  const answer = () =>
    json(200, {
      subscriptions: own
        ? [
            {
              id: own.id,
              user_id: ME.id,
              workflow_id: 'w1',
              channel: 'EMAIL',
              events: own.events,
              created_at: '',
              updated_at: '',
            },
          ]
        : [],
      email_enabled: emailEnabled,
      effective: [
        {
          channel: 'IN_APP',
          source: 'DEFAULT',
          events: ['job.failed', 'build.failed', 'workflow.terminated'],
        },
        own
          ? { channel: 'EMAIL', source: 'WORKFLOW', events: own.events }
          : { channel: 'EMAIL', source: 'DEFAULT', events: [] },
      ],
    });
  return stubFetch({
    'GET /api/v1/users': me(),
    'GET /api/v1/webhooks': noHooks,
    [`GET ${PATH}`]: answer,
    [`POST ${PATH}`]: ({ body }) => {
      own = { id: 's1', events: (body as { events: string[] }).events };
      return json(201, {});
    },
    [`DELETE ${PATH}/s1`]: () => {
      own = null;
      return new Response(null, { status: 204 });
    },
  });
}

describe('SubscriptionsSection', () => {
  it('shows what decides per channel, saves email events for the workflow and resets to the default', async () => {
    const calls = gateway(true);
    renderAt('/', <SubscriptionsSection workflowId="w1" />);
    const inApp = await screen.findByRole('group', { name: 'In-app' });
    expect(within(inApp).getByText(/notification preference/)).toBeTruthy();
    expect(within(inApp).getByRole('checkbox', { name: 'A job fails' })).toHaveProperty('checked', true);
    expect(within(inApp).getByRole('checkbox', { name: 'A job completes' })).toHaveProperty('checked', false);
    const email = screen.getByRole('group', { name: 'Email' });
    expect(within(email).getByText(/Off unless you choose events/)).toBeTruthy();

    const user = userEvent.setup();
    await user.click(within(email).getByRole('checkbox', { name: 'The workflow is terminated' }));
    await user.click(within(email).getByRole('checkbox', { name: 'A job fails' }));
    await user.click(within(email).getByRole('button', { name: 'Save email for this workflow' }));
    await waitFor(() =>
      expect(
        within(screen.getByRole('group', { name: 'Email' })).getByText('Set for this workflow.'),
      ).toBeTruthy(),
    );
    expect(calls.find((c) => c.method === 'POST')?.body).toEqual({
      channel: 'EMAIL',
      events: ['job.failed', 'workflow.terminated'],
    });

    await user.click(
      within(screen.getByRole('group', { name: 'Email' })).getByRole('button', { name: 'Use the default' }),
    );
    await waitFor(() =>
      expect(
        within(screen.getByRole('group', { name: 'Email' })).getByText(/Off unless you choose events/),
      ).toBeTruthy(),
    );
    expect(calls.some((c) => c.method === 'DELETE' && c.url.pathname === `${PATH}/s1`)).toBe(true);
  });

  it('says when the installation sends no email', async () => {
    gateway(false);
    renderAt('/', <SubscriptionsSection workflowId="w1" />);
    expect(await screen.findByText(/Email is off on this installation/)).toBeTruthy();
  });

  it("lists the workflow's WEBHOOK subscriptions by endpoint name, and subscribes one of your endpoints", async () => {
    const hooks = [
      { id: 'h1', url: 'https://oncall.example.com/hook', description: 'On-call', event_types: ['*'] },
      { id: 'h2', url: 'https://ci.example.com/hook', description: null, event_types: ['build.failed'] },
    ];
    let subscriptions = [
      {
        id: 's-h1',
        user_id: ME.id,
        workflow_id: 'w1',
        channel: 'WEBHOOK',
        target: 'h1',
        events: ['job.failed'],
        created_at: '',
        updated_at: '',
      },
    ];
    const calls = stubFetch({
      'GET /api/v1/users': me(),
      'GET /api/v1/webhooks': () => json(200, { webhooks: hooks, cursor: null }),
      [`GET ${PATH}`]: () =>
        json(200, {
          subscriptions,
          email_enabled: true,
          effective: [
            { channel: 'IN_APP', source: 'DEFAULT', events: [], target: null },
            { channel: 'EMAIL', source: 'DEFAULT', events: [], target: null },
            { channel: 'WEBHOOK', source: 'WORKFLOW', events: ['job.failed'], target: 'h1' },
            { channel: 'WEBHOOK', source: 'DEFAULT', events: ['build.failed'], target: 'h2' },
          ],
        }),
      [`POST ${PATH}`]: ({ body }) => {
        const b = body as { target: string; events: string[] };
        subscriptions = [
          ...subscriptions,
          { ...subscriptions[0]!, id: 's-h2', target: b.target, events: b.events },
        ];
        return json(201, {});
      },
    });
    renderAt('/', <SubscriptionsSection workflowId="w1" />);
    const webhook = await screen.findByRole('group', { name: 'Webhook' });
    const list = await within(webhook).findByRole('list', { name: 'Webhook subscriptions' });
    expect(list.textContent).toContain('On-call (https://oncall.example.com/hook): job.failed');

    const user = userEvent.setup();
    await user.selectOptions(within(webhook).getByRole('combobox', { name: 'Endpoint' }), 'h2');
    // Starts from what decides for that endpoint now (its event types); job.recovered is not for webhooks.
    expect(within(webhook).getByRole('checkbox', { name: 'A build fails' })).toHaveProperty('checked', true);
    expect(within(webhook).queryByRole('checkbox', { name: 'A job succeeds after a failure' })).toBeNull();
    await user.click(within(webhook).getByRole('checkbox', { name: 'A job fails' }));
    await user.click(within(webhook).getByRole('button', { name: 'Save webhook for this workflow' }));
    expect(calls.find((c) => c.method === 'POST')?.body).toEqual({
      channel: 'WEBHOOK',
      target: 'h2',
      events: ['job.failed', 'build.failed'],
    });
    await waitFor(() =>
      expect(list.textContent).toContain('https://ci.example.com/hook: job.failed, build.failed'),
    );
    // Not an administrator: no picker, and the administrators' users list is never asked for.
    expect(screen.queryByRole('group', { name: 'Subscribe someone else' })).toBeNull();
    expect(calls.some((c) => c.url.pathname === '/api/v1/admin/users')).toBe(false);
  });

  it("lets an administrator subscribe another user, and lists and removes the other users' subscriptions", async () => {
    let subscriptions = [
      {
        id: 's-b',
        user_id: 'u-b',
        workflow_id: 'w1',
        channel: 'EMAIL',
        target: null,
        events: ['job.failed'],
        created_at: '',
        updated_at: '',
      },
    ];
    const calls = stubFetch({
      'GET /api/v1/users': me('admin'),
      'GET /api/v1/webhooks': noHooks,
      'GET /api/v1/admin/users': () =>
        json(200, {
          users: [
            { ...ME, role: 'admin' },
            { id: 'u-b', email: 'bob@example.com', role: 'user', notification_preference: 'ALERTS' },
            { id: 'u-c', email: 'carol@example.com', role: 'user', notification_preference: 'ALERTS' },
          ],
          cursor: null,
        }),
      [`GET ${PATH}`]: () => json(200, { subscriptions, email_enabled: true, effective: [] }),
      [`POST ${PATH}`]: ({ body }) => {
        const b = body as { user_id: string; channel: string; events: string[] };
        subscriptions = [...subscriptions, { ...subscriptions[0]!, id: 's-c', ...b }];
        return json(201, {});
      },
      [`DELETE ${PATH}/s-b`]: () => {
        subscriptions = subscriptions.filter((s) => s.id !== 's-b');
        return new Response(null, { status: 204 });
      },
    });
    renderAt('/', <SubscriptionsSection workflowId="w1" />);
    const others = await screen.findByRole('group', { name: 'Subscribe someone else' });
    const list = await within(others).findByRole('list', { name: "Other users' subscriptions" });
    await waitFor(() => expect(list.textContent).toContain('bob@example.com · Email: job.failed'));
    // Another user's subscription does not show as the administrator's own email setting.
    expect(
      within(screen.getByRole('group', { name: 'Email' })).queryByRole('button', { name: 'Use the default' }),
    ).toBeNull();

    const user = userEvent.setup();
    const picker = within(others).getByRole('combobox', { name: 'User' });
    // The administrator is not offered to themselves.
    expect(within(picker).queryByRole('option', { name: 'me@example.com' })).toBeNull();
    await user.selectOptions(picker, 'u-c');
    await user.selectOptions(within(others).getByRole('combobox', { name: 'Channel' }), 'IN_APP');
    await user.click(within(others).getByRole('checkbox', { name: 'The workflow is terminated' }));
    await user.click(within(others).getByRole('button', { name: 'Subscribe' }));
    expect(calls.find((c) => c.method === 'POST')?.body).toEqual({
      channel: 'IN_APP',
      user_id: 'u-c',
      events: ['job.failed', 'workflow.terminated'],
    });
    await waitFor(() =>
      expect(list.textContent).toContain('carol@example.com · In-app: job.failed, workflow.terminated'),
    );

    await user.click(within(list).getByRole('button', { name: 'Remove bob@example.com email' }));
    await waitFor(() => expect(list.textContent).not.toContain('bob@example.com'));
    expect(calls.some((c) => c.method === 'DELETE' && c.url.pathname === `${PATH}/s-b`)).toBe(true);
  });
});
