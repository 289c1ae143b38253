-- Labels on workflows (docs/api.md "Labels"): a JSON object of string keys and values, validated
-- like Kubernetes labels by src/domain/labels.ts. Selected with `GET /workflows?labels=…`, which
-- the workflows service turns into `labels @> {"k":"v"}` (=), `labels ? 'k'` (exists) and their
-- negations; the GIN index (default jsonb_ops, which serves both @> and ?) keeps a selector from
-- reading every workflow of its user when it names a label few of them carry.
ALTER TABLE workflows ADD COLUMN labels jsonb NOT NULL DEFAULT '{}'::jsonb;
ALTER TABLE workflows ADD CONSTRAINT workflows_labels_object CHECK (jsonb_typeof(labels) = 'object');
CREATE INDEX IF NOT EXISTS workflows_labels_idx ON workflows USING gin (labels);
