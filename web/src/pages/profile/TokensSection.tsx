import { useState, type FormEvent } from 'react';
import {
  useCreateToken,
  useRevokeToken,
  useTokens,
  type CreatedPersonalAccessToken,
  type PersonalAccessToken,
} from '../../api/account.ts';
import { ApiError } from '../../api/client.ts';
import { Button } from '../../components/Button.tsx';
import { ConfirmDialog } from '../../components/Dialog.tsx';
import { ErrorMessage } from '../../components/ErrorMessage.tsx';
import { Select, TextField } from '../../components/Field.tsx';
import { Spinner } from '../../components/Spinner.tsx';
import { Table, type Column } from '../../components/Table.tsx';

const EXPIRY_OPTIONS = [
  { value: '7', label: '7 days' },
  { value: '30', label: '30 days' },
  { value: '90', label: '90 days' },
  { value: '365', label: '1 year' },
];

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
  const tokens = useTokens();
  const create = useCreateToken();
  const revoke = useRevokeToken();
  const [name, setName] = useState('');
  const [days, setDays] = useState('30');
  const [nameError, setNameError] = useState<string | null>(null);
  const [created, setCreated] = useState<CreatedPersonalAccessToken | null>(null);
  const [revoking, setRevoking] = useState<PersonalAccessToken | null>(null);

  const server = create.error instanceof ApiError ? create.error.fieldErrors : {};

  const submit = (event: FormEvent) => {
    event.preventDefault();
    const trimmed = name.trim();
    if (!trimmed) {
      setNameError('Give the token a name, e.g. the machine that will use it.');
      return;
    }
    setNameError(null);
    create.mutate(
      { name: trimmed, expires_in_days: Number(days) },
      {
        onSuccess: (token) => {
          setCreated(token);
          setName('');
        },
      },
    );
  };

  const columns: Column<PersonalAccessToken>[] = [
    { key: 'name', header: 'Name', cell: (t) => t.name },
    { key: 'created', header: 'Created', cell: (t) => formatDate(t.created_at) },
    { key: 'expires', header: 'Expires', cell: (t) => (t.expires_at ? formatDate(t.expires_at) : 'Never') },
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
            error={nameError ?? server.name ?? null}
          />
          <Select
            label="Expires after"
            value={days}
            onChange={(e) => setDays(e.target.value)}
            options={EXPIRY_OPTIONS}
            error={server.expires_in_days ?? null}
          />
          <div>
            <Button type="submit" variant="primary" pending={create.isPending}>
              Create token
            </Button>
          </div>
        </form>
      )}
      {create.error && !server.name && !server.expires_in_days ? (
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
      </ConfirmDialog>
    </section>
  );
}
