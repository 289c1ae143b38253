-- Webhooks (issue 6): per-user endpoints, one delivery per (webhook, event) and every attempt.

CREATE TABLE webhooks (
  id          uuid PRIMARY KEY,
  user_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  url         text NOT NULL CHECK (length(url) BETWEEN 1 AND 2048),
  -- Kept in clear: every delivery is signed with it. Shown once, at creation or rotation.
  secret      text NOT NULL CHECK (length(secret) BETWEEN 16 AND 256),
  event_types text[] NOT NULL CHECK (cardinality(event_types) BETWEEN 1 AND 16),
  description text CHECK (length(description) <= 500),
  enabled     boolean NOT NULL DEFAULT true,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhooks_user_idx ON webhooks (user_id, id DESC);
-- The consumer looks up the enabled endpoints of the users of a batch of facts.
CREATE INDEX webhooks_enabled_user_idx ON webhooks (user_id) WHERE enabled;

CREATE TABLE webhook_deliveries (
  id               uuid PRIMARY KEY,
  webhook_id       uuid NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
  user_id          uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  event_type       text NOT NULL,
  -- The fact's natural identity (job id, workflow id + generation, …): a redelivered fact adds nothing.
  dedupe_key       text NOT NULL,
  -- Exactly the bytes sent (and signed), so a redelivery sends the same document.
  body             text NOT NULL,
  status           text NOT NULL DEFAULT 'PENDING' CHECK (status IN ('PENDING', 'SUCCEEDED', 'FAILED')),
  attempts         integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  -- When a sender may (re)claim it: due time while waiting, lease end while being sent.
  next_attempt_at  timestamptz,
  last_status_code integer,
  last_error       text,
  created_at       timestamptz NOT NULL,
  completed_at     timestamptz,
  UNIQUE (webhook_id, dedupe_key),
  CHECK ((status = 'PENDING') = (completed_at IS NULL)),
  CHECK ((status = 'PENDING') = (next_attempt_at IS NOT NULL))
);
-- webhookDeliveriesClaim: due PENDING rows in due order.
CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (next_attempt_at) WHERE status = 'PENDING';
CREATE INDEX webhook_deliveries_webhook_idx ON webhook_deliveries (webhook_id, id DESC);

CREATE TABLE webhook_delivery_attempts (
  delivery_id uuid NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
  attempt     integer NOT NULL CHECK (attempt >= 1),
  started_at  timestamptz NOT NULL,
  -- Null when no HTTP answer came (refused address, connection error, timeout).
  status_code integer,
  error       text,
  duration_ms integer NOT NULL CHECK (duration_ms >= 0),
  PRIMARY KEY (delivery_id, attempt)
);
