/**
 * The database clock (src/platform/db/database-clock.ts) against a real PostgreSQL: a process
 * whose own clock is 5 minutes fast (faked Date only; the socket and the server are real) still
 * reads the server's time, and a resync that measures the same offset within its uncertainty
 * keeps the offset in use.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { DatabaseClock, offsetOf } from '../../src/platform/db/database-clock.ts';
import type { Database } from '../../src/platform/db/database.ts';
import { createTestDatabase } from '../helpers/harness.ts';

describe('offsetOf', () => {
  it('uses the sample with the shortest round trip, half of it counted as the way back', () => {
    expect(
      offsetOf([
        { databaseMs: 10_050, sentMs: 0, receivedMs: 100 }, // 100 ms round trip
        { databaseMs: 10_205, sentMs: 200, receivedMs: 210 }, // 10 ms: used
      ]),
    ).toEqual({ offsetMs: 10_000, errorMs: 5 });
    expect(offsetOf([])).toBeNull();
  });
});

describe('DatabaseClock (postgres)', () => {
  let database: Database;
  beforeAll(async () => {
    database = await createTestDatabase('postgres');
  });
  afterAll(() => database.close());
  afterEach(() => vi.useRealTimers());

  it('a process clock 5 minutes fast still reads the database server time', async () => {
    const real = Date.now();
    vi.useFakeTimers({ toFake: ['Date'], now: real + 5 * 60_000, shouldAdvanceTime: true });
    const clock = new DatabaseClock();
    expect(clock.now().getTime() - real).toBeGreaterThan(4 * 60_000); // unsynced: the process's time
    const offset = await clock.sync(database.db);
    expect(offset).toBeLessThan(-4.9 * 60_000);
    expect(offset).toBeGreaterThan(-5.1 * 60_000);
    vi.useRealTimers();
    expect(Math.abs(clock.now().getTime() - Date.now() - offset)).toBeLessThanOrEqual(1);
    // The server's own now() (same machine, real clock) agrees with the clock within the measurement.
    const rows = await database.db.selectNoFrom((eb) => eb.fn<Date>('clock_timestamp', []).as('t')).execute();
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + 5 * 60_000, shouldAdvanceTime: true });
    expect(Math.abs(clock.now().getTime() - rows[0]!.t.getTime())).toBeLessThan(1_000);
    // Measured again: within its uncertainty, the offset in use stays.
    expect(Math.abs((await clock.sync(database.db)) - offset)).toBeLessThan(50);
  });
});
