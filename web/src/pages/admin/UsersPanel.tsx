/**
 * Accounts: create one (whatever the sign-up mode), change a role. The API refuses demoting the
 * last administrator (412) and says so: its message is shown as is.
 */
import { useState, type FormEvent } from 'react';
import { useCreateUser, useSetRole, useUsers } from '../../api/admin.ts';
import { ApiError } from '../../api/client.ts';
import type { User, UserRole } from '../../api/types.ts';
import { Badge } from '../../components/Badge.tsx';
import { Button } from '../../components/Button.tsx';
import { ConfirmDialog } from '../../components/Dialog.tsx';
import { ErrorMessage } from '../../components/ErrorMessage.tsx';
import { Select, TextField } from '../../components/Field.tsx';
import { Pagination, useCursorPager } from '../../components/Pagination.tsx';
import { Spinner } from '../../components/Spinner.tsx';
import { Table, type Column } from '../../components/Table.tsx';
import { formatDateTime } from '../../lib/format.ts';
import { fieldSentence, PASSWORD_RULE, passwordLengthIssue } from '../../lib/password-rule.ts';

const ROLES = [
  { value: 'user', label: 'User' },
  { value: 'admin', label: 'Administrator' },
];

function CreateUserForm() {
  const create = useCreateUser();
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [role, setRole] = useState<UserRole>('user');
  const [local, setLocal] = useState<{ email?: string; password?: string }>({});
  const [done, setDone] = useState<string | null>(null);
  const server = create.error instanceof ApiError ? create.error.fieldErrors : {};

  const submit = (e: FormEvent) => {
    e.preventDefault();
    setDone(null);
    const issues: typeof local = {};
    if (!email.trim()) issues.email = 'Enter the email address.';
    const length = passwordLengthIssue(password);
    if (length) issues.password = length;
    setLocal(issues);
    if (Object.keys(issues).length > 0) return;
    create.mutate(
      { email: email.trim(), password, role },
      {
        onSuccess: (user) => {
          setDone(`Account ${user.email} created.`);
          setEmail('');
          setPassword('');
          setRole('user');
        },
      },
    );
  };

  return (
    <form onSubmit={submit} noValidate className="admin-form" aria-labelledby="create-user-heading">
      <h3 id="create-user-heading" className="visually-hidden">
        Create an account
      </h3>
      <TextField
        label="New user’s email"
        type="email"
        autoComplete="off"
        value={email}
        onChange={(e) => setEmail(e.target.value)}
        error={local.email ?? server.email ?? null}
      />
      <TextField
        label="Initial password"
        type="password"
        autoComplete="new-password"
        value={password}
        onChange={(e) => setPassword(e.target.value)}
        description={PASSWORD_RULE}
        error={local.password ?? server.password?.map(fieldSentence) ?? null}
      />
      <Select
        label="Role"
        value={role}
        onChange={(e) => setRole(e.target.value as UserRole)}
        options={ROLES}
      />
      <Button type="submit" variant="primary" pending={create.isPending}>
        Create account
      </Button>
      <p role="status" className="muted">
        {done ?? ''}
      </p>
      {create.error && !server.email && !server.password ? (
        <ErrorMessage error={create.error} title="Could not create the account" />
      ) : null}
    </form>
  );
}

export function UsersPanel({ me }: { me: User }) {
  const pager = useCursorPager();
  const users = useUsers(pager.cursor);
  const setRole = useSetRole();
  const [target, setTarget] = useState<User | null>(null);
  // Demotions are confirmed first (the user's tokens lose the admin scope at once).
  const [demoting, setDemoting] = useState<User | null>(null);

  const change = (user: User) => {
    setTarget(user);
    if (user.role === 'admin') {
      setRole.reset();
      setDemoting(user);
      return;
    }
    setRole.mutate({ id: user.id, role: 'admin' });
  };

  const columns: Column<User>[] = [
    { key: 'email', header: 'Email', cell: (u) => (u.id === me.id ? `${u.email} (you)` : u.email) },
    {
      key: 'role',
      header: 'Role',
      cell: (u) => (u.role === 'admin' ? <Badge tone="info">Administrator</Badge> : 'User'),
    },
    { key: 'created', header: 'Since', cell: (u) => formatDateTime(u.created_at, { seconds: false }) },
    {
      key: 'actions',
      header: <span className="visually-hidden">Actions</span>,
      cell: (u) => (
        <Button
          onClick={() => change(u)}
          pending={setRole.isPending && target?.id === u.id}
          aria-label={u.role === 'admin' ? `Make ${u.email} a user` : `Make ${u.email} an administrator`}
        >
          {u.role === 'admin' ? 'Make user' : 'Make administrator'}
        </Button>
      ),
    },
  ];

  return (
    <section aria-labelledby="users-heading">
      <h2 id="users-heading">Users</h2>
      <CreateUserForm />
      {setRole.error && demoting === null ? (
        <ErrorMessage
          error={setRole.error}
          title={`Could not change the role of ${target?.email ?? 'the user'}`}
        />
      ) : null}
      {users.isPending ? (
        <Spinner />
      ) : users.isError ? (
        <ErrorMessage error={users.error} title="Could not load the users" />
      ) : (
        <>
          <Table caption="Users" columns={columns} rows={users.data.users} rowKey={(u) => u.id} />
          <Pagination pager={pager} nextCursor={users.data.cursor} label="User pages" />
        </>
      )}
      <ConfirmDialog
        isOpen={demoting !== null}
        onOpenChange={(open) => {
          if (!open) {
            setDemoting(null);
            setRole.reset();
          }
        }}
        title="Remove administrator rights?"
        confirmLabel="Make user"
        pending={setRole.isPending}
        error={setRole.error}
        onConfirm={() => {
          if (demoting) {
            setRole.mutate({ id: demoting.id, role: 'user' }, { onSuccess: () => setDemoting(null) });
          }
        }}
      >
        <p>
          {demoting?.id === me.id ? 'You' : demoting?.email} will no longer administer this installation;
          tokens with the admin scope lose it at once.
        </p>
      </ConfirmDialog>
    </section>
  );
}
