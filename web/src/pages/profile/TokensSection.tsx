import { useState, type FormEvent } from 'react';
import {
  DEFAULT_TOKEN_SCOPES,
  TOKEN_SCOPES,
  useCreateToken,
  useRevokeToken,
  useTokens,
  type CreatedPersonalAccessToken,
  type PersonalAccessToken,
  type TokenCreate,
  type TokenScope,
} from '../../api/account.ts';
import { useMe } from '../../api/auth.ts';
import { ApiError } from '../../api/client.ts';
import { Button } from '../../components/Button.tsx';
import { ConfirmDialog } from '../../components/Dialog.tsx';
import { ErrorMessage } from '../../components/ErrorMessage.tsx';
import { Checkbox, Select, TextField } from '../../components/Field.tsx';
import { Spinner } from '../../components/Spinner.tsx';
import { Table, type Column } from '../../components/Table.tsx';
import { formatDateTime } from '../../lib/format.ts';

const ON_DATE = 'date';
const EXPIRY_OPTIONS = [
  { value: '7', label: '7 days' },
  { value: '30', label: '30 days' },
  { value: '90', label: '90 days' },
  { value: '365', label: '1 year' },
  { value: ON_DATE, label: 'On a date…' },
];

/** What each scope allows (docs/api.md "Token scopes"). */
export const SCOPE_HELP: Record<TokenScope, string> = {
  read: 'Read: every GET route (lists, details, live streams).',
  write: 'Write: create, change, run and delete (every other route except tokens and admin).',
  tokens: 'Tokens: create, list and revoke access tokens (tokens it creates are revoked with it).',
  admin: 'Admin: the administration routes (administrators only).',
};

/** The end of `day` (YYYY-MM-DD) in the browser's zone, as RFC 3339 UTC; null if not a date. */
export function endOfDay(day: string): string | null {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(day)) return null;
  const date = new Date(`${day}T23:59:59`);
  return Number.isNaN(date.getTime()) ? null : date.toISOString();
}

function formatDate(iso: string | null): string {
  if (!iso) return '—';
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? iso : new Intl.DateTimeFormat(undefined, { dateStyle: 'medium' }).format(ms);
}

/** The new token, shown once: it is never sent again, so the user copies it now. */
function CreatedToken({
  created,
  onDismiss,
}: {
  created: CreatedPersonalAccessToken;
  onDismiss: () => void;
}) {
  const [copied, setCopied] = useState<'idle' | 'copied' | 'failed'>('idle');
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(created.token);
      setCopied('copied');
    } catch {
      setCopied('failed');
    }
  };
  return (
    <div className="token-created" role="region" aria-labelledby="token-created-heading">
      <h3 id="token-created-heading">Token “{created.name}” created</h3>
      <p>Copy it now: it will not be shown again.</p>
      <div className="token-value-row">
        <TextField label="New token" readOnly value={created.token} onFocus={(e) => e.target.select()} />
        <Button onClick={() => void copy()}>Copy token</Button>
      </div>
      <p role="status" className="muted">
        {copied === 'copied'
          ? 'Copied to the clipboard.'
          : copied === 'failed'
            ? 'Copy failed: select it and copy.'
            : ''}
      </p>
      <Button onClick={onDismiss}>Done, I have stored it</Button>
    </div>
  );
}

