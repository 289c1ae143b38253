/**
 * Operator view of messages that could not be delivered: outbox rows parked as DEAD by the relay,
 * and bus messages a consumer group parked after failing to handle them. Both are listed and can
 * be re-driven (put back in line); nothing is ever dropped silently. Admin-only.
 */
export interface DeadOutboxRow {
  id: string;
  topic: string;
  key: string;
  event_type: string;
  attempts: number;
  last_error: string | null;
  created_at: string;
}

export interface ParkedMessage {
  id: string;
  topic: string;
  /** The consumer group that could not handle it. */
  group: string;
  partition: number;
  offset: string;
  key: string;
  event_type: string | null;
  error: string;
  attempts: number;
  parked_at: string;
  redriven_at: string | null;
}

export interface Page<T> {
  items: T[];
  next_cursor: string | null;
}

export interface BusAdmin {
  listDeadOutbox(params: { limit: number; cursor?: string }): Promise<Page<DeadOutboxRow>>;
  /** Back to PENDING with attempts reset; the relay publishes it again. 404 (CV_NOT_FOUND) if not DEAD. */
  redriveOutbox(id: string): Promise<DeadOutboxRow>;
  listParked(params: { limit: number; cursor?: string; redriven?: boolean }): Promise<Page<ParkedMessage>>;
  /** Delivered again to the group that parked it; marks the row redriven. */
  redriveParked(id: string): Promise<ParkedMessage>;
  /** Counts for metrics and readiness: DEAD outbox rows, parked messages not yet redriven. */
  counts(): Promise<{ deadOutbox: number; parked: number }>;
}
