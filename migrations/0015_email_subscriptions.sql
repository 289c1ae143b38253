-- Email notifications, per-workflow subscriptions and password reset by email (issue 14).
-- src/domain/subscriptions.ts says which subscription decides; src/workers/email has the outbox
-- design note (claim with a lease, one attempt row per try, guarded by the attempt number).

-- ─── subscriptions ─────────────────────────────────────────────────────────────────────────
-- What a user is told, per channel, about one workflow (workflow_id) or about all of theirs
-- (workflow_id NULL, now and later). A workflow's own subscription wins over the all-workflows
-- one; without either, IN_APP follows users.notification_preference and EMAIL sends nothing.
-- An empty `events` mutes the channel for that scope.
CREATE TABLE notification_subscriptions (
  id          uuid PRIMARY KEY,
  user_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  workflow_id uuid REFERENCES workflows (id) ON DELETE CASCADE,
  channel     text NOT NULL CHECK (channel IN ('IN_APP', 'EMAIL')),
  events      text[] NOT NULL CHECK (cardinality(events) <= 16),
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now()
);
-- One subscription per (user, channel, scope): POST again replaces its events (ON CONFLICT on
-- this expression). Also the consumers' lookup: a batch's users, then the channel.
CREATE UNIQUE INDEX notification_subscriptions_scope_idx ON notification_subscriptions
  (user_id, channel, COALESCE(workflow_id, '00000000-0000-0000-0000-000000000000'::uuid));
-- ON DELETE CASCADE from workflows, and GET /workflows/{id}/subscriptions.
CREATE INDEX notification_subscriptions_workflow_idx ON notification_subscriptions (workflow_id)
  WHERE workflow_id IS NOT NULL;

-- ─── email outbox ──────────────────────────────────────────────────────────────────────────
-- One email per (user, fact): the consumer inserts with ON CONFLICT (user_id, dedupe_key) DO
-- NOTHING, so a redelivered fact queues nothing. The message is rendered when queued and kept
-- byte for byte: a retry sends the same text, and the history shows what was sent.
CREATE TABLE email_deliveries (
  id              uuid PRIMARY KEY,
  user_id         uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  -- No foreign key: the history outlives a deleted workflow.
  workflow_id     uuid,
  event_type      text NOT NULL,
  dedupe_key      text NOT NULL,
  to_address      text NOT NULL CHECK (length(to_address) BETWEEN 3 AND 320),
  subject         text NOT NULL,
  text_body       text NOT NULL,
  html_body       text NOT NULL,
  -- Holds a secret (a password reset link): its text is never shown in the history and is
  -- blanked once the email is SENT or FAILED.
  sensitive       boolean NOT NULL DEFAULT false,
  status          text NOT NULL DEFAULT 'PENDING' CHECK (status IN ('PENDING', 'SENT', 'FAILED')),
  attempts        integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  -- When a sender may (re)claim it: due time while waiting, lease end while being sent.
  next_attempt_at timestamptz,
  -- The SMTP server's last answer (or the connection error).
  last_error      text,
  created_at      timestamptz NOT NULL,
  completed_at    timestamptz,
  UNIQUE (user_id, dedupe_key),
  CHECK ((status = 'PENDING') = (completed_at IS NULL)),
  CHECK ((status = 'PENDING') = (next_attempt_at IS NOT NULL))
);
-- emailDeliveriesClaim: due PENDING rows in due order.
CREATE INDEX email_deliveries_due_idx ON email_deliveries (next_attempt_at) WHERE status = 'PENDING';
-- GET /notifications/emails: a user's history, newest first.
CREATE INDEX email_deliveries_user_idx ON email_deliveries (user_id, id DESC);

CREATE TABLE email_delivery_attempts (
  delivery_id   uuid NOT NULL REFERENCES email_deliveries (id) ON DELETE CASCADE,
  attempt       integer NOT NULL CHECK (attempt >= 1),
  started_at    timestamptz NOT NULL,
  -- The SMTP reply code (250, 451, 550…); null when no SMTP answer came (connection refused, timeout).
  smtp_code     integer,
  -- The server's answer, or the error when none came.
  response      text,
  duration_ms   integer NOT NULL CHECK (duration_ms >= 0),
  PRIMARY KEY (delivery_id, attempt)
);

-- ─── password reset ────────────────────────────────────────────────────────────────────────
-- One row per emailed link: only the SHA-256 of the token is kept; used once (guarded UPDATE on
-- used_at IS NULL), valid until expires_at (30 minutes). A confirmed reset marks every other
-- open link of the user used too.
CREATE TABLE password_reset_tokens (
  id         uuid PRIMARY KEY,
  user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  token_hash text NOT NULL UNIQUE,
  created_at timestamptz NOT NULL,
  expires_at timestamptz NOT NULL,
  used_at    timestamptz,
  -- The client address that asked (the audit log has the confirmation's).
  address    text
);
CREATE INDEX password_reset_tokens_user_idx ON password_reset_tokens (user_id) WHERE used_at IS NULL;
