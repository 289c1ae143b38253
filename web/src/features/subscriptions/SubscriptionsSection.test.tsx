/** "Notify me" on a workflow page against the subscriptions API (docs/api.md "Subscriptions"). */
import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import { json, renderAt, stubFetch } from '../../test/render.tsx';
import { SubscriptionsSection } from './SubscriptionsSection.tsx';

const PATH = '/api/v1/workflows/w1/subscriptions';

function gateway(emailEnabled: boolean) {
  let own: { id: string; events: string[] } | null = null;
  const answer = () =>
    json(200, {
      subscriptions: own
        ? [
            {
              id: own.id,
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
});
