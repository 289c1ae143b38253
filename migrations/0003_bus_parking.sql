-- Bus parking: a message that a consumer group could not handle after its attempts (or could not
-- decode at all) is stored here with its raw bytes, and its offset is committed so the partition
-- keeps flowing. Operators list and re-drive them (src/services/bus-admin).
CREATE TABLE bus_parked_messages (
  id              uuid PRIMARY KEY,
  topic           text NOT NULL,
  consumer_group  text NOT NULL,
  kafka_partition integer NOT NULL CHECK (kafka_partition >= 0),
  kafka_offset    bigint NOT NULL CHECK (kafka_offset >= 0),
  key             text NOT NULL,
  value           bytea,
  headers         jsonb NOT NULL DEFAULT '{}'::jsonb,
  event_type      text,
  error           text NOT NULL,
  attempts        integer NOT NULL CHECK (attempts >= 0),
  parked_at       timestamptz NOT NULL DEFAULT now(),
  redriven_at     timestamptz,
  -- A redelivery after a crash between parking and the offset commit parks nothing twice.
  UNIQUE (topic, consumer_group, kafka_partition, kafka_offset)
);
-- Not yet redriven, newest first (the admin list and the readiness count).
CREATE INDEX bus_parked_open_idx ON bus_parked_messages (id) WHERE redriven_at IS NULL;
