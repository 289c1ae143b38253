/**
 * The gateway the analytics tests use: test/helpers/harness.ts's, which serves every route over the
 * real services through the in-memory RPC transport (client, wire mapping and server side of
 * every call), on a fresh database unless one is passed.
 */
import type { Database, Engine } from '../../src/platform/db/database.ts';
import type { Clock } from '../../src/platform/clock.ts';
import type { Events } from '../../src/platform/events.ts';
import { createTestGateway, type TestGateway } from '../helpers/harness.ts';

export type AnalyticsGateway = TestGateway;

export function createAnalyticsGateway(
  engine: Engine,
  options: { clock?: Clock; database?: Database; events?: Events } = {},
): Promise<AnalyticsGateway> {
  return createTestGateway(engine, options);
}
