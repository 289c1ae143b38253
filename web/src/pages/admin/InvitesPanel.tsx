/** Invitations: create one (optionally for one email; its link is shown once), list, revoke. */
import { useState, type FormEvent } from 'react';
import {
  useCreateInvite,
  useInvites,
  useRevokeInvite,
  type CreatedInvite,
  type Invite,
  type InviteStatus,
} from '../../api/admin.ts';
import { ApiError } from '../../api/client.ts';
import { Badge, type BadgeTone } from '../../components/Badge.tsx';
import { Button } from '../../components/Button.tsx';
import { ConfirmDialog } from '../../components/Dialog.tsx';
import { ErrorMessage } from '../../components/ErrorMessage.tsx';
import { Select, TextField } from '../../components/Field.tsx';
import { Pagination, useCursorPager } from '../../components/Pagination.tsx';
import { Spinner } from '../../components/Spinner.tsx';
import { Table, type Column } from '../../components/Table.tsx';
import { formatDateTime } from '../../lib/format.ts';

const EXPIRY = [
  { value: '1', label: '1 day' },
  { value: '3', label: '3 days' },
  { value: '7', label: '7 days' },
  { value: '14', label: '14 days' },
  { value: '30', label: '30 days' },
];

const STATUS_TONE: Record<InviteStatus, BadgeTone> = {
  pending: 'info',
  used: 'success',
  expired: 'neutral',
  revoked: 'warning',
};

/** The absolute registration link of an invitation (`link` is a path on this dashboard). */
export function inviteUrl(link: string, origin: string = window.location.origin): string {
  return new URL(link, origin).toString();
}

function CreatedInviteBox({ invite, onDismiss }: { invite: CreatedInvite; onDismiss: () => void }) {
  const url = inviteUrl(invite.link);
  const [copied, setCopied] = useState<'idle' | 'copied' | 'failed'>('idle');
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(url);
      setCopied('copied');
    } catch {
      setCopied('failed');
    }
  };
  return (
    <div className="admin-created" role="region" aria-labelledby="invite-created-heading">
      <h3 id="invite-created-heading">Invitation created</h3>
      <p>
        Send this link {invite.email ? `to ${invite.email}` : 'to the person you invite'}; it works once,
        until {formatDateTime(invite.expires_at, { seconds: false })}. It will not be shown again.
      </p>
      <TextField label="Invitation link" readOnly value={url} onFocus={(e) => e.target.select()} />
      <Button onClick={() => void copy()}>Copy link</Button> <Button onClick={onDismiss}>Done</Button>
      <p role="status" className="muted">
        {copied === 'copied'
          ? 'Copied to the clipboard.'
          : copied === 'failed'
            ? 'Copy failed: select it and copy.'
            : ''}
      </p>
    </div>
  );
}

export function InvitesPanel() {
  const pager = useCursorPager();
  const invites = useInvites(pager.cursor);
  const create = useCreateInvite();
  const revoke = useRevokeInvite();
  const [email, setEmail] = useState('');
  const [days, setDays] = useState('7');
  const [created, setCreated] = useState<CreatedInvite | null>(null);
  const [revoking, setRevoking] = useState<Invite | null>(null);
  const server = create.error instanceof ApiError ? create.error.fieldErrors : {};

  const submit = (e: FormEvent) => {
    e.preventDefault();
    const trimmed = email.trim();
    create.mutate(
      { ...(trimmed ? { email: trimmed } : {}), expires_in_days: Number(days) },
      {
        onSuccess: (invite) => {
          setCreated(invite);
          setEmail('');
          pager.reset();
        },
      },
    );
  };

  const columns: Column<Invite>[] = [
    { key: 'email', header: 'For', cell: (i) => i.email ?? 'Anyone with the link' },
    { key: 'status', header: 'Status', cell: (i) => <Badge tone={STATUS_TONE[i.status]}>{i.status}</Badge> },
    { key: 'created', header: 'Created', cell: (i) => formatDateTime(i.created_at, { seconds: false }) },
    { key: 'expires', header: 'Expires', cell: (i) => formatDateTime(i.expires_at, { seconds: false }) },
    {
      key: 'used',
      header: 'Used',
      cell: (i) => (i.used_at ? formatDateTime(i.used_at, { seconds: false }) : '—'),
    },
    {
      key: 'actions',
      header: <span className="visually-hidden">Actions</span>,
      cell: (i) =>
        i.status === 'pending' ? (
          <Button
            variant="danger"
            onClick={() => setRevoking(i)}
            aria-label={`Revoke the invitation for ${i.email ?? 'anyone'} created ${formatDateTime(i.created_at)}`}
          >
            Revoke
          </Button>
        ) : null,
    },
  ];

  return (
    <section aria-labelledby="invites-heading">
      <h2 id="invites-heading">Invitations</h2>
      <p className="muted">
        An invitation lets one person create an account while sign-up is by invitation (or closed to everyone
        else).
      </p>
      {created ? <CreatedInviteBox invite={created} onDismiss={() => setCreated(null)} /> : null}
      <form onSubmit={submit} noValidate className="admin-form">
        <TextField
          label="Email (optional)"
          type="email"
          value={email}
          onChange={(e) => setEmail(e.target.value)}
          description="Only this address may use it; empty: whoever holds the link."
          error={server.email ?? null}
        />
        <Select
          label="Valid for"
          value={days}
          onChange={(e) => setDays(e.target.value)}
          options={EXPIRY}
          error={server.expires_in_days ?? null}
        />
        <Button type="submit" variant="primary" pending={create.isPending}>
          Create invitation
        </Button>
      </form>
      {create.error && !server.email && !server.expires_in_days ? (
        <ErrorMessage error={create.error} title="Could not create the invitation" />
      ) : null}
      {invites.isPending ? (
        <Spinner />
      ) : invites.isError ? (
        <ErrorMessage error={invites.error} title="Could not load the invitations" />
      ) : invites.data.invites.length === 0 ? (
        <p className="muted">No invitations yet.</p>
      ) : (
        <>
          <Table caption="Invitations" columns={columns} rows={invites.data.invites} rowKey={(i) => i.id} />
          <Pagination pager={pager} nextCursor={invites.data.cursor} label="Invitation pages" />
        </>
      )}
      <ConfirmDialog
        isOpen={revoking !== null}
        onOpenChange={(open) => {
          if (!open) {
            setRevoking(null);
            revoke.reset();
          }
        }}
        title="Revoke this invitation?"
        confirmLabel="Revoke invitation"
        pending={revoke.isPending}
        error={revoke.error}
        onConfirm={() => {
          if (revoking) revoke.mutate(revoking.id, { onSuccess: () => setRevoking(null) });
        }}
      >
        <p>Its link stops working at once{revoking?.email ? ` (for ${revoking.email})` : ''}.</p>
      </ConfirmDialog>
    </section>
  );
}