/** Personal access tokens for the CLI and scripts: create (shown once), list, revoke with confirmation. */
export function TokensSection() {
  const me = useMe();
  const tokens = useTokens();
  const create = useCreateToken();
  const revoke = useRevokeToken();
  const [name, setName] = useState('');
  const [scopes, setScopes] = useState<TokenScope[]>([...DEFAULT_TOKEN_SCOPES]);
  const [days, setDays] = useState('30');
  const [day, setDay] = useState('');
  const [local, setLocal] = useState<{ name?: string; scopes?: string; expires_at?: string }>({});
  const [created, setCreated] = useState<CreatedPersonalAccessToken | null>(null);
  const [revoking, setRevoking] = useState<PersonalAccessToken | null>(null);

  const server = create.error instanceof ApiError ? create.error.fieldErrors : {};
  // A session can grant what the role allows; admin only to administrators.
  const grantable = TOKEN_SCOPES.filter((s) => s !== 'admin' || me.data?.role === 'admin');
  const list = tokens.data ?? [];
  const byId = new Map(list.map((t) => [t.id, t]));
  const childrenOf = (id: string) => list.filter((t) => t.parent_id === id);

  const toggle = (scope: TokenScope, on: boolean) =>
    setScopes((current) => TOKEN_SCOPES.filter((s) => (s === scope ? on : current.includes(s))));

  const submit = (event: FormEvent) => {
    event.preventDefault();
    const trimmed = name.trim();
    const issues: typeof local = {};
    if (!trimmed) issues.name = 'Give the token a name, e.g. the machine that will use it.';
    if (scopes.length === 0) issues.scopes = 'Choose at least one scope.';
    const body: TokenCreate = { name: trimmed, scopes };
    if (days === ON_DATE) {
      const at = endOfDay(day);
      if (!at) issues.expires_at = 'Choose the day it expires (at the end of that day).';
      else if (Date.parse(at) <= Date.now()) issues.expires_at = 'Choose a day in the future.';
      else body.expires_at = at;
    } else body.expires_in_days = Number(days);
    setLocal(issues);
    if (Object.keys(issues).length > 0) return;
    create.mutate(body, {
      onSuccess: (token) => {
        setCreated(token);
        setName('');
      },
    });
  };

  const columns: Column<PersonalAccessToken>[] = [
    { key: 'name', header: 'Name', cell: (t) => t.name },
    { key: 'scopes', header: 'Scopes', cell: (t) => t.scopes.join(', ') },
    { key: 'created', header: 'Created', cell: (t) => formatDate(t.created_at) },
    {
      key: 'expires',
      header: 'Expires',
      cell: (t) =>
        t.expires_at ? (
          <time dateTime={t.expires_at}>{formatDateTime(t.expires_at, { seconds: false })}</time>
        ) : (
          'Never'
        ),
    },
    {
      key: 'parent',
      header: 'Created by',
      cell: (t) =>
        t.parent_id === null ? 'You (signed in)' : `Token ${byId.get(t.parent_id)?.name ?? t.parent_id}`,
    },
    {
      key: 'used',
      header: 'Last used',
      cell: (t) => (t.last_used_at ? formatDate(t.last_used_at) : 'Never'),
    },
    {
      key: 'actions',
      header: <span className="visually-hidden">Actions</span>,
      cell: (t) => (
        <Button variant="danger" onClick={() => setRevoking(t)} aria-label={`Revoke token ${t.name}`}>
          Revoke
        </Button>
      ),
    },
  ];

  return (
    <section aria-labelledby="tokens-heading" className="profile-section">
      <h2 id="tokens-heading">Personal access tokens</h2>
      <p className="muted">
        For the CLI and scripts: send it as <code>Authorization: Bearer &lt;token&gt;</code>.
      </p>
      {created ? (
        <CreatedToken created={created} onDismiss={() => setCreated(null)} />
      ) : (
        <form onSubmit={submit} noValidate className="profile-form row">
          <TextField
            label="Token name"
            value={name}
            maxLength={100}
            onChange={(e) => setName(e.target.value)}
            error={local.name ?? server.name ?? null}
          />
          <fieldset
            className="token-scopes"
            aria-describedby={local.scopes ? 'token-scopes-error' : undefined}
          >
            <legend>Scopes</legend>
            {grantable.map((scope) => (
              <Checkbox
                key={scope}
                label={scope}
                description={SCOPE_HELP[scope]}
                checked={scopes.includes(scope)}
                onChange={(e) => toggle(scope, e.target.checked)}
              />
            ))}
            {(local.scopes ?? server.scopes) ? (
              <p id="token-scopes-error" className="field-error">
                {local.scopes ?? server.scopes?.join('; ')}
              </p>
            ) : null}
          </fieldset>
          <Select
            label="Expires after"
            value={days}
            onChange={(e) => setDays(e.target.value)}
            options={EXPIRY_OPTIONS}
            error={server.expires_in_days ?? null}
          />
          {days === ON_DATE ? (
            <TextField
              label="Expires on"
              type="date"
              value={day}
              onChange={(e) => setDay(e.target.value)}
              description="At the end of that day, in your time zone; at most a year ahead."
              error={local.expires_at ?? server.expires_at ?? null}
            />
          ) : null}
          <div>
            <Button type="submit" variant="primary" pending={create.isPending}>
              Create token
            </Button>
          </div>
        </form>
      )}
      {create.error && !server.name && !server.expires_in_days && !server.expires_at && !server.scopes ? (
        <ErrorMessage error={create.error} title="Could not create the token" />
      ) : null}
      {tokens.isPending ? (
        <Spinner />
      ) : tokens.isError ? (
        <ErrorMessage error={tokens.error} title="Could not load the tokens" />
      ) : tokens.data.length === 0 ? (
        <p className="muted">No active tokens.</p>
      ) : (
        <Table
          caption="Active personal access tokens"
          columns={columns}
          rows={tokens.data}
          rowKey={(t) => t.id}
        />
      )}
      <ConfirmDialog
        isOpen={revoking !== null}
        onOpenChange={(open) => {
          if (!open) {
            setRevoking(null);
            revoke.reset();
          }
        }}
        title="Revoke this token?"
        confirmLabel="Revoke token"
        pending={revoke.isPending}
        error={revoke.error}
        onConfirm={() => {
          if (revoking) revoke.mutate(revoking.id, { onSuccess: () => setRevoking(null) });
        }}
      >
        <p>Anything using “{revoking?.name}” stops working at once. This cannot be undone.</p>
        {revoking && childrenOf(revoking.id).length > 0 ? (
          <p>
            The tokens it created are revoked with it:{' '}
            {childrenOf(revoking.id)
              .map((t) => `“${t.name}”`)
              .join(', ')}
            .
          </p>
        ) : null}
      </ConfirmDialog>
    </section>
  );
}
