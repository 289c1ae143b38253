/**
 * The audit log, newest first: filters by action, user (as actor or subject) and a time range
 * (From/Until in the browser's zone, sent as RFC 3339 UTC), cursor pages, times with their zone.
 */
import { useState, type FormEvent } from 'react';
import { AUDIT_ACTIONS, useAudit, useUsers, type AuditEvent, type AuditFilter } from '../../api/admin.ts';
import { ApiError } from '../../api/client.ts';
import { Button } from '../../components/Button.tsx';
import { ErrorMessage } from '../../components/ErrorMessage.tsx';
import { Select, TextField } from '../../components/Field.tsx';
import { Pagination, useCursorPager } from '../../components/Pagination.tsx';
import { Spinner } from '../../components/Spinner.tsx';
import { Table, type Column } from '../../components/Table.tsx';
import { browserZone, formatDateTime } from '../../lib/format.ts';

/** A `datetime-local` value (browser's zone) as RFC 3339 UTC; undefined when empty or invalid. */
export function localToUtc(value: string): string | undefined {
  if (!value) return undefined;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}

/** The details of an entry in one line: `from: user, to: admin`. */
export function describeDetails(event: AuditEvent): string {
  const parts = Object.entries(event.details).map(
    ([key, value]) => `${key}: ${typeof value === 'string' ? value : JSON.stringify(value)}`,
  );
  if (event.target_type) parts.unshift(`${event.target_type} ${event.target_id ?? ''}`.trim());
  return parts.join(', ');
}

interface Draft {
  action: string;
  user: string;
  since: string;
  until: string;
}

const EMPTY: Draft = { action: '', user: '', since: '', until: '' };

export function AuditPanel() {
  const pager = useCursorPager();
  const [draft, setDraft] = useState<Draft>(EMPTY);
  const [filter, setFilter] = useState<AuditFilter>({});
  const audit = useAudit(filter, pager.cursor);
  const users = useUsers();
  const emails = new Map((users.data?.users ?? []).map((u) => [u.id, u.email]));
  const who = (id: string | null) => (id === null ? '—' : (emails.get(id) ?? id));
  const server = audit.error instanceof ApiError ? audit.error.fieldErrors : {};
  const zone = browserZone();

  const apply = (e: FormEvent) => {
    e.preventDefault();
    setFilter({
      action: draft.action || undefined,
      user: draft.user || undefined,
      since: localToUtc(draft.since),
      until: localToUtc(draft.until),
    });
    pager.reset();
  };
  const clear = () => {
    setDraft(EMPTY);
    setFilter({});
    pager.reset();
  };
  const set = (key: keyof Draft) => (e: { target: { value: string } }) =>
    setDraft((d) => ({ ...d, [key]: e.target.value }));

  const columns: Column<AuditEvent>[] = [
    {
      key: 'at',
      header: 'Time',
      cell: (e) => <time dateTime={e.at}>{formatDateTime(e.at)}</time>,
    },
    { key: 'action', header: 'Action', cell: (e) => <code>{e.action}</code> },
    { key: 'actor', header: 'By', cell: (e) => who(e.actor_id) },
    { key: 'subject', header: 'About', cell: (e) => who(e.subject_id) },
    { key: 'address', header: 'Address', cell: (e) => e.address ?? '—' },
    {
      key: 'details',
      header: 'Details',
      cell: (e) => <span className="audit-details">{describeDetails(e) || '—'}</span>,
    },
  ];

  return (
    <section aria-labelledby="audit-heading">
      <h2 id="audit-heading">Audit log</h2>
      <form onSubmit={apply} noValidate className="admin-form" aria-label="Audit filters">
        <Select
          label="Action"
          value={draft.action}
          onChange={set('action')}
          options={[
            { value: '', label: 'Any action' },
            ...AUDIT_ACTIONS.map((a) => ({ value: a, label: a })),
          ]}
          error={server.action ?? null}
        />
        <Select
          label="User"
          value={draft.user}
          onChange={set('user')}
          options={[
            { value: '', label: 'Anyone' },
            ...(users.data?.users ?? []).map((u) => ({ value: u.id, label: u.email })),
          ]}
          description="As the actor or the account concerned."
          error={server.user ?? null}
        />
        <TextField
          label="From"
          type="datetime-local"
          value={draft.since}
          onChange={set('since')}
          description={`Inclusive, ${zone}.`}
          error={server.since ?? null}
        />
        <TextField
          label="Until"
          type="datetime-local"
          value={draft.until}
          onChange={set('until')}
          description={`Exclusive, ${zone}.`}
          error={server.until ?? null}
        />
        <Button type="submit" variant="primary">
          Apply filters
        </Button>
        <Button onClick={clear}>Clear</Button>
      </form>
      {audit.isPending ? (
        <Spinner />
      ) : audit.isError ? (
        Object.keys(server).length > 0 ? null : (
          <ErrorMessage error={audit.error} title="Could not load the audit log" />
        )
      ) : audit.data.events.length === 0 ? (
        <p className="muted">
          No entries{Object.values(filter).some(Boolean) ? ' match these filters' : ''}.
        </p>
      ) : (
        <>
          <Table caption="Audit log" columns={columns} rows={audit.data.events} rowKey={(e) => e.id} />
          <Pagination pager={pager} nextCursor={audit.data.cursor} label="Audit log pages" />
        </>
      )}
    </section>
  );
}
