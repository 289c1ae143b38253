-- Access control (issue 16): token scopes and the tokens a token minted, sign-up mode set by an
-- administrator, invitations, and the audit log of security-relevant actions.

-- ─── token scopes ───────────────────────────────────────────────────────────────────────
-- A personal access token carries its scopes; a session has none stored (it has every scope its
-- user's role allows, decided when it is used). parent_id is the personal access token that minted
-- this one: revoking a token revokes its descendants (src/services/users/service.ts). Tokens made
-- before this migration keep what they could do: read and write.
ALTER TABLE auth_tokens
  ADD COLUMN scopes    text[],
  ADD COLUMN parent_id uuid REFERENCES auth_tokens (id) ON DELETE CASCADE;
UPDATE auth_tokens SET scopes = ARRAY['read', 'write'] WHERE kind = 'pat';
ALTER TABLE auth_tokens
  ADD CONSTRAINT auth_tokens_scopes_check CHECK (
    (kind = 'session' AND scopes IS NULL AND parent_id IS NULL)
    OR (kind = 'pat' AND scopes IS NOT NULL AND cardinality(scopes) >= 1
        AND scopes <@ ARRAY['read', 'write', 'tokens', 'admin']::text[])
  );
-- The revocation cascade walks children by parent.
CREATE INDEX auth_tokens_parent_idx ON auth_tokens (parent_id) WHERE parent_id IS NOT NULL;

-- ─── installation settings an administrator changes over the API ──────────────────────────
-- One row per setting; a missing row means "as configured" (CHRONOVERSE_SIGNUP).
CREATE TABLE settings (
  name       text PRIMARY KEY CHECK (name IN ('signup_mode')),
  value      text NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now(),
  updated_by uuid REFERENCES users (id) ON DELETE SET NULL,
  CHECK (name <> 'signup_mode' OR value IN ('open', 'invite', 'closed'))
);

-- ─── invitations ────────────────────────────────────────────────────────────────────────
-- One-time: the secret (cvi_…) is shown once, only its SHA-256 is kept; used_at is set by the
-- registration that consumes it, with a guarded UPDATE (two registrations cannot share one).
CREATE TABLE invites (
  id          uuid PRIMARY KEY,
  token_hash  text NOT NULL UNIQUE,
  -- When set, only this address may register with the invitation.
  email       text CHECK (email IS NULL OR (email = lower(btrim(email)) AND length(email) BETWEEN 3 AND 254)),
  created_by  uuid REFERENCES users (id) ON DELETE SET NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  expires_at  timestamptz NOT NULL,
  used_at     timestamptz,
  used_by     uuid REFERENCES users (id) ON DELETE SET NULL,
  revoked_at  timestamptz,
  CHECK (used_by IS NULL OR used_at IS NOT NULL),
  CHECK (used_at IS NULL OR revoked_at IS NULL)
);
CREATE INDEX invites_pending_idx ON invites (id DESC) WHERE used_at IS NULL AND revoked_at IS NULL;

-- ─── audit log ──────────────────────────────────────────────────────────────────────────
-- Append-only. No foreign keys: an entry outlives what it mentions. actor_id: who acted (null for
-- a failed sign-in, or the system); subject_id: the account the action is about (the account
-- signed in to, the owner of a token or workflow, the user whose role changed). The id is a
-- UUIDv7, so it orders entries by time for the cursor and for the retention purge.
CREATE TABLE audit_events (
  id          uuid PRIMARY KEY,
  at          timestamptz NOT NULL,
  action      text NOT NULL CHECK (length(action) BETWEEN 1 AND 64),
  actor_id    uuid,
  subject_id  uuid,
  address     text,
  target_type text,
  target_id   text,
  details     jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_events_at_idx ON audit_events (at);
CREATE INDEX audit_events_action_idx ON audit_events (action, id DESC);
CREATE INDEX audit_events_actor_idx ON audit_events (actor_id, id DESC) WHERE actor_id IS NOT NULL;
CREATE INDEX audit_events_subject_idx ON audit_events (subject_id, id DESC) WHERE subject_id IS NOT NULL;
