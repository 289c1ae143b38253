import { describe, expect, it } from 'vitest';
import { validatePayload, validateWorkflowCreate } from './workflow-input.ts';

const NOW = new Date('2021-01-01T00:00:00Z');

describe('validatePayload', () => {
  it('says what a record key must look like', () => {
    expect(validatePayload('CONTAINER', { image: 'alpine', env: { '1X': 'a' } })).toEqual({
      ok: false,
      issues: [{ path: 'payload.env.1X', message: 'name must be an environment variable name' }],
    });
  });

  it('fills defaults so users see the effective values', () => {
    const result = validatePayload('HEARTBEAT', { endpoint: 'https://example.com' });
    expect(result).toEqual({
      ok: true,
      value: {
        endpoint: 'https://example.com',
        method: 'GET',
        headers: {},
        body: null,
        expected_status_code: 200,
        timeout: '10s',
      },
    });
  });
});

describe('validateWorkflowCreate', () => {
  it('reports schedule rules together with other bad fields', () => {
    const result = validateWorkflowCreate(
      {
        name: '',
        kind: 'HEARTBEAT',
        payload: { endpoint: 'ftp://x' },
        schedule: { type: 'once', run_at: '2020-01-01T00:00:00Z' },
      },
      NOW,
    );
    expect(result.ok).toBe(false);
    if (!result.ok)
      expect(result.issues.map((i) => i.path).sort()).toEqual([
        'name',
        'payload.endpoint',
        'schedule.run_at',
      ]);
  });

  it('canonicalises the time zone of a cron schedule', () => {
    const result = validateWorkflowCreate(
      {
        name: 'n',
        kind: 'HEARTBEAT',
        payload: { endpoint: 'https://x' },
        schedule: { type: 'cron', cron: '0 9 * * *', timezone: 'europe/paris' },
      },
      NOW,
    );
    expect(result.ok && result.value.schedule).toEqual({
      type: 'cron',
      cron: '0 9 * * *',
      timezone: 'Europe/Paris',
    });
  });
});
