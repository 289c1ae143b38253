-- Trace context of a job (W3C `traceparent`/`tracestate` as a JSON object), written when the job
-- is created inside the request or scheduler tick that made it. The executor claims jobs from
-- the table rather than from a message, so the context travels here: its `job.run` span becomes a
-- child of the run request (or tick), and the completion outbox rows continue the same trace.
-- NULL when tracing is off.
ALTER TABLE jobs ADD COLUMN trace_context text;
